import { describe, expect, it } from 'vitest';
import { mountSidebar } from '../../test/mount.ts';
import TagChip from './TagChip.vue';

describe('TagChip', () => {
  it('toggles a usable tag with one tap and says whether it is applied', async () => {
    const chip = mountSidebar(TagChip, { props: { name: 'VIP', applied: false } });
    const button = chip.get('button');
    expect(button.attributes('aria-pressed')).toBe('false');
    expect(button.attributes('aria-label')).toContain('未添加');
    await button.trigger('click');
    expect(chip.emitted('toggle')).toEqual([[true]]);
  });

  it('shows a locked tag as locked, with its reason, and never toggles it', async () => {
    const chip = mountSidebar(TagChip, { props: { name: '有投诉', applied: true, locked: true, lockedReason: 'Only 华东 may use it.' } });
    const button = chip.get('button');
    expect(button.attributes('data-locked')).toBe('true');
    // Still a working button: a tap explains why it is locked.
    expect(button.attributes('aria-haspopup')).toBe('dialog');
    expect(button.attributes('aria-label')).toContain('不可用');
    expect(button.attributes('title')).toBe('Only 华东 may use it.');
    expect(button.find('svg.lock').exists()).toBe(true);
    await button.trigger('click');
    expect(chip.emitted('toggle')).toBeUndefined();
    expect(chip.emitted('locked')).toHaveLength(1);
  });

  it('does nothing while disabled (view-as) or busy', async () => {
    const disabled = mountSidebar(TagChip, { props: { name: 'VIP', applied: false, disabled: true } });
    expect(disabled.get('button').attributes('disabled')).toBeDefined();
    await disabled.get('button').trigger('click');
    expect(disabled.emitted('toggle')).toBeUndefined();
    const busy = mountSidebar(TagChip, { props: { name: 'VIP', applied: true, busy: true } });
    await busy.get('button').trigger('click');
    expect(busy.emitted('toggle')).toBeUndefined();
    expect(busy.get('button').attributes('aria-label')).toContain('保存中');
  });
});
