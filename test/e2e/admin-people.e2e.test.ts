// The admin « people » section in Chromium against a real control server (accounts required, real
// face models): a site admin imports a generated registry CSV (progress bar and counts), records a
// student's consent, sees an enrolment refused for another student without consent (the reason in
// words), enrols the consenting one from a faces-dev photo (uploaded from where it lies, never
// copied), gets a credential and downloads its card; the site's sync state is shown. No console
// error nor failed request other than the expected refusal. Issue #6.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateStudents, registryCsv } from '../../control-server/src/people/testing.js';
import {
  collectPageErrors,
  launchChromium,
  publishScreenshot,
  saveScreenshot,
  type ExpectedHttpError,
} from '../helpers/browser.js';
import { addUser, startTestServer, type TestServer, type TestUser } from '../helpers/control-server.js';
import { DATA_DIR } from '../helpers/paths.js';

const SITE = 'lycee-people';
const PHOTO = join(DATA_DIR, 'faces-dev', 'images', 'Brian_Griese', 'Brian_Griese_0001.jpg');
// generated, made-up students; adults, so their own consent is the one needed
const STUDENTS = generateStudents(40, 606).map((s) => ({ ...s, birthDate: '12/05/2005' }));

describe('admin people section (Chromium, real server and models)', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-admin-people-'));
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let admin: TestUser;
  let errors: string[];
  const expected: ExpectedHttpError[] = [{ status: 401, path: '/api/auth/me' }];

  beforeAll(async () => {
    t = await startTestServer({ authMode: 'required', dataDir: join(work, 'server') });
    admin = await addUser(t.dataDir, { username: 'proviseur', role: 'site_admin', site: SITE });
    browser = await launchChromium();
    const context = await browser.newContext({
      locale: 'fr-FR',
      viewport: { width: 1280, height: 1100 },
      acceptDownloads: true,
    });
    page = await context.newPage();
    errors = collectPageErrors(page, { expected });
    await page.goto(`${t.server.httpUrl}/`);
    await page.getByTestId('login-username').fill(admin.username);
    await page.getByTestId('login-password').fill(admin.password);
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('user-menu').waitFor({ timeout: 15_000 });
    await page.goto(`${t.server.httpUrl}/#/admin/people`);
    await page.getByTestId('admin-section-people').waitFor({ timeout: 10_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const row = (i: number) => page.getByTestId(`student-row-${STUDENTS[i]!.externalId}`);

  it('imports a CSV: the job runs to the end with its progress bar and the count of students', async () => {
    const csv = join(work, 'eleves.csv');
    writeFileSync(csv, registryCsv(STUDENTS));
    await page.getByTestId('people-import-file').setInputFiles(csv);
    await page.getByTestId('people-import-submit').click();
    const job = page.getByTestId('people-import-job');
    await expect.poll(() => job.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    expect(await page.getByTestId('people-import-progress').getAttribute('value')).toBe('100');
    expect(await page.getByTestId('people-import-counts').textContent()).toContain('40 ajoutés');
    await expect.poll(() => page.getByTestId('people-count').textContent()).toContain('sur 40');
    await row(0).waitFor();
  });

  it('records a consent; an enrolment without consent is refused with the reason in words', async () => {
    // student 1 has no consent: refused before the photo is even decoded
    await row(1).getByRole('button').click();
    const detail = page.getByTestId('student-detail');
    await expect.poll(() => detail.getAttribute('data-student')).toBe(STUDENTS[1]!.externalId);
    const id = await detail.getAttribute('data-student-id');
    // the refusal below is the scenario, not an error of the page
    expected.push({ status: 409, path: `/api/sites/${SITE}/students/${id}/enrolment` });
    await page.getByTestId('enrol-file').setInputFiles(PHOTO);
    await page.getByTestId('enrol-submit').click();
    const refusal = page.getByTestId('people-error');
    await expect.poll(() => refusal.getAttribute('data-code')).toBe('ENROL_ERR_CONSENT');
    expect(await refusal.textContent()).toContain('consentement manquant');

    await row(0).getByRole('button').click();
    await expect.poll(() => detail.getAttribute('data-student')).toBe(STUDENTS[0]!.externalId);
    await page.getByTestId('consent-party').selectOption('student');
    await page.getByTestId('consent-action').selectOption('grant');
    await page.getByTestId('consent-notice').fill('v2026');
    await page.getByTestId('consent-submit').click();
    await expect.poll(() => page.getByTestId('consent-student').getAttribute('data-state')).toBe('granted');
    expect(await page.getByTestId('consent-student').textContent()).toContain('v2026');
    await expect.poll(() => row(0).getByTestId('student-consent').textContent()).toBe('complet');
  });

  it('enrols from an uploaded photo: a biometric credential whose card downloads', async () => {
    await page.getByTestId('enrol-file').setInputFiles(PHOTO);
    await page.getByTestId('enrol-submit').click();
    await page.getByTestId('people-notice').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('people-notice').textContent()).toContain('enrôlé');
    await expect.poll(() => row(0).getByTestId('student-credential').textContent()).toBe('badge + visage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-card').click()]);
    expect(download.suggestedFilename()).toMatch(/^carte-c[a-z0-9]+\.png$/);
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const png = Buffer.concat(chunks);
    // the card holds the token with the template key: read here, then deleted from the browser's temp dir
    await download.delete();
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
    // the site sync shows the version the enrolment raised
    await page.getByTestId('people-sync').getByRole('button').click();
    await expect.poll(() => page.getByTestId('people-sync').textContent()).toMatch(/Version du site : [1-9]/);

    const shot = await saveScreenshot(page, 'admin-people');
    publishScreenshot(shot, 'admin-people');
    expect(errors).toEqual([]);
  }, 90_000);
});
