import { eq } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { members } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { MEMBER_ACTIVE, MEMBER_LEFT, upsertMember } from '../services/org-sync.service.ts';
import { isWecomApiError } from '../wecom/errors.ts';

/** WeCom's answers for a member that does not exist or is outside the app's visible range. */
const NOT_VISIBLE = new Set([60111, 60011, 40003, 46004]);

/**
 * Decides whether a WeCom member may log in. A member who joined since the last sync is read from
 * WeCom now; one who left, or whom the app cannot see, is refused with a message saying so.
 */
export async function admitMember(ctx: AppContext, userid: string): Promise<void> {
  let [member] = await ctx.db.select({ status: members.status }).from(members).where(eq(members.userid, userid));
  if (!member) {
    try {
      const user = await ctx.wecom.getUser(userid);
      await ctx.db.transaction((tx) => upsertMember(tx, user));
      member = { status: user.status };
    } catch (error) {
      if (isWecomApiError(error) && NOT_VISIBLE.has(error.errcode)) {
        throw new DomainError('MEMBER_NOT_VISIBLE', 'this member is not in the app\'s visible range in WeCom; ask an admin to add them to the app', undefined, reason('login.not_visible'));
      }
      throw error;
    }
  }
  if (member.status === MEMBER_LEFT) throw new DomainError('MEMBER_LEFT', 'this member has left the company and can no longer sign in', undefined, reason('login.left'));
  if (member.status !== MEMBER_ACTIVE) throw new DomainError('MEMBER_LEFT', 'this member is disabled or not yet activated in WeCom and cannot sign in', undefined, reason('login.inactive'));
}
