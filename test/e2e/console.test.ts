// The admin console in a real browser (Debian chromium, desktop width) against the whole product in
// sandbox mode: a visibility rule changed in the matrix reaches the rep's sidebar on the next load,
// explain and view-as, bulk assignment by tag with progress, conflicts after a member leaves (found by
// a sync run from the console), and screenshots of the main screens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { contextFor, DESKTOP, launchBrowser, screenshot, tagChip, watchErrors } from './support/browser.ts';
import { putRule, startE2eWorld, type E2eWorld } from './support/company.ts';

describe('admin console in a browser', () => {
  let world: E2eWorld;
  let browser: Browser;
  let adminContext: BrowserContext;
  let console_: Page;
  const errors: string[][] = [];

  /** Picks an option of an Element Plus select (the dropdown is teleported to the body). */
  async function pick(page: Page, select: string, option: string): Promise<void> {
    await page.locator(select).click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click();
  }
  async function sidebarAs(userid: string): Promise<Page> {
    const context = await contextFor(browser, world.t.url, await world.t.as(userid));
    const page = await context.newPage();
    errors.push(watchErrors(page));
    await page.goto(`${world.t.url}/sidebar/#/customer/wmShared`);
    await page.locator('[data-test="tag-board"] [data-test="tag-chip"]').first().waitFor();
    return page;
  }
  const treeNode = (name: string) => console_.locator('[data-test="library-tree"] .el-tree-node__content').filter({ has: console_.locator('.name', { hasText: new RegExp(`^${name}$`) }) });

  beforeAll(async () => {
    world = await startE2eWorld();
    await putRule(world.admin, `/api/admin/tag-groups/${world.groups['投诉记录']}/visibility`, { see: { departments: [2] } });
    browser = await launchBrowser();
    adminContext = await contextFor(browser, world.t.url, null, DESKTOP);
    console_ = await adminContext.newPage();
    errors.push(watchErrors(console_));
  });
  afterAll(async () => {
    await browser?.close();
    await world?.t.stop();
  });

  it('signs an admin in and shows the overview with charts', async () => {
    await console_.goto(`${world.t.url}/admin/`);
    await console_.locator('[data-test="member-zhuxiaoyan"]').click();
    await console_.locator('.dashboard canvas').first().waitFor();
    expect(await console_.locator('[data-test="me"]').textContent()).toBe('朱晓燕');
    await screenshot(console_, 'console-dashboard-1366');
  });

  it('an admin changes a visibility rule in the matrix and the rep\'s sidebar reflects it on the next load', async () => {
    const west = await sidebarAs('liuyang');
    expect(await west.locator('body').textContent()).not.toContain('投诉记录');

    await console_.goto(`${world.t.url}/admin/tags`);
    await treeNode('投诉记录').click();
    const editor = console_.locator('[data-test="visibility-editor"]');
    await editor.locator('[data-test="visibility-matrix"]').waitFor();
    // The rule as saved: 华东大区 (and so 上海) may see; 西南大区 not.
    expect(await editor.locator('tr[data-department="2"] [data-test="see"]').isChecked()).toBe(true);
    expect(await editor.locator('tr[data-department="21"] [data-test="see"]').isChecked()).toBe(true);
    expect(await editor.locator('tr[data-department="4"] [data-test="see"]').isChecked()).toBe(false);
    await editor.locator('tr[data-department="4"] [data-test="see"]').check();
    await editor.locator('[data-test="save-rule"]').click();
    await console_.locator('.el-message--success').waitFor();
    await screenshot(console_, 'console-tag-visibility-matrix-1366');

    // 刘洋's next load shows the complaint group and 王芳's complaint tag.
    await west.reload();
    await west.locator('[data-test="tag-board"] [data-test="tag-chip"]').first().waitFor();
    expect(await west.locator('[data-test="tag-group"]').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('投诉记录')]));
    expect(await west.locator('[data-test="colleague-tags"]').textContent()).toContain('严重投诉');
    // See only: the use audience stayed 华东, so for 刘洋 the tag is locked.
    expect(await tagChip(west, '严重投诉').getAttribute('data-locked')).toBe('true');

    // And back: unchecked, saved, gone again on the next load.
    await editor.locator('tr[data-department="4"] [data-test="see"]').uncheck();
    await editor.locator('[data-test="save-rule"]').click();
    await expect.poll(async () => {
      await west.reload();
      await west.locator('[data-test="tag-board"] [data-test="tag-chip"]').first().waitFor();
      return west.locator('body').textContent();
    }).not.toContain('投诉记录');
  });

  it('explains a decision and opens the sidebar as that member, read-only', async () => {
    await console_.goto(`${world.t.url}/admin/explain?userid=liuyang&tagId=${world.tags['投诉记录/严重投诉']}`);
    const result = console_.locator('[data-test="explain-result"]');
    await result.waitFor();
    expect(await result.locator('.verdict').textContent()).toContain('刘洋');
    expect(await result.locator('.verdict').textContent()).toContain('可见：不允许');
    await screenshot(console_, 'console-explain-1366');

    await pick(console_, '[data-test="view-as-member"]', '刘洋 (liuyang)');
    const [sidebar] = await Promise.all([adminContext.waitForEvent('page'), console_.locator('[data-test="view-as-start"]').click()]);
    errors.push(watchErrors(sidebar));
    await sidebar.locator('[data-test="view-as-banner"]').waitFor();
    expect(await sidebar.locator('[data-test="view-as-banner"]').textContent()).toContain('刘洋');
    await console_.locator('[data-test="console-view-as"]').waitFor();
    await screenshot(console_, 'console-view-as-1366');
    await console_.locator('[data-test="console-view-as"] button').click();
    await console_.locator('[data-test="me"]').waitFor();
    await sidebar.close();
  });

  it('bulk assignment by tag shows progress and ends with the right owner', async () => {
    await console_.goto(`${world.t.url}/admin/customers`);
    await console_.locator('[data-test="customers-table"] .el-table__row').first().waitFor();
    await pick(console_, '[data-test="customers-tags"]', '兴趣偏好 / 数码');
    await console_.keyboard.press('Escape');
    await console_.locator('[data-test="customers-apply"]').click();
    await expect.poll(() => console_.locator('[data-test="customers-table"] .el-table__row').count()).toBe(3);
    await console_.locator('[data-test="select-all-matching"]').click();
    expect(await console_.locator('[data-test="selection"]').textContent()).toContain('3');
    await console_.locator('[data-test="assign"]').click();
    await pick(console_, '[data-test="action-target"]', '王芳 (wangfang)');
    await console_.locator('[data-test="action-confirm"]').click();
    const progress = console_.locator('.el-dialog [data-test="job-progress"]');
    await progress.waitFor();
    await expect.poll(() => progress.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await progress.textContent()).toContain('3 / 3');
    await screenshot(console_, 'console-bulk-assign-1366');
    await console_.locator('.el-dialog__footer button').first().click();
    await expect.poll(() => console_.locator('[data-test="owner-cell"]').allTextContents()).toEqual(['王芳', '王芳', '王芳']);
    const owners = await Promise.all([1, 2, 3].map(async (n) => (await world.admin.get(`/api/customers/wmDigital${n}`)).body.owner?.userid));
    expect(owners).toEqual(['wangfang', 'wangfang', 'wangfang']);
    await screenshot(console_, 'console-customers-1366');
  });

  it('shows a contact way with its rules and the other screens', async () => {
    const way = await world.admin.post('/api/admin/contact-ways', { users: ['wangfang'], state: 'console_qr', remark: '上海门店', rules: { tagIds: [world.tags['客户等级/VIP']], owner: { mode: 'adder' } } });
    expect(way.status).toBe(201);
    await console_.goto(`${world.t.url}/admin/contact-ways`);
    const row = console_.locator('[data-test="contact-ways-table"] .el-table__row').filter({ hasText: 'console_qr' });
    await row.waitFor();
    expect(await row.textContent()).toContain('VIP');
    await screenshot(console_, 'console-contact-ways-1366');
    for (const [path, ready, name] of [
      ['org', '[data-test="members-table"] .el-table__row', 'console-org-1366'],
      ['roles', '[data-test="roles-matrix"] tbody tr', 'console-roles-1366'],
      ['audit', '[data-test="chain-result"]', 'console-audit-1366'],
      ['events', '[data-test="events-table"]', 'console-events-1366'],
      ['settings', '.cards .el-card', 'console-settings-1366'],
    ] as const) {
      await console_.goto(`${world.t.url}/admin/${path}`);
      await console_.locator(ready).first().waitFor();
      await screenshot(console_, name);
    }
    expect(await console_.locator('[data-test="chain-result"]').count()).toBe(0);
    await console_.goto(`${world.t.url}/admin/audit`);
    await console_.locator('[data-test="chain-result"]').waitFor();
    expect(await console_.locator('[data-test="chain-result"]').textContent()).toContain('哈希链完整');
  });

  it('a member who leaves makes a rule name what no longer exists: the sync button finds it and the tree highlights the node', async () => {
    await putRule(world.admin, `/api/admin/tags/${world.tags['投诉记录/一般投诉']}/visibility`, { see: { departments: [21], users: ['chenjun'] } });
    await world.t.simCall('POST', '/sim/members/resign', { userid: 'chenjun' });
    await console_.goto(`${world.t.url}/admin/tags`);
    await treeNode('一般投诉').waitFor();
    expect(await treeNode('一般投诉').locator('[data-test="conflict-badge"]').count()).toBe(0);
    await console_.locator('[data-test="sync"]').click();
    await console_.locator('[data-test="jobs-button"]').click();
    await expect.poll(() => console_.locator('[data-test="job-progress"]').first().getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    await console_.locator('[data-test="jobs-button"]').click();
    await console_.locator('[data-test="job-progress"]').first().waitFor({ state: 'hidden' });
    await expect.poll(() => treeNode('一般投诉').locator('[data-test="conflict-badge"]').count(), { timeout: 10_000 }).toBe(1);
    await console_.locator('[data-test="conflicts"] .el-collapse-item__header').click();
    const conflict = console_.locator('[data-test="conflict"]').filter({ hasText: '引用了已不存在的对象：成员 chenjun' });
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('一般投诉');
    expect(await conflict.textContent()).toContain('把它们从规则中移除');
    await conflict.getByRole('button').click();
    await console_.locator('[data-test="node-panel"] .title', { hasText: '一般投诉' }).waitFor();
    await screenshot(console_, 'console-conflicts-1366');
  });

  it('builds a campaign audience with a count per step, sends it, and shows the report; materials reach the sidebar', async () => {
    await console_.goto(`${world.t.url}/admin/campaigns`);
    const form = console_.locator('[data-test="campaign-form"]');
    await form.waitFor();
    await form.locator('input').first().fill('VIP 回馈');
    await pick(console_, '[data-test="campaign-form"] .el-select >> nth=0', 'VIP');
    // The count after each step follows the form: one VIP customer in the sandbox company.
    await console_.locator('[data-test="audience-steps"]', { hasText: '企业标签 1' }).waitFor();
    await form.locator('textarea').fill('VIP 专享礼遇');
    await console_.getByRole('button', { name: '保存草稿' }).click();
    const detail = console_.locator('[data-test="campaign-detail"]');
    await detail.locator('[data-test="campaign-preview"] .el-table__row', { hasText: '王芳' }).waitFor();
    await screenshot(console_, 'console-campaign-preview-1366');
    await console_.getByRole('button', { name: '立即发送' }).click();
    const reported = detail.locator('[data-test="campaign-report"] .el-table__row');
    for (let attempt = 0; attempt < 30 && (await reported.count()) === 0; attempt++) {
      await console_.getByRole('button', { name: '刷新结果' }).click();
      await reported.first().waitFor({ timeout: 1_000 }).catch(() => undefined);
    }
    expect(await reported.first().textContent()).toMatch(/1/);
    expect(await detail.locator('[data-test="campaign-touches"]').textContent()).toContain('VIP');
    await screenshot(console_, 'console-campaign-report-1366');

    const material = await world.admin.post('/api/material-library', { kind: 'text', title: '门店营业时间', content: { text: '每天 10:00–22:00' }, tagGroupIds: [world.groups['客户等级']] });
    expect(material.status).toBe(201);
    await console_.goto(`${world.t.url}/admin/materials`);
    await console_.locator('[data-test="materials-table"] .el-table__row', { hasText: '门店营业时间' }).waitFor();
    await screenshot(console_, 'console-materials-1366');
    const sidebar = await sidebarAs('wangfang');
    await sidebar.locator('[data-test="materials"] [data-test="material"]', { hasText: '门店营业时间' }).waitFor();
    // Outside WeCom's client nothing can be sent into a chat.
    expect(await sidebar.locator('[data-test="material"] button').first().isDisabled()).toBe(true);
    await sidebar.context().close();
  }, 90_000);

  it('raised no page errors', () => {
    expect(errors.flat()).toEqual([]);
  });
});
