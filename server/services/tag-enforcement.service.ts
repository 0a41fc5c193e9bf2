import { eq } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { customers } from '../db/schema.ts';
import type { TagPolicy } from '../policy/tag-policy.ts';
import { audit } from './audit.service.ts';
import type { RelationTag } from './relation-tags.ts';
import type { MemberTagView } from './tag-policy.service.ts';
import { recordWrite } from './wecom-writes.service.ts';

export interface ClientEdit {
  externalUserId: string;
  userid: string;
  added: RelationTag[];
  /** The callback event that showed the edit (absent for a re-read after a look-alike retry). */
  inboxEventId?: number;
}

/**
 * A member added tags in the WeCom client (their edits reach us only as `edit_external_contact`). Any
 * corp or rule-group tag outside their use audience is removed again with `mark_tag` and the member
 * is told why by an app message, unless every rule that refused it is in report-only mode, in which
 * case it is only audited and reported. Returns the writes to enqueue after commit.
 */
export async function enforceClientEdit(tx: Tx, policy: TagPolicy, view: MemberTagView, edit: ClientEdit): Promise<number[]> {
  const forbidden = edit.added.filter((t) => t.kind !== 'personal' && !view.use.has(t.tagId) && policy.tag(t.tagId));
  if (forbidden.length === 0) return [];
  const revert: string[] = [];
  const report: string[] = [];
  for (const { tagId } of forbidden) {
    const explanation = policy.explain(view.member, tagId);
    const refusing = explanation.steps.filter((s) => s.rule && (!s.see.allowed || !s.use.allowed));
    const reportOnly = refusing.length > 0 && refusing.every((s) => s.mode === 'report') && explanation.strategy?.inRange !== false;
    (reportOnly ? report : revert).push(tagId);
  }
  const [customer] = await tx.select({ name: customers.name }).from(customers).where(eq(customers.externalUserId, edit.externalUserId));
  const names = (ids: string[]): string => ids.map((id) => policy.tag(id)?.name ?? id).join('、');
  const writes: number[] = [];
  if (revert.length) {
    writes.push(await recordWrite(tx, { api: 'mark_tag', payload: { userid: edit.userid, external_userid: edit.externalUserId, remove_tag: revert } }, null));
    await audit(tx, {
      actor: edit.userid, action: 'customer.tags_changed', subjectType: 'customer', subjectId: edit.externalUserId, outcome: 'reverted',
      details: { source: 'wecom_client', tags: revert, inboxEventId: edit.inboxEventId },
    });
  }
  if (report.length) {
    await audit(tx, {
      actor: edit.userid, action: 'customer.tags_changed', subjectType: 'customer', subjectId: edit.externalUserId, outcome: 'reported',
      details: { source: 'wecom_client', tags: report, inboxEventId: edit.inboxEventId },
    });
  }
  const lines = [
    revert.length ? `您在企业微信中给客户「${customer?.name ?? ''}」添加的标签「${names(revert)}」不在您可使用的范围内，已自动移除。` : '',
    report.length ? `您给客户「${customer?.name ?? ''}」添加的标签「${names(report)}」不在您可使用的范围内，已记录并报告管理员。` : '',
    'The tags you may use are shown in the sidebar; ask an admin if you need another one.',
  ].filter(Boolean);
  writes.push(await recordWrite(tx, { api: 'message_send', payload: { touser: edit.userid, msgtype: 'text', text: { content: lines.join('\n') } } }, null));
  return writes;
}
