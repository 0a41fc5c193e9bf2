import { describe, expect, it } from 'vitest';
import { flush, mountSidebar } from '../../test/mount.ts';
import PersonalTags from './PersonalTags.vue';

const tags = [{ id: 'pt_1', name: '老朋友', groupName: null }, { id: 'pt_2', name: '爱聊天', groupName: null }];
const mountTags = (props: Partial<{ disabled: boolean; canApply: boolean }> = {}) =>
  mountSidebar(PersonalTags, { props: { tags, applied: new Set(['pt_1']), pending: {}, disabled: false, canApply: true, ...props } });

describe('PersonalTags', () => {
  it('applies a personal tag with one tap and creates one from the inline form', async () => {
    const wrapper = mountTags();
    const chips = wrapper.findAll('[data-test="tag-chip"]');
    expect(chips.map((c) => c.attributes('aria-pressed'))).toEqual(['true', 'false']);
    await chips[1]!.trigger('click');
    expect(wrapper.emitted('toggle')).toEqual([[tags[1], true]]);
    await wrapper.get('#new-personal-tag').setValue('  周末到店 ');
    await wrapper.get('form.create').trigger('submit');
    expect(wrapper.emitted('create')).toEqual([['周末到店']]);
    expect((wrapper.get('#new-personal-tag').element as HTMLInputElement).value).toBe('');
  });

  it('renames in place with Enter and asks to delete', async () => {
    const wrapper = mountTags();
    await wrapper.get('button[aria-pressed]').trigger('click');
    const rename = wrapper.findAll('button').find((b) => b.attributes('aria-label') === '重命名 老朋友')!;
    await rename.trigger('click');
    await flush();
    const input = wrapper.get('#rename-pt_1');
    await input.setValue('老同学');
    await input.trigger('keydown', { key: 'Enter' });
    expect(wrapper.emitted('rename')).toEqual([[tags[0], '老同学']]);
    const remove = wrapper.findAll('button').find((b) => b.attributes('aria-label') === '删除 爱聊天')!;
    await remove.trigger('click');
    expect(wrapper.emitted('remove')).toEqual([[tags[1]]]);
  });

  it('without a relation the tags can be managed but not applied; in view-as nothing works', async () => {
    const noRelation = mountTags({ canApply: false });
    expect(noRelation.findAll('[data-test="tag-chip"]').every((c) => c.attributes('disabled') !== undefined)).toBe(true);
    expect(noRelation.get('#new-personal-tag').attributes('disabled')).toBeUndefined();
    const readOnly = mountTags({ disabled: true });
    expect(readOnly.get('#new-personal-tag').attributes('disabled')).toBeDefined();
    expect(readOnly.get('button[aria-pressed]').attributes('disabled')).toBeDefined();
  });
});
