import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  decodeCredentialToken,
  publicKeyFromPem,
  withDecryptedTemplate,
  type EncryptedTemplate,
} from '@portail/protocol';
import * as jsQRModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { facePhoto, generateStudents, registryCsv } from '../people/testing.js';
import { destroyFile, peopleCommandOf, progressLine, runPeopleCli } from './people-cli.js';

const jsQR = (
  jsQRModule as unknown as { default: (d: Uint8ClampedArray, w: number, h: number) => { binaryData: number[] } | null }
).default;
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// the CLI's JSON output, navigated freely by the assertions (which check its shape)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Run {
  code: number;
  json: Json;
  stderr: string;
}

async function readQr(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const r = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
  if (!r) throw new Error(`no QR code in ${file}`);
  return Uint8Array.from(r.binaryData);
}

describe('portail-admin people commands (real SQLite, real models, photos read in place)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'portail-admin-people-'));
  // cards and QR codes go elsewhere: the data dir must hold no image
  const outDir = mkdtempSync(path.join(tmpdir(), 'portail-admin-out-'));
  const students = generateStudents(200, 41).map((s, i) => ({
    ...s,
    birthDate: i < 100 ? '10/10/2004' : '10/10/2011',
  }));
  const adult = students[0]!.externalId;
  const adult2 = students[1]!.externalId;
  const minor = students[150]!.externalId;

  async function run(...args: string[]): Promise<Run> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await runPeopleCli(['--data-dir', dataDir, ...args], { stdout, stderr, env: {}, cwd: outDir });
    let json: Json = {};
    try {
      json = out.trim() ? JSON.parse(out) : {};
    } catch {
      // usage output is text, not JSON: keep it visible in the assertion
      json = { text: out };
    }
    return { code, json, stderr: err };
  }

  beforeAll(() => {
    writeFileSync(path.join(outDir, 'students.csv'), registryCsv(students));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('imports with a progress bar on stderr and a JSON report on stdout', async () => {
    const r = await run('import', '--site', 'lycee-a', '--file', 'students.csv');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, report: { inserted: 200, updated: 0, departed: 0, errors: [] } });
    expect(r.stderr).toMatch(/\[#{30}\] 100% 200\/200 write/);
    const again = await run('import', '--site', 'lycee-a', '--file', 'students.csv');
    expect(again.json).toMatchObject({ report: { inserted: 0, unchanged: 200 } });
  });

  it('refuses a bad file with a clear error and exit 1; a usage error exits 2', async () => {
    writeFileSync(path.join(outDir, 'bad.csv'), 'Nom;Prénom\nA;B\n');
    const bad = await run('import', '--site', 'lycee-a', '--file', 'bad.csv');
    expect(bad).toMatchObject({ code: 1, json: { ok: false, error: { code: 'REGISTRY_ERR_COLUMNS' } } });
    expect(bad.stderr).toMatch(/missing column\(s\): identifiant élève/);
    expect((await run('import', '--site', 'lycee-a')).code).toBe(2);
    expect(
      (
        await run(
          'consent',
          '--site',
          'lycee-a',
          '--student',
          'nobody',
          '--who',
          'student',
          '--channel',
          'paper',
          '--notice',
          'v1',
        )
      ).json,
    ).toMatchObject({
      ok: false,
      error: { code: 'PEOPLE_ERR_STUDENT' },
    });
    expect(
      (
        await run(
          'consent',
          '--site',
          'lycee-a',
          '--student',
          adult,
          '--who',
          'uncle',
          '--channel',
          'paper',
          '--notice',
          'v1',
        )
      ).code,
    ).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('records consent; a minor without the guardians cannot be enrolled', async () => {
    const c = await run(
      'consent',
      '--site',
      'lycee-a',
      '--student',
      adult,
      '--who',
      'student',
      '--channel',
      'paper',
      '--notice',
      'v1',
      '--date',
      '2026-09-03',
    );
    expect(c).toMatchObject({
      code: 0,
      json: { ok: true, record: { party: 'student', action: 'grant', effectiveAt: '2026-09-03' }, withdrawal: null },
    });
    await run(
      'consent',
      '--site',
      'lycee-a',
      '--student',
      minor,
      '--who',
      'student',
      '--channel',
      'paper',
      '--notice',
      'v1',
    );
    const show = await run('student', 'show', '--site', 'lycee-a', '--student', minor);
    expect(show.json.canEnrol).toEqual({
      ok: false,
      reason: 'consent-missing',
      missing: [
        { party: 'guardian1', state: 'none' },
        { party: 'guardian2', state: 'none' },
      ],
    });
    const refused = await run(
      'enrol',
      '--site',
      'lycee-a',
      '--student',
      minor,
      '--photo',
      facePhoto('Brian_Griese/Brian_Griese_0001.jpg'),
      '--qr-out',
      'x.png',
    );
    expect(refused).toMatchObject({ code: 1, json: { ok: false, error: { code: 'ENROL_ERR_CONSENT' } } });
    expect(existsSync(path.join(outDir, 'x.png'))).toBe(false);
  });

  it('enrols from a photo: card and QR carry the token with the key that opens the synced ciphertext', async () => {
    const photo = facePhoto('Brian_Griese/Brian_Griese_0001.jpg');
    expect((await run('enrol', '--site', 'lycee-a', '--student', adult, '--photo', photo)).code).toBe(2); // no output for the token
    const r = await run(
      'enrol',
      '--site',
      'lycee-a',
      '--student',
      adult,
      '--photo',
      photo,
      // the shared data set is read in place: never let the default deletion touch it
      '--keep-photo',
      '--card-out',
      'card.png',
      '--qr-out',
      'qr.png',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      credential: { biometric: true, siteCode: 1 },
      photoDeleted: false,
      idPhotoKept: false,
    });
    // the shared photo was only read
    expect(existsSync(photo)).toBe(true);
    for (const f of ['card.png', 'qr.png']) expect(statSync(path.join(outDir, f)).mode & 0o777).toBe(0o600);

    const site = await run('site', 'show', '--site', 'lycee-a');
    const keys = new Map<number, ReturnType<typeof publicKeyFromPem>>(
      (site.json.agentCredentials.publicKeys as { keyId: number; pem: string }[]).map((k) => [
        k.keyId,
        publicKeyFromPem(k.pem),
      ]),
    );
    const fromQr = await readQr(path.join(outDir, 'qr.png'));
    const fromCard = await readQr(path.join(outDir, 'card.png'));
    expect(Buffer.from(fromCard).equals(Buffer.from(fromQr))).toBe(true);
    const claims = decodeCredentialToken(fromQr, keys);
    expect(claims).toMatchObject({ ok: true, value: { credentialId: r.json.credential.credentialId, siteCode: 1 } });
    if (!claims.ok) return;

    const sync = await run('sync', '--site', 'lycee-a');
    expect(sync.json).toMatchObject({ ok: true, full: true, revocations: [] });
    const t = sync.json.templates[0] as Record<string, string>;
    const enc: EncryptedTemplate = {
      credentialId: t.credentialId!,
      modelId: t.modelId!,
      modelSha256: t.modelSha256!,
      encoding: t.encoding as 'f32',
      iv: new Uint8Array(Buffer.from(t.iv!, 'base64')),
      ciphertext: new Uint8Array(Buffer.from(t.ciphertext!, 'base64')),
      tag: new Uint8Array(Buffer.from(t.tag!, 'base64')),
    };
    expect(enc.credentialId).toBe(claims.value.credentialId);
    const norm = withDecryptedTemplate(enc, claims.value.templateKey!, (plain) => {
      const v = new Float32Array(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength));
      return Math.hypot(...v);
    });
    expect(norm).toBeCloseTo(1, 3);

    // the card of an enrolled student cannot be printed again
    const again = await run('card', '--site', 'lycee-a', '--student', adult, '--out', 'again.png');
    expect(again).toMatchObject({ code: 1, json: { error: { code: 'CREDENTIAL_ERR_KEY_NOT_KEPT' } } });
    expect(existsSync(path.join(outDir, 'again.png'))).toBe(false);
  });

  it('badge-only cards print on request, the same credential each time', async () => {
    const first = await run(
      'card',
      '--site',
      'lycee-a',
      '--student',
      adult2,
      '--out',
      'badge.png',
      '--title',
      'Lycée Victor-Hugo',
    );
    expect(first).toMatchObject({ code: 0, json: { credential: { biometric: false }, newlyIssued: true } });
    const token1 = await readQr(path.join(outDir, 'badge.png'));
    const second = await run('card', '--site', 'lycee-a', '--student', adult2, '--out', 'badge2.png');
    expect(second.json).toMatchObject({
      newlyIssued: false,
      credential: { credentialId: first.json.credential.credentialId },
    });
    expect(Buffer.from(await readQr(path.join(outDir, 'badge2.png'))).equals(Buffer.from(token1))).toBe(true);
  });

  it('withdrawal of consent deletes the biometrics; the old card is revoked in the next sync', async () => {
    const before = await run('sync', '--site', 'lycee-a');
    const w = await run(
      'consent',
      '--site',
      'lycee-a',
      '--student',
      adult,
      '--who',
      'student',
      '--channel',
      'email',
      '--notice',
      'v1',
      '--withdraw',
    );
    expect(w.code).toBe(0);
    expect(w.json.withdrawal.templatesDeleted).toHaveLength(1);
    const delta = await run('sync', '--site', 'lycee-a', '--since', String(before.json.version));
    expect(delta.json).toMatchObject({ full: false, revocations: w.json.withdrawal.templatesDeleted, templates: [] });
    const receipts = await run('receipts', '--site', 'lycee-a');
    expect((receipts.json.receipts as unknown[]).at(-1)).toMatchObject({
      reason: 'consent-withdrawn',
      actor: expect.stringMatching(/^cli:/),
    });
    // the replacement badge prints
    expect((await run('card', '--site', 'lycee-a', '--student', adult, '--out', 'replacement.png')).json).toMatchObject(
      {
        credential: { credentialId: w.json.withdrawal.replacement.id, biometric: false },
      },
    );
    const dep = await run('depart', '--site', 'lycee-a', '--student', adult2);
    expect(dep).toMatchObject({ code: 0, json: { credentialsRevoked: [expect.any(String)] } });
  });

  it('registers a visitor with a day pass; refuses the ID number unless the site allows it', async () => {
    const base = [
      'visitor',
      'add',
      '--site',
      'lycee-a',
      '--first-name',
      'Paul',
      '--last-name',
      'Durand',
      '--purpose',
      'livraison',
      '--host',
      'intendance',
      '--id-doc',
      'id_card',
    ];
    expect((await run(...base, '--id-number', 'X1')).json).toMatchObject({
      ok: false,
      error: { code: 'VISITOR_ERR_ID_NUMBER' },
    });
    const v = await run(...base, '--out', 'pass.png');
    expect(v).toMatchObject({ code: 0, json: { pass: { biometric: false } } });
    expect((await readQr(path.join(outDir, 'pass.png'))).length).toBe(74);
    expect((await run('site', 'set', '--site', 'lycee-a', '--set', 'visitorIdNumberAllowed=true')).json).toMatchObject({
      site: { settings: { visitorIdNumberAllowed: true } },
    });
    expect((await run(...base, '--id-number', 'X1')).code).toBe(0);
    expect((await run('site', 'set', '--site', 'lycee-a', '--set', 'ageOfMajority=12')).json).toMatchObject({
      ok: false,
      error: { code: 'PEOPLE_ERR_SITE_SETTINGS' },
    });
    expect((await run('site', 'set', '--site', 'lycee-a', '--set', 'colour=blue')).code).toBe(2);
  });

  it('rotates keys; audits every command by id, never by name; leaves no image in the data dir', async () => {
    const rot = await run('keys', 'rotate');
    expect(rot.json).toMatchObject({ rotated: { keyId: 2, current: true } });
    expect(rot.json.keys).toHaveLength(2);
    const { createAuditLog } = await import('../audit/audit-log.js');
    const { openDatabase } = await import('../store/database.js');
    const db = openDatabase({ dataDir });
    const rows = [...createAuditLog(db).iterate()];
    db.close();
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'people.import',
        'consent.grant',
        'people.enrol',
        'consent.withdraw',
        'people.visitor.add',
      ]),
    );
    expect(rows.find((r) => r.action === 'people.enrol' && r.outcome === 'ok')).toMatchObject({
      target: expect.stringMatching(/^student:\d+$/),
      site: 'lycee-a',
    });
    const text = JSON.stringify(rows);
    for (const s of students.slice(0, 3)) expect(text).not.toContain(s.lastName);
    const files = readdirSync(dataDir, { recursive: true }).map(String);
    expect(files.filter((f) => /\.(png|jpe?g)$/i.test(f))).toEqual([]);
    expect(files.sort()).toEqual(
      expect.arrayContaining(['keys', path.join('keys', 'credential-signing', 'key-1.pem'), 'portail.sqlite']),
    );
  });

  it('helpers: dispatch, progress line, photo destruction', () => {
    expect(peopleCommandOf(['--data-dir', 'import', 'user', 'add'])).toBeUndefined();
    expect(peopleCommandOf(['--data-dir', 'x', 'enrol', '--site', 's'])).toBe('enrol');
    expect(peopleCommandOf(['audit', 'verify'])).toBeUndefined();
    expect(progressLine({ phase: 'write', done: 50, total: 200 }, 10)).toBe('[###-------]  25% 50/200 write');
    const f = path.join(outDir, 'not-a-photo.bin');
    writeFileSync(f, Buffer.alloc(3_000_000, 7));
    destroyFile(f);
    expect(existsSync(f)).toBe(false);
  });

  it('the portail-admin entry point dispatches people commands', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--conditions=portail-src',
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'control-server/src/cli/portail-admin.ts'),
        '--data-dir',
        dataDir,
        'site',
        'show',
        '--site',
        'lycee-a',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, site: { siteCode: 1 } });
  });
});
