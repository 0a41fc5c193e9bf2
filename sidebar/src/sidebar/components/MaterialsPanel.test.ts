import { describe, expect, it } from 'vitest';
import { mountSidebar } from '../../test/mount.ts';
import type { Material } from '../materials.ts';
import MaterialsPanel from './MaterialsPanel.vue';

const materials: Material[] = [
  { id: 'm1', kind: 'text', title: '门店地址', content: { text: '徐家汇店' } },
  { id: 'm2', kind: 'image', title: '海报（无素材 ID）', content: { picUrl: 'https://example.test/a.png' } },
  { id: 'm3', kind: 'link', title: '活动页', content: { url: 'https://example.test/sale', desc: '双十一' } },
];

describe('MaterialsPanel', () => {
  it('lists materials, sends one, and disables what cannot be sent into a chat', async () => {
    const wrapper = mountSidebar(MaterialsPanel, { props: { materials, canSend: true, busy: null } });
    const rows = wrapper.findAll('[data-test="material"]');
    expect(rows.map((r) => r.find('strong').text())).toEqual(['门店地址', '海报（无素材 ID）', '活动页']);
    expect(rows[1]!.get('button').attributes('disabled')).toBeDefined();
    await rows[2]!.get('button').trigger('click');
    expect(wrapper.emitted('send')).toEqual([[materials[2]]]);
  });

  it('outside a WeCom chat every send is off and says why', () => {
    const wrapper = mountSidebar(MaterialsPanel, { props: { materials, canSend: false, busy: null } });
    expect(wrapper.findAll('button').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
    expect(wrapper.text()).toContain('在企业微信的客户聊天中打开侧边栏才能发送素材');
  });
});
