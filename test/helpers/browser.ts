import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './paths.js';

/** Debian's Chromium driven by playwright-core; never a browser downloaded by a tool. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** An HTTP answer a test expects to be refused (e.g. 401 of `/api/auth/me` before login). */
export interface ExpectedHttpError {
  status: number;
  /** URL path, without query */
  path: string;
}

export interface PageErrorOptions {
  /**
   * Refusals that are part of the scenario: neither the response nor the "Failed to load resource"
   * line Chromium logs for it count as errors. Read at the time of each event, so a test may push
   * an entry for one step and remove it after.
   */
  expected?: ExpectedHttpError[];
}

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    // not a URL (e.g. an inline script location): matches no expected path
    return url;
  }
};

/** Collects console errors, page errors and failed requests; a test fails on any. */
export function collectPageErrors(page: Page, opts: PageErrorOptions = {}): string[] {
  const errors: string[] = [];
  const expected = (status: number, url: string): boolean =>
    (opts.expected ?? []).some((e) => e.status === status && e.path === pathOf(url));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    if (m && expected(Number(m[1]), msg.location().url)) return;
    errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('response', (res) => {
    if (res.status() >= 400 && !expected(res.status(), res.url())) errors.push(`http ${res.status()}: ${res.url()}`);
  });
  return errors;
}

/**
 * Copy a screenshot to docs/screenshots/{name}.png (what the README shows), only when asked with
 * PORTAIL_UPDATE_SCREENSHOTS=1: a test run must not change tracked files.
 */
export function publishScreenshot(shot: string, name: string): void {
  if (process.env.PORTAIL_UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
  copyFileSync(shot, join(REPO_ROOT, 'docs', 'screenshots', `${name}.png`));
}

/**
 * Full-page screenshot to test-results/screenshots/{name}.png, kept out of the work tree (docs/screenshots/
 * holds the copies the README shows). Returns the path. Console pages only: never a camera frame.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = join(REPO_ROOT, 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
