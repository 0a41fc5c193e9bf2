// Debian's chromium driven by playwright-core (never `playwright install`), with the flags the
// engineering notes give, and helpers for the web app's end-to-end tests.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ApiClient } from '../../support/test-product.ts';

export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
export const PHONE = { width: 320, height: 640 };
export const DESKTOP = { width: 1366, height: 860 };

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context already signed in with the session of `client` (cookies copied over). */
export async function contextFor(browser: Browser, baseUrl: string, client: ApiClient | null, viewport = PHONE): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  if (client) {
    const url = new URL(baseUrl);
    await context.addCookies([...client.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' as const })));
  }
  return context;
}

/** Fails the test on any uncaught page error (a broken screen must not pass quietly). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The sidebar's tag chips by name, in the tag board (not personal tags). */
export const tagChip = (page: Page, name: string) =>
  page.locator('[data-test="tag-board"] [data-test="tag-chip"]').filter({ has: page.locator('.chip-name', { hasText: new RegExp(`^${name}$`) }) });
