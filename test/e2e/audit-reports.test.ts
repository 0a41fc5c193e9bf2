// The console's monthly audit report screen in a real browser (Debian chromium, desktop width)
// against the whole product in sandbox mode: an admin generates this month's report from the
// console, sees it listed and opened per department (a rep's unmasking and denied look, the admin's
// export with its row count), in Chinese and in English; screenshots of both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { contextFor, DESKTOP, launchBrowser, screenshot, watchErrors } from './support/browser.ts';
import { startE2eWorld, waitFor, type E2eWorld } from './support/company.ts';

describe('monthly audit reports in the console', () => {
  let world: E2eWorld;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let exportedRows = 0;
  const thisMonth = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);

  beforeAll(async () => {
    world = await startE2eWorld();
    // The month's activity: 王芳 reveals a phone number and tries a customer of 西南; the admin exports.
    const wangfang = await world.t.as('wangfang');
    expect((await wangfang.post('/api/customers/wmShared/reveal', { field: 'relation.remarkMobiles', userid: 'wangfang' })).status).toBe(200);
    expect((await wangfang.get('/api/customers/wmChengdu')).status).toBe(404);
    const exported = await world.admin.post('/api/exports', { format: 'xlsx', filter: {} });
    expect(exported.status).toBe(202);
    exportedRows = (await waitFor(async () => {
      const view = (await world.admin.get(`/api/exports/${exported.body.id}`)).body;
      return view.state === 'completed' ? view : undefined;
    }, 'the export')).rowCount;
    browser = await launchBrowser();
    const context = await contextFor(browser, world.t.url, world.admin, DESKTOP);
    page = await context.newPage();
    errors = watchErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await world?.t.stop();
  });

  it('an admin generates this month\'s report and reads it per department', async () => {
    await page.goto(`${world.t.url}/admin/audit-reports`);
    await page.locator('[data-test="report-list"]').waitFor();
    expect(await page.locator('[data-test="report-list"]').textContent()).toContain('还没有报告');
    expect(await page.locator('.el-menu-item.is-active, .is-active').first().textContent()).toContain('审计月报');

    await page.locator('[data-test="generate-report"]').click();
    await page.locator('.el-message--success', { hasText: `已生成 ${thisMonth} 的报告` }).waitFor();
    await page.locator(`[data-test="report-list"] [data-month="${thisMonth}"]`).waitFor();
    const report = page.locator('[data-test="report"]');
    await report.locator('h2', { hasText: `${thisMonth} 审计报告` }).waitFor();
    expect(await report.locator('h2').textContent()).toContain('月份未结束');

    const east = report.locator('[data-test="report-department"][data-department="21"]');
    expect(await east.locator('.el-card__header').textContent()).toContain('上海');
    expect(await east.locator('[data-test="report-members"]').textContent()).toContain('王芳');
    const unmasked = await east.locator('[data-test="notable-unmasked"]').textContent();
    expect(unmasked).toContain('查看明文 (1)');
    expect(unmasked).toContain('wmShared');
    expect(unmasked).toContain('relation.remarkMobiles');
    expect(unmasked).not.toContain('13812345678');
    const denied = await east.locator('[data-test="notable-denied"]').textContent();
    expect(denied).toContain('customer.view');
    expect(denied).toContain('wmChengdu');

    const hq = report.locator('[data-test="report-department"][data-department="1"]');
    expect(await hq.locator('.el-card__header').textContent()).toContain('总部');
    const exports = await hq.locator('[data-test="notable-exports"]').textContent();
    expect(exports).toContain(`导出 (1, ${exportedRows} 行)`);
    expect(exports).toContain('XLSX');
    expect(exports).toContain('朱晓燕');
    await screenshot(page, 'console-audit-report-1366');
  });

  it('in English, and a regenerated report replaces the listed one', async () => {
    await page.locator('[data-test="language"]').selectOption('en');
    await page.locator('h1', { hasText: 'Monthly audit reports' }).waitFor();
    await page.locator('[data-test="generate-report"]').click();
    await page.locator('.el-message--success', { hasText: `Report for ${thisMonth} generated` }).waitFor();
    expect(await page.locator(`[data-test="report-list"] [data-month="${thisMonth}"]`).count()).toBe(1);
    const report = page.locator('[data-test="report"]');
    await report.locator('h2', { hasText: `Audit report ${thisMonth}` }).waitFor();
    expect(await report.locator('[data-test="report-department"][data-department="1"] [data-test="notable-exports"]').textContent()).toContain(`Exports (1, ${exportedRows} rows)`);
    expect(await report.locator('[data-test="report-totals"]').textContent()).toMatch(/\d+ entries: viewed \d+, changed \d+, exported \d+, denied \d+/);
    await screenshot(page, 'console-audit-report-en-1366');
    expect(errors).toEqual([]);
  });
});
