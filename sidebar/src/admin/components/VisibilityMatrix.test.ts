import { describe, expect, it } from 'vitest';
import { mountAdmin } from '../../test/mount-admin.ts';
import type { DepartmentNode } from '../stores/org.ts';
import VisibilityMatrix from './VisibilityMatrix.vue';

const dept = (id: number, name: string, parentId: number | null, depth: number): DepartmentNode => ({ id, name, parentId, order: 0, depth, children: [] });
const departments = [dept(1, '总部', null, 0), dept(2, '华东大区', 1, 1), dept(21, '上海', 2, 2), dept(4, '西南大区', 1, 1)];

function matrix(props: { see: number[]; use: number[]; inherited?: { see: Set<number>; use: Set<number> } | null }) {
  return mountAdmin(VisibilityMatrix, { props: { departments, inherited: null, disabled: false, ...props } });
}
const row = (wrapper: ReturnType<typeof matrix>, id: number) => wrapper.get(`tr[data-department="${id}"]`);

describe('VisibilityMatrix', () => {
  it('shows a checked department as covering its sub-departments', () => {
    const wrapper = matrix({ see: [2], use: [] });
    expect((row(wrapper, 2).get('[data-test="see"]').element as HTMLInputElement).checked).toBe(true);
    const shanghai = row(wrapper, 21).get('[data-test="see"]');
    expect((shanghai.element as HTMLInputElement).checked).toBe(true);
    expect(shanghai.attributes('disabled')).toBeDefined();
    expect(shanghai.attributes('title')).toBe('上级部门已包含');
    expect((row(wrapper, 4).get('[data-test="see"]').element as HTMLInputElement).checked).toBe(false);
  });

  it('keeps use within see: using a department makes it visible too', async () => {
    const wrapper = matrix({ see: [], use: [] });
    await row(wrapper, 4).get('[data-test="use"]').setValue(true);
    expect(wrapper.emitted('update:use')).toEqual([[[4]]]);
    expect(wrapper.emitted('update:see')).toEqual([[[4]]]);
  });

  it('unchecking see drops the use rows it no longer covers', async () => {
    const wrapper = matrix({ see: [2, 4], use: [21, 4] });
    await row(wrapper, 2).get('[data-test="see"]').setValue(false);
    expect(wrapper.emitted('update:see')).toEqual([[[4]]]);
    expect(wrapper.emitted('update:use')).toEqual([[[4]]]);
  });

  it('shows what the rules above allow per department, or everyone when there is none', () => {
    const none = matrix({ see: [], use: [] });
    expect(row(none, 4).get('.inherited').text()).toBe('全员');
    const limited = matrix({ see: [], use: [], inherited: { see: new Set([1, 2, 21, 4]), use: new Set([2, 21]) } });
    expect(row(limited, 21).get('.inherited').text()).toContain('继承可用');
    expect(row(limited, 4).get('.inherited').text()).toBe('继承可见');
    const outside = matrix({ see: [], use: [], inherited: { see: new Set([2, 21]), use: new Set() } });
    expect(row(outside, 4).get('.inherited').text()).toBe('上级不允许');
  });

  it('labels every checkbox for screen readers', () => {
    const wrapper = matrix({ see: [], use: [] });
    const labels = wrapper.findAll('input[type="checkbox"]').map((c) => c.attributes('aria-label'));
    expect(labels).toContain('西南大区 可见');
    expect(labels).toContain('上海 可用');
  });
});
