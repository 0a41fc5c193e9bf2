import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';

/**
 * Customers must always have an owner (归属). A customer without one gets the member who added it
 * first among its active relations (`preferred` first when it is one of them, e.g. the member of an
 * add event). Limited to `externalUserIds` when given, else every ownerless customer. Customers in the
 * public pool keep waiting there for a claim. Each assignment starts the pool clock and is kept in
 * owner_history (`first_add` for an add event, `sync` otherwise).
 */
export async function assignMissingOwners(db: Queryable, externalUserIds?: string[], preferred?: string): Promise<void> {
  const scope = externalUserIds ? sql`and c.external_userid in (${sql.join(externalUserIds.map((id) => sql`${id}`), sql`, `)})` : sql``;
  await db.execute(sql`
    with assigned as (
      update customers c set owner_userid = (
        select fr.userid from follow_relations fr
        where fr.external_userid = c.external_userid and fr.status = 'active'
        order by (fr.userid = ${preferred ?? ''}) desc, fr.added_at asc nulls last, fr.userid asc
        limit 1
      ), last_activity_at = now(), updated_at = now()
      where c.owner_userid is null and c.in_pool_since is null ${scope}
        and exists (select 1 from follow_relations fr where fr.external_userid = c.external_userid and fr.status = 'active')
      returning c.external_userid, c.owner_userid
    )
    insert into owner_history (external_userid, from_userid, to_userid, reason, actor)
    select external_userid, null, owner_userid, ${preferred ? 'first_add' : 'sync'}::text, null from assigned`);
}
