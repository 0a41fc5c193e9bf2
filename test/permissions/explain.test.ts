// explainCustomerAccess (pure): the decision it explains matches the rules, and the reason names why.
import { describe, expect, it } from 'vitest';
import { explainCustomerAccess, mergeScopes, type AccessSubject } from '../../server/policy/customer-scope.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const rep: AccessSubject = {
  userid: 'rep', active: true, probation: false, managedDepartments: [], now: NOW, grants: [],
  scopes: mergeScopes([{ view: 'own', edit: 'own', tag: 'own', unmask: 'own' }]),
};
const facts = { externalUserId: 'c1', ownerUserid: 'rep', activeFollowers: [], managedMembers: [], inPool: false, poolDepartmentId: null, memberDepartmentsWithAncestors: [21, 2, 1] };

describe('explainCustomerAccess', () => {
  it('own customer: allowed because owned; export has no role', () => {
    expect(explainCustomerAccess(rep, 'edit', facts)).toEqual({ allowed: true, scope: 'own', because: ['you own this customer'] });
    expect(explainCustomerAccess(rep, 'export', facts)).toEqual({ allowed: false, scope: 'none', because: ['no role gives export'] });
  });

  it('another member\'s customer: the scope does not cover it; the department pool does for view', () => {
    const other = { ...facts, ownerUserid: 'peer' };
    expect(explainCustomerAccess(rep, 'view', other).allowed).toBe(false);
    expect(explainCustomerAccess(rep, 'view', other).because).toEqual(['scope own for view does not cover this customer']);
    expect(explainCustomerAccess(rep, 'view', { ...other, inPool: true, poolDepartmentId: 2 })).toMatchObject({ allowed: true, because: ['in the pool of one of your departments'] });
    expect(explainCustomerAccess(rep, 'view', { ...other, inPool: true, poolDepartmentId: 3 }).allowed).toBe(false);
  });

  it('probation, leavers and grants', () => {
    expect(explainCustomerAccess({ ...rep, probation: true }, 'edit', facts)).toMatchObject({ allowed: false, because: ['read-only probation: only view is allowed, not edit'] });
    expect(explainCustomerAccess({ ...rep, active: false }, 'view', facts).allowed).toBe(false);
    const granted = { ...rep, grants: [{ actions: ['export' as const], customerIds: ['c1'], expiresAt: new Date(NOW.getTime() + 1000) }] };
    expect(explainCustomerAccess(granted, 'export', facts)).toMatchObject({ allowed: true, because: [`granted until ${new Date(NOW.getTime() + 1000).toISOString()}`] });
    const expired = { ...rep, grants: [{ actions: ['export' as const], customerIds: ['c1'], expiresAt: NOW }] };
    expect(explainCustomerAccess(expired, 'export', facts).allowed).toBe(false);
  });
});
