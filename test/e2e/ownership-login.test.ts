// The web app in a real browser (Debian chromium) for what moves customers and who may sign in:
// an audited reveal of a masked phone number, WeCom OAuth through the simulator's authorize page, a
// customer released to the public pool in the console and claimed back in the sidebar, a transfer in
// the console that WeCom completes after its 24 hours, a member who left refused at sign-in with a
// Chinese message, and the console's reassignment of that member's customers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { contextFor, DESKTOP, launchBrowser, screenshot, watchErrors } from './support/browser.ts';
import { startE2eWorld, type E2eWorld } from './support/company.ts';
import { syncAll } from '../support/contact-ways-company.ts';

const DAY = 86_400;

describe('ownership and sign-in in a browser', { timeout: 90_000 }, () => {
  let world: E2eWorld;
  let browser: Browser;
  const errors: string[][] = [];

  async function signedIn(userid: string, path: string, viewport = DESKTOP): Promise<Page> {
    const context = await contextFor(browser, world.t.url, await world.t.as(userid), viewport);
    const page = await context.newPage();
    errors.push(watchErrors(page));
    await page.goto(`${world.t.url}${path}`);
    return page;
  }
  async function pick(page: Page, select: string, option: string): Promise<void> {
    await page.locator(select).click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click();
  }
  const ownerOf = async (id: string) => (await world.admin.get(`/api/customers/${id}`)).body.owner?.userid ?? null;
  const customerRow = (page: Page, name: string) => page.locator('[data-test="customers-table"] .el-table__row').filter({ hasText: name });

  beforeAll(async () => {
    world = await startE2eWorld();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await world?.t.stop();
  });

  it('a phone number arrives masked; 显示 fetches the one value and the reveal is audited', async () => {
    const page = await signedIn('wangfang', '/sidebar/#/customer/wmShared', { width: 360, height: 740 });
    const phone = page.locator('[data-test="phone"]');
    await phone.waitFor();
    expect(await phone.textContent()).toBe('138********');
    expect(await page.locator('body').textContent()).not.toContain('13812345678');
    await page.getByRole('button', { name: /^显示 电话 1$/ }).click();
    await expect.poll(() => phone.textContent()).toBe('13812345678');
    expect(await page.locator('.phone').textContent()).toContain('已显示（已记录审计）');
    await screenshot(page, 'sidebar-phone-revealed-360');
    const audit = await world.admin.get('/api/admin/audit?customer=wmShared&action=customer.reveal');
    expect(audit.body.entries).toEqual([expect.objectContaining({ actor: 'wangfang', outcome: 'allowed', details: { field: 'relation.remarkMobiles', relation: 'wangfang', index: 0 } })]);
    expect(JSON.stringify(audit.body)).not.toContain('13812345678');
    // Colleagues by name, not userid.
    expect(await page.locator('[data-test="follower"]').allTextContents()).toEqual([expect.stringContaining('王芳'), expect.stringContaining('刘洋')]);
    expect(await page.locator('[data-test="colleague-tags"]').textContent()).toContain('由 刘洋 添加');
  });

  it('signs in with WeCom OAuth: sidebar → /api/auth/wecom/start → the simulator\'s authorize page → callback → signed in', async () => {
    const context = await contextFor(browser, world.t.url, null);
    const page = await context.newPage();
    errors.push(watchErrors(page));
    await page.goto(`${world.t.url}/sidebar/`);
    await page.locator('[data-test="wecom-login"]').click();
    await page.waitForURL((url) => url.pathname === '/connect/oauth2/authorize');
    expect(page.url().startsWith(world.t.sim.url)).toBe(true);
    expect(new URL(page.url()).searchParams.get('redirect_uri')).toBe(`${world.t.url}/api/auth/wecom/callback`);
    await screenshot(page, 'sidebar-oauth-simulator-320');
    await page.getByRole('link', { name: '王芳' }).click();
    await page.waitForURL((url) => url.origin === world.t.url && url.pathname === '/sidebar/');
    await expect.poll(() => page.locator('[data-test="me"]').textContent()).toContain('王芳');
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).not.toContain('wtg_oauth');
    await context.close();
  });

  it('the console releases a customer to the public pool and its rep claims it back in the sidebar', async () => {
    expect(await ownerOf('wmChengdu')).toBe('liuyang');
    const console_ = await signedIn('zhuxiaoyan', '/admin/customers');
    await customerRow(console_, '成都客户').waitFor();
    await customerRow(console_, '成都客户').locator('.el-checkbox').click();
    await console_.locator('[data-test="release"]').click();
    await console_.locator('.el-dialog .el-input input').fill('长期未跟进');
    await console_.locator('[data-test="action-confirm"]').click();
    // Element Plus asks once more before releasing.
    await console_.locator('.el-message-box .el-button--primary').click();
    await expect.poll(() => world.admin.get('/api/customers/wmChengdu').then((r) => r.body.inPool), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => customerRow(console_, '成都客户').textContent(), { timeout: 20_000 }).toContain('公海');
    expect(await ownerOf('wmChengdu')).toBeNull();

    const sidebar = await signedIn('liuyang', '/sidebar/#/pool', { width: 320, height: 640 });
    const row = sidebar.locator('[data-test="pool-row"]').filter({ hasText: '成都客户' });
    await row.waitFor();
    expect(await row.textContent()).toContain('所属公海：成都');
    await screenshot(sidebar, 'sidebar-pool-320');
    await row.getByRole('button', { name: '领取 成都客户' }).click();
    await sidebar.locator('.van-dialog__confirm').click();
    await sidebar.locator('.van-toast', { hasText: '已领取「成都客户」' }).waitFor();
    await expect.poll(() => ownerOf('wmChengdu'), { timeout: 20_000 }).toBe('liuyang');
    await expect.poll(() => sidebar.locator('[data-test="pool-row"]').filter({ hasText: '成都客户' }).count(), { timeout: 20_000 }).toBe(0);
    const history = await world.admin.get('/api/admin/audit?customer=wmChengdu');
    expect(history.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['pool.release', 'pool.claim']));
  });

  it('a manager\'s transfer from the console completes once WeCom\'s 24 hours pass', async () => {
    const console_ = await signedIn('zhuxiaoyan', '/admin/customers');
    await customerRow(console_, '数码客户1').waitFor();
    await customerRow(console_, '数码客户1').locator('.el-checkbox').click();
    await console_.locator('[data-test="transfer"]').click();
    await pick(console_, '[data-test="action-target"]', '王芳 (wangfang)');
    const [answer] = await Promise.all([
      console_.waitForResponse((r) => r.url().endsWith('/api/transfers') && r.request().method() === 'POST'),
      console_.locator('[data-test="action-confirm"]').click(),
    ]);
    const { transfers } = await answer.json() as { transfers: { id: string }[] };
    const progress = console_.locator('.el-dialog [data-test="job-progress"]');
    await expect.poll(() => progress.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    await screenshot(console_, 'console-transfer-1366');
    // WeCom hands the customer over after 24 hours; until then the owner stays.
    expect(await ownerOf('wmDigital1')).toBe('liuyang');
    await world.t.simCall('POST', '/sim/clock/advance', { seconds: DAY + 60 });
    for (const { id } of transfers) expect((await world.admin.post(`/api/transfers/${id}/refresh`)).status).toBe(200);
    expect(await ownerOf('wmDigital1')).toBe('wangfang');
    await console_.locator('.el-dialog__footer button').first().click();
    await console_.reload();
    await expect.poll(() => customerRow(console_, '数码客户1').locator('[data-test="owner-cell"]').textContent(), { timeout: 20_000 }).toBe('王芳');
  });

  it('a member who left is refused at the WeCom login with a clear Chinese message', async () => {
    const context = await contextFor(browser, world.t.url, null);
    const page = await context.newPage();
    errors.push(watchErrors(page));
    // Between WeCom issuing the code and the callback reaching the product, 刘洋 leaves and the
    // product learns it from a sync. (The simulator's pick answers with a redirect carrying the code;
    // the redirect is handed to the browser only after that.)
    await page.route('**/connect/oauth2/pick**', async (route) => {
      const issued = await route.fetch({ maxRedirects: 0 });
      await world.t.simCall('POST', '/sim/members/resign', { userid: 'liuyang' });
      await syncAll(world.admin);
      await route.fulfill({ status: 302, headers: { location: issued.headers().location! } });
    });
    await page.goto(`${world.t.url}/sidebar/`);
    await page.locator('[data-test="wecom-login"]').click();
    await page.waitForURL((url) => url.pathname === '/connect/oauth2/authorize');
    await page.getByRole('link', { name: '刘洋' }).click();
    const refusal = page.locator('[data-test="login-error"]');
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toBe('你已离职，不能再登录。如有疑问，请联系管理员。');
    // The address no longer carries the code, and nobody is signed in.
    expect(new URL(page.url()).search).toBe('');
    expect((await context.cookies()).map((c) => c.name)).not.toContain('wtg_session');
    expect(await page.locator('[data-test="me"]').count()).toBe(0);
    await screenshot(page, 'sidebar-login-refused-320');
    const logins = await world.admin.get('/api/admin/audit?action=auth.login&actor=liuyang');
    expect(logins.body.entries[0]).toMatchObject({ outcome: 'denied', details: { method: 'wecom_oauth', code: 'MEMBER_LEFT' } });
    await context.close();
  });

  it('the console reassigns the customers of the member who left in one screen', async () => {
    const console_ = await signedIn('zhuxiaoyan', '/admin/departures');
    const leaver = console_.locator('[data-test="departures-table"] .el-table__row').filter({ hasText: '刘洋' });
    await leaver.waitFor();
    await leaver.click();
    const customers = console_.locator('[data-test="departure-customers"] .el-table__row');
    await expect.poll(() => customers.allTextContents(), { timeout: 20_000 }).toEqual(expect.arrayContaining([expect.stringContaining('成都客户'), expect.stringContaining('数码客户2'), expect.stringContaining('数码客户3')]));
    await pick(console_, '[data-test="reassign-to"]', '王芳');
    await console_.locator('[data-test="reassign"]').click();
    await console_.locator('.el-message--success').waitFor();
    await expect.poll(() => Promise.all(['wmChengdu', 'wmDigital2', 'wmDigital3'].map(ownerOf)), { timeout: 20_000 }).toEqual(['wangfang', 'wangfang', 'wangfang']);
    await screenshot(console_, 'console-departures-1366');
  });

  it('raised no page errors', () => {
    expect(errors.flat()).toEqual([]);
  });
});
