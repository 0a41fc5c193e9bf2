// The demo company loads under WeCom's rules and is deterministic.
import { describe, expect, it } from 'vitest';
import { demoCompany, startSimulator } from '../index.ts';
import { Client } from './helpers.ts';

describe('demoCompany()', () => {
  it('is deterministic and loads with the documented shape', async () => {
    expect(JSON.stringify(demoCompany())).toBe(JSON.stringify(demoCompany()));
    const sim = await startSimulator({ seed: demoCompany() });
    try {
      const client = new Client(sim, 'sim-agent-secret', 'wwsimcorp0000000001');
      const { json: summary } = await client.control('state/summary');
      expect(summary.corpId).toBe('wwsimcorp0000000001');
      expect(summary.members).toBeGreaterThanOrEqual(38);
      expect(summary.leftMembers).toBe(1);
      expect(summary.customers).toBeGreaterThanOrEqual(200);
      expect(summary.strategies).toBe(1);
      expect(summary.strategyTags).toBeGreaterThan(0);
      expect(summary.contactWays).toBeGreaterThanOrEqual(5);

      const departments = (await client.api('department/list')).department as { id: number; parentid: number; name: string }[];
      const depth = (id: number): number => {
        const d = departments.find((x) => x.id === id)!;
        return d.parentid === 0 ? 1 : 1 + depth(d.parentid);
      };
      expect(Math.max(...departments.map((d) => depth(d.id)))).toBeGreaterThanOrEqual(4);
      expect(departments.map((d) => d.name)).toEqual(expect.arrayContaining(['华东大区', '华南大区', '西南大区', '市场部', '电商部']));
      const groups = (await client.api('externalcontact/get_corp_tag_list', {})).tag_group.map((g: { group_name: string }) => g.group_name);
      expect(groups).toEqual(expect.arrayContaining(['客户等级', '行业', '购物风格', '促销敏感度']));

      const unassigned = await client.api('externalcontact/get_unassigned_list', {});
      expect(unassigned.info.length).toBeGreaterThan(0);
      const again = await sim.reset(demoCompany());
      const third = await sim.reset(demoCompany());
      expect(again).toEqual(third);
    } finally {
      await sim.close();
    }
  });
});
