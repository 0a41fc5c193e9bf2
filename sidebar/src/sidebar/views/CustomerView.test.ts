import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeDialog, closeToast } from 'vant';
import { useSessionStore } from '../../shared/stores/session.ts';
import type { Customer, Me, MemberTagTree } from '../../shared/types.ts';
import { fakeServer, flush, mountSidebar } from '../../test/mount.ts';
import CustomerView from './CustomerView.vue';

const me: Me = { userid: 'wangfang', name: '王芳', position: '导购', status: 1, departments: [], roles: ['rep'], csrfToken: 'csrf-1', viewAs: null };

function customer(tags: string[]): Customer {
  return {
    externalUserId: 'wmShared', name: '共享客户', type: 1, avatar: null, gender: 1, corpName: null, ownerUserid: 'wangfang',
    owner: { userid: 'wangfang', name: '王芳', active: true }, inPool: false,
    relations: [
      { userid: 'wangfang', remark: '老客', description: null, remarkMobiles: ['138********'], addedAt: 1735722247, addWay: 1, state: 'shop_sh_01', operUserid: null, status: 'active', endReason: null,
        tags: tags.map((id) => ({ tagId: id, kind: 'corp', name: id === 'vip' ? 'VIP' : '普通', groupName: '客户等级' })) },
      { userid: 'lihua', remark: null, description: null, addedAt: null, addWay: null, state: null, operUserid: null, status: 'active', endReason: null,
        tags: [{ tagId: 'normal', kind: 'corp', name: '普通', groupName: '客户等级' }] },
    ],
    masked: ['relation.remarkMobiles'],
    permissions: { view: true, edit: true, tag: true, unmask: true },
  };
}

const tree = (vipUsable: boolean): MemberTagTree => ({
  tree: [{ type: 'folder', id: '1', name: '会员', children: [{ type: 'group', id: 'g1', name: '客户等级', kind: 'corp', tags: [
    { id: 'vip', name: 'VIP', kind: 'corp', usable: vipUsable, ...(vipUsable ? {} : { lockedReason: '王芳 may see "VIP" but not use it.' }) },
    { id: 'normal', name: '普通', kind: 'corp', usable: true },
  ] }] }],
  personal: [{ id: 'pt_1', name: '老朋友', groupName: null }],
});

describe('CustomerView (sidebar customer screen)', () => {
  let applied: string[];
  let vipUsable: boolean;
  let wecomAnswer: 'done' | 'queued' | 'failed';
  let server: ReturnType<typeof fakeServer>;

  beforeEach(() => {
    applied = ['vip'];
    vipUsable = true;
    wecomAnswer = 'done';
    server = fakeServer((url, init) => {
      if (url === '/api/customers/wmShared' && init.method === 'GET') return { status: 200, body: customer(applied) };
      if (url === '/api/tags') return { status: 200, body: tree(vipUsable) };
      if (url.startsWith('/api/customers/wmShared/notes')) return { status: 200, body: { items: [{ id: 1, content: '约了周六到店', author: 'wangfang', authorName: '王芳', createdAt: '2026-11-01T02:00:00Z' }], nextCursor: null } };
      if (url === '/api/customers/wmShared/tags') {
        const body = JSON.parse(String(init.body)) as { add: string[]; remove: string[] };
        if (body.add?.includes('vip') && !vipUsable) {
          return { status: 403, body: { error: { code: 'TAG_NOT_ALLOWED', message: 'you may see but not use: VIP', tags: [{ tagId: 'vip' }] } } };
        }
        const result = (state: string, errcode: number | null) => ({ personal: { added: [], removed: [] }, wecom: { writeId: 1, state, errcode, error: errcode ? 'system busy' : null } });
        if (wecomAnswer === 'failed') return { status: 502, body: result('failed', -1) };
        if (wecomAnswer === 'queued') return { status: 202, body: result('queued', null) };
        applied = [...applied.filter((id) => !(body.remove ?? []).includes(id)), ...(body.add ?? [])];
        return { status: 200, body: result('done', 0) };
      }
      if (url === '/api/customers/wmShared/reveal') return { status: 200, body: { field: 'relation.remarkMobiles', userid: 'wangfang', index: 0, value: '13812345678' } };
      return undefined;
    });
    vi.stubGlobal('fetch', server.fetch);
  });
  let mounted: { unmount(): void } | null = null;
  afterEach(() => {
    vi.unstubAllGlobals();
    mounted?.unmount();
    // Vant's dialog and toast are singletons mounted once on the body: close them for the next test.
    closeDialog();
    closeToast(true);
  });

  async function open(viewAs = false) {
    const view = mountSidebar(CustomerView, { props: { id: 'wmShared' }, attachTo: document.body });
    mounted = view;
    useSessionStore().setMe({ ...me, viewAs: viewAs ? { by: 'zhuxiaoyan', readOnly: true } : null });
    for (let i = 0; i < 5; i++) await flush();
    return view;
  }
  const chip = (view: Awaited<ReturnType<typeof open>>, name: string) =>
    view.findAll('[data-test="tag-board"] [data-test="tag-chip"]').find((c) => c.text().includes(name))!;

  it('shows the customer, my relation, the visible tags by folder and group, and colleagues\' tags with who added them', async () => {
    const view = await open();
    expect(view.get('[data-test="customer-header"]').text()).toContain('共享客户');
    expect(view.get('[data-test="remark"]').text()).toBe('老客');
    expect(view.get('[data-test="phone"]').text()).toBe('138********');
    expect(view.get('[data-test="tag-group"]').text()).toContain('会员 / 客户等级');
    expect(view.get('[data-test="tag-group"]').text()).toContain('企业标签');
    expect(chip(view, 'VIP').attributes('aria-pressed')).toBe('true');
    expect(chip(view, '普通').attributes('aria-pressed')).toBe('false');
    expect(view.get('[data-test="colleague-tags"]').text()).toContain('由 lihua 添加');
    expect(view.get('[data-test="note"]').text()).toContain('约了周六到店');
  });

  it('adds and removes a tag in one tap each, then shows what the server holds', async () => {
    const view = await open();
    await chip(view, '普通').trigger('click');
    for (let i = 0; i < 5; i++) await flush();
    expect(server.calls.find((c) => c.method === 'POST' && c.url === '/api/customers/wmShared/tags')?.body).toEqual({ add: ['normal'] });
    expect(chip(view, '普通').attributes('aria-pressed')).toBe('true');
    await chip(view, 'VIP').trigger('click');
    for (let i = 0; i < 5; i++) await flush();
    expect(server.calls.filter((c) => c.method === 'POST').at(-1)?.body).toEqual({ remove: ['vip'] });
    expect(chip(view, 'VIP').attributes('aria-pressed')).toBe('false');
  });

  it('a refused change says so in plain words and re-reads the tags, which now show the tag locked', async () => {
    applied = [];
    const view = await open();
    vipUsable = false; // an admin narrowed the rule after the screen was loaded
    await chip(view, 'VIP').trigger('click');
    for (let i = 0; i < 8; i++) await flush();
    expect(document.querySelector('.van-dialog')?.textContent).toContain('你可以看到这个标签，但没有使用权限，未做任何修改。');
    expect(server.calls.filter((c) => c.url === '/api/tags').length).toBe(2);
    expect(chip(view, 'VIP').attributes('data-locked')).toBe('true');
    expect(chip(view, 'VIP').attributes('aria-pressed')).toBeUndefined();
    expect(view.get('[data-test="locked-reason"]').text()).toContain('may see "VIP" but not use it');
  });

  it('a WeCom failure (502) is explained and the screen shows what is really saved; a queued write shows as waiting', async () => {
    const view = await open();
    wecomAnswer = 'failed';
    await chip(view, '普通').trigger('click');
    for (let i = 0; i < 8; i++) await flush();
    expect(document.querySelector('.van-dialog')?.textContent).toContain('企业微信暂时没有接受这次修改');
    closeDialog();
    expect(chip(view, '普通').attributes('aria-pressed')).toBe('false');
    wecomAnswer = 'queued';
    await chip(view, '普通').trigger('click');
    for (let i = 0; i < 8; i++) await flush();
    expect([...document.querySelectorAll('.van-toast')].map((toast) => toast.textContent)).toContain('已提交，企业微信确认后生效');
    expect(chip(view, '普通').attributes('aria-pressed')).toBe('true');
    expect(chip(view, '普通').classes()).toContain('chip--busy');
  });

  it('reveals a masked phone number on request (audited by the server)', async () => {
    const view = await open();
    await view.get('.phone button').trigger('click');
    for (let i = 0; i < 3; i++) await flush();
    expect(server.calls.find((c) => c.url === '/api/customers/wmShared/reveal')?.body).toEqual({ field: 'relation.remarkMobiles', userid: 'wangfang', index: 0 });
    expect(view.get('[data-test="phone"]').text()).toBe('13812345678');
  });

  it('in view-as every control is disabled and nothing is sent', async () => {
    const view = await open(true);
    const controls = view.findAll('button, input, textarea').filter((el) => !el.classes('link-button') || el.text() !== '');
    expect(view.findAll('[data-test="tag-chip"]').every((c) => c.attributes('disabled') !== undefined)).toBe(true);
    expect(view.get('#new-personal-tag').attributes('disabled')).toBeDefined();
    expect(view.get('#note-text').attributes('disabled')).toBeDefined();
    expect(view.get('.phone button').attributes('disabled')).toBeDefined();
    for (const control of controls) await control.trigger('click');
    expect(server.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});
