// An independent, deliberately naive reference evaluator of customer permissions, written from the
// issue's words over plain in-memory data, sharing no code with server/policy/customer-scope.ts or
// the services that load a member's facts.

export type Action = 'view' | 'edit' | 'tag' | 'export' | 'delete' | 'assign' | 'transfer' | 'unmask';
export type Scope = 'none' | 'own' | 'dept' | 'all';
export const ACTIONS: Action[] = ['view', 'edit', 'tag', 'export', 'delete', 'assign', 'transfer', 'unmask'];

export interface WorldDepartment { id: number; parentId: number | null }
export interface WorldMember {
  userid: string;
  /** WeCom status: 1 active, 2 disabled, 4 not activated, 5 left. */
  status: number;
  departments: { id: number; leader: boolean }[];
  probation: { on: boolean; until: Date | null };
  namedRoles: string[];
  /** Departments an admin named them to manage. */
  managed: number[];
  appAdmin: boolean;
}
export interface WorldRole { name: string; scopes: Record<Action, Scope> }
export interface WorldCustomer { id: string; owner: string | null; createdAt: Date; pool: { department: number | null } | null }
export interface WorldFollow { customer: string; userid: string; status: 'active' | 'ended' }
export interface WorldGrant {
  id: string;
  requester: string;
  state: 'requested' | 'active' | 'rejected' | 'revoked' | 'expired';
  actions: Action[];
  customerIds: string[] | null;
  departmentId: number | null;
  expiresAt: Date | null;
}
export interface World {
  now: Date;
  configuredAdmins: string[];
  departments: WorldDepartment[];
  members: WorldMember[];
  /** Rows of the roles table; a built-in role without a row has its default scopes. */
  roles: WorldRole[];
  customers: WorldCustomer[];
  follows: WorldFollow[];
  grants: WorldGrant[];
}

/** The default matrix, written out again here. */
export const DEFAULT_ROLES: Record<string, Record<Action, Scope>> = {
  admin: { view: 'all', edit: 'all', tag: 'all', export: 'all', delete: 'all', assign: 'all', transfer: 'all', unmask: 'all' },
  manager: { view: 'dept', edit: 'dept', tag: 'dept', export: 'dept', delete: 'none', assign: 'dept', transfer: 'dept', unmask: 'dept' },
  rep: { view: 'own', edit: 'own', tag: 'own', export: 'none', delete: 'none', assign: 'none', transfer: 'none', unmask: 'own' },
  service: { view: 'all', edit: 'none', tag: 'none', export: 'none', delete: 'none', assign: 'none', transfer: 'none', unmask: 'none' },
};

const RANK: Scope[] = ['none', 'own', 'dept', 'all'];

/** The department and everything below it, walking children one level at a time. */
function below(world: World, root: number): Set<number> {
  const found = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const d of world.departments) {
      if (d.parentId !== null && found.has(d.parentId) && !found.has(d.id)) {
        found.add(d.id);
        grew = true;
      }
    }
  }
  return found;
}

/** Members (any status) with a department inside one of the subtrees. */
function membersUnder(world: World, roots: number[]): Set<string> {
  const inside = new Set<number>();
  for (const root of roots) for (const id of below(world, root)) inside.add(id);
  return new Set(world.members.filter((m) => m.departments.some((d) => inside.has(d.id))).map((m) => m.userid));
}

function holdersOf(world: World, customer: WorldCustomer): Set<string> {
  const holders = new Set<string>();
  if (customer.owner !== null) holders.add(customer.owner);
  for (const f of world.follows) if (f.customer === customer.id && f.status === 'active') holders.add(f.userid);
  return holders;
}

export function rolesHeld(world: World, member: WorldMember): string[] {
  if (member.status !== 1) return [];
  const held = new Set<string>(['rep', ...member.namedRoles]);
  if (member.departments.some((d) => d.leader) || member.managed.length > 0) held.add('manager');
  if (world.configuredAdmins.includes(member.userid) || member.appAdmin) held.add('admin');
  return [...held];
}

export function scopeOf(world: World, member: WorldMember, action: Action): Scope {
  let best: Scope = 'none';
  for (const name of rolesHeld(world, member)) {
    const row = world.roles.find((r) => r.name === name);
    const scopes = row ? row.scopes : DEFAULT_ROLES[name];
    const scope = scopes?.[action] ?? 'none';
    if (RANK.indexOf(scope) > RANK.indexOf(best)) best = scope;
  }
  return best;
}

/** May `userid` take `action` on `customerId` at `world.now`? */
export function referenceAllows(world: World, userid: string, customerId: string, action: Action): boolean {
  const member = world.members.find((m) => m.userid === userid);
  const customer = world.customers.find((c) => c.id === customerId);
  if (!member || !customer || member.status !== 1) return false;
  const onProbation = member.probation.on && (member.probation.until === null || member.probation.until > world.now);
  if (onProbation && action !== 'view') return false;
  const holders = holdersOf(world, customer);
  const scope = scopeOf(world, member, action);
  if (scope === 'all') return true;
  if ((scope === 'own' || scope === 'dept') && holders.has(userid)) return true;
  if (scope === 'dept') {
    const managedRoots = [...member.departments.filter((d) => d.leader).map((d) => d.id), ...member.managed];
    const managedMembers = membersUnder(world, managedRoots);
    if ([...holders].some((h) => managedMembers.has(h))) return true;
  }
  if (action === 'view' && customer.pool) {
    const poolDepartment = customer.pool.department;
    if (poolDepartment === null) return true;
    const poolSubtree = below(world, poolDepartment);
    if (member.departments.some((d) => poolSubtree.has(d.id))) return true;
  }
  for (const grant of world.grants) {
    if (grant.requester !== userid || grant.state !== 'active' || !grant.actions.includes(action)) continue;
    if (grant.expiresAt === null || grant.expiresAt <= world.now) continue;
    if (grant.customerIds && grant.customerIds.length > 0) {
      if (grant.customerIds.includes(customerId)) return true;
    } else if (grant.departmentId !== null) {
      const granted = membersUnder(world, [grant.departmentId]);
      if ([...holders].some((h) => granted.has(h))) return true;
    }
  }
  return false;
}
