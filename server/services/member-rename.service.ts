import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { audit } from './audit.service.ts';
import { rowsOf } from './customer-filter.ts';
import { bumpPolicyVersion } from './policy-version.ts';

/**
 * A member's userid changed in WeCom (`change_contact` / `update_user` with `NewUserID`; WeCom lets
 * a system-generated userid be changed once). The member is the same person, so every local
 * reference moves to the new id: membership, roles, managed departments, relations and their tags,
 * personal tags, ownership and its history, grants, exports, transfers, notes, sessions (the member
 * stays signed in), contact ways, rule ranges and visibility rules. The audit log is hash-chained
 * and never rewritten: a `member.renamed` entry links the ids, and actor lookups follow it.
 *
 * Idempotent: a second run finds nothing under the old id and records nothing. When rows already
 * exist under the new id (the member signed in, or a sync ran, before the event arrived), the new
 * id's rows are kept and the old id's duplicates dropped.
 */
export async function renameMember(tx: Queryable, from: string, to: string): Promise<{ moved: number }> {
  if (from === to) return { moved: 0 };
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('member-rename'))`);
  let moved = 0;
  const run = async (statement: SQL): Promise<void> => {
    const result = (await tx.execute(statement)) as unknown as { rowCount?: number | null; affectedRows?: number };
    moved += Number(result.rowCount ?? result.affectedRows ?? 0);
  };
  const f = sql`${from}::text`;
  const t = sql`${to}::text`;

  // The member row: kept under the new id; local settings (probation) survive a duplicate.
  await run(sql`update members m set probation = o.probation, probation_until = o.probation_until
    from members o where m.userid = ${t} and o.userid = ${f} and (m.probation, m.probation_until) is distinct from (o.probation, o.probation_until)`);
  await run(sql`update members set userid = ${t} where userid = ${f} and not exists (select 1 from members where userid = ${t})`);
  await run(sql`delete from members where userid = ${f}`);

  // Rows keyed by the member and something else: moved unless the new id already has that row.
  const keyed: [table: string, column: string, others: string[]][] = [
    ['member_departments', 'userid', ['department_id']],
    ['app_admins', 'userid', []],
    ['member_roles', 'userid', ['role']],
    ['member_managed_departments', 'userid', ['department_id']],
    ['follow_relations', 'userid', ['external_userid']],
    ['relation_tags', 'userid', ['external_userid', 'tag_id']],
  ];
  // Personal tags are keyed by (member, name): a name both ids have keeps the new id's tag, and the
  // relations that carried the old one carry the new one instead.
  await run(sql`insert into relation_tags (external_userid, userid, tag_id, kind, created_at)
    select rt.external_userid, rt.userid, n.id, rt.kind, rt.created_at
    from relation_tags rt join personal_tags o on o.id = rt.tag_id and o.userid = ${f}
    join personal_tags n on n.userid = ${t} and n.name = o.name
    on conflict do nothing`);
  await run(sql`delete from relation_tags rt using personal_tags o, personal_tags n
    where o.id = rt.tag_id and o.userid = ${f} and n.userid = ${t} and n.name = o.name`);
  await run(sql`delete from personal_tags o using personal_tags n where o.userid = ${f} and n.userid = ${t} and n.name = o.name`);
  await run(sql`update personal_tags set userid = ${t} where userid = ${f}`);
  for (const [table, column, others] of keyed) {
    const same = others.map((c) => sql`and b.${sql.identifier(c)} = a.${sql.identifier(c)}`);
    await run(sql`update ${sql.identifier(table)} a set ${sql.identifier(column)} = ${t}
      where a.${sql.identifier(column)} = ${f}
        and not exists (select 1 from ${sql.identifier(table)} b where b.${sql.identifier(column)} = ${t} ${sql.join(same, sql` `)})`);
    await run(sql`delete from ${sql.identifier(table)} where ${sql.identifier(column)} = ${f}`);
  }
  await run(sql`update strategy_ranges a set range_key = ${'u:' + to}
    where a.range_key = ${'u:' + from} and not exists (select 1 from strategy_ranges b where b.strategy_id = a.strategy_id and b.range_key = ${'u:' + to})`);
  await run(sql`delete from strategy_ranges where range_key = ${'u:' + from}`);

  // Plain references.
  const plain: [table: string, column: string][] = [
    ['customers', 'owner_userid'],
    ['follow_relations', 'oper_userid'],
    ['relation_tag_changes', 'userid'],
    ['transfer_failures', 'takeover_userid'],
    ['owner_history', 'from_userid'],
    ['owner_history', 'to_userid'],
    ['owner_history', 'actor'],
    ['follow_up_notes', 'author'],
    ['transfer_batches', 'handover_userid'],
    ['transfer_batches', 'takeover_userid'],
    ['transfer_batches', 'requested_by'],
    ['access_grants', 'requester'],
    ['access_grants', 'approver'],
    ['access_grants', 'reviewed_by'],
    ['access_grants', 'revoked_by'],
    ['export_jobs', 'requested_by'],
    ['export_jobs', 'approver'],
    ['background_jobs', 'requested_by'],
    ['outgoing_writes', 'requested_by'],
    ['app_admins', 'granted_by'],
    ['member_roles', 'granted_by'],
    ['member_managed_departments', 'granted_by'],
    ['contact_ways', 'created_by'],
    ['visibility_rules', 'updated_by'],
    ['sessions', 'userid'],
    ['sessions', 'view_as_userid'],
  ];
  for (const [table, column] of plain) {
    await run(sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${t} where ${sql.identifier(column)} = ${f}`);
  }

  // Ids inside JSON: contact ways' members and fixed owner, visibility rules' named members, and
  // writes still queued for WeCom (which knows only the new id now).
  const renamedArray = (value: SQL) => sql`(select coalesce(jsonb_agg(case when e.u = ${f} then ${t} else e.u end order by e.n), '[]'::jsonb)
    from jsonb_array_elements_text(${value}) with ordinality as e(u, n))`;
  await run(sql`update contact_ways set users = ${renamedArray(sql`users`)}, updated_at = now() where users ? ${f}`);
  await run(sql`update contact_ways set rules = jsonb_set(rules, '{owner,userid}', to_jsonb(${t})), updated_at = now() where rules->'owner'->>'userid' = ${f}`);
  await run(sql`update visibility_rules set see = jsonb_set(see, '{users}', ${renamedArray(sql`see->'users'`)}) where see->'users' ? ${f}`);
  await run(sql`update visibility_rules set use = jsonb_set(use, '{users}', ${renamedArray(sql`use->'users'`)}) where use->'users' ? ${f}`);
  await run(sql`update outgoing_writes set payload = (select jsonb_object_agg(k, case when v = to_jsonb(${f}) then to_jsonb(${t}) else v end) from jsonb_each(payload) as e(k, v))
    where state = 'queued' and exists (select 1 from jsonb_each(payload) as e(k, v) where v = to_jsonb(${f}))`);

  if (moved > 0) {
    await audit(tx, { actor: null, action: 'member.renamed', subjectType: 'member', subjectId: to, outcome: 'done', details: { from, to, rowsMoved: moved } });
    await bumpPolicyVersion(tx);
  }
  return { moved };
}

/** A userid and every earlier userid of the same member (from `member.renamed` audit entries). */
export async function userIdsOfMember(db: Queryable, userid: string): Promise<string[]> {
  const rows = await rowsOf<{ id: string }>(db, sql`with recursive names(id) as (
      select ${userid}::text
      union
      select a.details->>'from' from audit_log a join names n on a.action = 'member.renamed' and a.details->>'to' = n.id
    ) select id from names`);
  return rows.map((r) => r.id);
}
