import { describe, expect, it } from 'vitest';
import { mountAdmin } from '../../test/mount-admin.ts';
import ConflictList from './ConflictList.vue';

const conflicts = [
  { kind: 'departments_disagree', severity: 'info' as const, node: { type: 'member', id: 'wangfang', name: '王芳' }, message: '王芳 is in two departments', fix: 'Nothing to do if intended.' },
  { kind: 'rule_names_missing', severity: 'warning' as const, node: { type: 'tag', id: 'etVip', name: 'VIP' }, message: 'The rule on tag "VIP" names what no longer exists: member chenjun.', fix: 'Remove them from the rule.' },
];

describe('ConflictList', () => {
  it('lists warnings first with their fix, counts them, and locates the node of a library conflict', async () => {
    const wrapper = mountAdmin(ConflictList, { props: { conflicts } });
    expect(wrapper.text()).toContain('1 个需要处理');
    const items = wrapper.findAll('[data-test="conflict"]');
    expect(items[0]!.text()).toContain('names what no longer exists');
    expect(items[0]!.text()).toContain('处理建议：Remove them from the rule.');
    // A member-level note has nothing in the tree to show.
    expect(items[1]!.find('button').exists()).toBe(false);
    await items[0]!.get('button').trigger('click');
    expect(wrapper.emitted('locate')).toEqual([[conflicts[1]]]);
  });
});
