import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { customers } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { customerScopeSql, effectiveScope } from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { campaignFor } from './campaigns.service.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import { rowsOf } from './customer-filter.ts';
import { csvCell } from './exports.service.ts';
import type { TagVisibilitySnapshot } from './tag-snapshot.ts';

/**
 * The touch log of a campaign: each customer reached for, its sending rep, the status WeCom reports,
 * and the tags that selected it with each tag's visibility at sending time (from the campaign's
 * snapshot), so a review tells enterprise-tag targeting from personal-tag refinement. Rows are limited
 * to customers in the reader's view scope now (exports: export and view scopes), in SQL.
 */

export type TouchStatusFilter = 'pending' | 'delivered' | 'not_friend' | 'over_limit' | 'refused' | 'failed';

interface TouchRow { external_userid: string; name: string; sender: string; sender_name: string | null; department: string | null; status: string; sent_at: string | Date | null; selected_by: unknown }

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

function selectedTags(row: TouchRow, snapshot: Record<string, TagVisibilitySnapshot>) {
  return json<string[]>(row.selected_by).map((tagId) => {
    const s = snapshot[tagId];
    return s ? { tagId, name: s.name, kind: s.kind, layers: s.layers, path: s.path, visibility: s.summary } : { tagId, name: tagId, kind: null, layers: [], path: [], visibility: 'unknown' };
  });
}

async function touchRows(ctx: AppContext, campaignId: string, scope: ReturnType<typeof sql>, options: { after?: string; limit: number; status?: TouchStatusFilter }): Promise<TouchRow[]> {
  return rowsOf<TouchRow>(ctx.db, sql`
    select t.external_userid, ${customers.name} as name, t.sender, m.name as sender_name, d.name as department, t.status, t.sent_at, t.selected_by
    from campaign_touches t
    join ${customers} on ${customers.externalUserId} = t.external_userid
    left join members m on m.userid = t.sender
    left join departments d on d.id = t.department_id
    where t.campaign_id = ${campaignId} and (${scope})
      ${options.status ? sql`and t.status = ${options.status}` : sql``}
      ${options.after ? sql`and t.external_userid > ${options.after}` : sql``}
    order by t.external_userid limit ${options.limit}`);
}

export async function listTouches(ctx: AppContext, viewer: string, campaignId: string, options: { after?: string; limit: number; status?: TouchStatusFilter }) {
  const campaign = await campaignFor(ctx, viewer, campaignId, 'campaign.touches');
  const subject = await loadAccessSubject(ctx.db, viewer, ctx.config.adminUserIds);
  const snapshot = (campaign.tagSnapshot ?? {}) as Record<string, TagVisibilitySnapshot>;
  const rows = await touchRows(ctx, campaignId, customerScopeSql(subject, 'view'), options);
  return {
    items: rows.map((r) => ({
      externalUserId: r.external_userid, name: r.name, sender: r.sender, senderName: r.sender_name, department: r.department,
      status: r.status, sentAt: r.sent_at === null ? null : new Date(r.sent_at).toISOString(), selectedBy: selectedTags(r, snapshot),
    })),
    nextCursor: rows.length === options.limit ? rows[rows.length - 1]!.external_userid : null,
  };
}

const HEADER = ['客户ID', '客户', '发送成员', '成员部门', '状态', '送达时间', '选中标签', '标签层级', '标签当时的可见范围'];

/** The touch log as CSV, for readers with `export` scope, rows within their export and view scopes; audited. */
export async function exportTouches(ctx: AppContext, viewer: string, campaignId: string): Promise<{ filename: string; body: string }> {
  const campaign = await campaignFor(ctx, viewer, campaignId, 'campaign.touches.export');
  const subject = await loadAccessSubject(ctx.db, viewer, ctx.config.adminUserIds);
  if (effectiveScope(subject, 'export') === 'none') {
    await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'campaign.touches.export', subjectType: 'campaign', subjectId: campaignId, outcome: 'denied', details: { reason: 'no export scope' } }));
    throw new DomainError('FORBIDDEN', 'your roles do not allow exporting customers');
  }
  const snapshot = (campaign.tagSnapshot ?? {}) as Record<string, TagVisibilitySnapshot>;
  const scope = sql`(${customerScopeSql(subject, 'export')}) and (${customerScopeSql(subject, 'view')})`;
  const lines = [HEADER.map(csvCell).join(',')];
  let after: string | undefined;
  for (;;) {
    const rows = await touchRows(ctx, campaignId, scope, { after, limit: 1_000 });
    for (const r of rows) {
      const tags = selectedTags(r, snapshot);
      lines.push([
        r.external_userid, r.name, r.sender_name ?? r.sender, r.department, r.status, r.sent_at === null ? null : new Date(r.sent_at).toISOString(),
        tags.map((t) => t.name).join(' | '), tags.map((t) => t.layers.join('+')).join(' | '), tags.map((t) => t.visibility).join(' | '),
      ].map(csvCell).join(','));
    }
    if (rows.length < 1_000) break;
    after = rows[rows.length - 1]!.external_userid;
  }
  await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'campaign.touches.export', subjectType: 'campaign', subjectId: campaignId, outcome: 'done', details: { rowCount: lines.length - 1 } }));
  return { filename: `touches-${campaignId}.csv`, body: `\ufeff${lines.join('\r\n')}\r\n` };
}
