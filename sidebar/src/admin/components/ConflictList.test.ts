import { describe, expect, it } from 'vitest';
import { mountAdmin } from '../../test/mount-admin.ts';
import ConflictList from './ConflictList.vue';

const conflicts = [
  {
    kind: 'departments_disagree', severity: 'info' as const, node: { type: 'member', id: 'wangfang', name: '王芳' }, message: '王芳 sees 2 tag(s)', fix: 'Nothing to do if intended.',
    reason: { code: 'conflict.departments_disagree', params: { member: '王芳', count: 2, example: 'VIP', department: '上海' } },
  },
  {
    kind: 'rule_names_missing', severity: 'warning' as const, node: { type: 'tag', id: 'etVip', name: 'VIP' }, message: 'The rule on tag "VIP" names what no longer exists: member chenjun.', fix: 'Remove them from the rule.',
    reason: { code: 'conflict.rule_names_missing', params: { nodeType: 'tag', node: 'VIP', audience: { departments: [], users: ['chenjun'], roles: [] } } },
  },
  // A conflict kind this version has no wording for keeps the server's English.
  { kind: 'future_kind', severity: 'info' as const, node: { type: 'member', id: 'liuyang', name: '刘洋' }, message: 'Something new.', fix: 'Do the new thing.', reason: { code: 'conflict.future_kind', params: {} } },
];

describe('ConflictList', () => {
  it('lists warnings first with their fix in Chinese, counts them, and locates the node of a library conflict', async () => {
    const wrapper = mountAdmin(ConflictList, { props: { conflicts } });
    expect(wrapper.text()).toContain('1 个需要处理');
    const items = wrapper.findAll('[data-test="conflict"]');
    expect(items[0]!.text()).toContain('标签「VIP」的规则引用了已不存在的对象：成员 chenjun。');
    expect(items[0]!.text()).toContain('处理建议：把它们从规则中移除');
    expect(items[0]!.text()).not.toContain('names what no longer exists');
    expect(items[1]!.text()).toContain('王芳 通过其他部门能看到 2 个标签（如「VIP」），仅凭「上海」看不到');
    expect(items[2]!.text()).toContain('Something new.');
    expect(items[2]!.text()).toContain('Do the new thing.');
    // A member-level note has nothing in the tree to show.
    expect(items[1]!.find('button').exists()).toBe(false);
    await items[0]!.get('button').trigger('click');
    expect(wrapper.emitted('locate')).toEqual([[conflicts[1]]]);
  });

  it('words the same conflict in English when English is chosen', () => {
    const wrapper = mountAdmin(ConflictList, { props: { conflicts: [conflicts[1]!] }, locale: 'en' });
    expect(wrapper.text()).toContain('The rule on tag “VIP” names what no longer exists: member chenjun.');
    expect(wrapper.text()).toContain('Remove them from the rule');
  });
});
