import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/audit-log.js';
import { findStudent } from '../people/people-store.js';
import { importRegistry } from '../people/registry-import.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from '../people/testing.js';
import { isPrivacyCommand, runPrivacyCli } from './privacy-cli.js';

// the CLI's JSON output, navigated freely by the assertions
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('portail-admin privacy commands (real SQLite)', () => {
  let env: PeopleTestEnv;
  const outDir = mkdtempSync(path.join(tmpdir(), 'portail-privacy-cli-out-'));
  const students = generateStudents(3, 31);
  const now = () => new Date('2026-03-02T10:00:00.000Z');

  async function run(...args: string[]): Promise<{ code: number; out: string; json: Json; err: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await runPrivacyCli(
      ['--data-dir', env.dataDir, 'privacy', ...args],
      { stdout, stderr, env: {}, cwd: outDir },
      { now },
    );
    let json: Json = null;
    try {
      json = JSON.parse(out);
    } catch {
      // Markdown or usage text: the assertions read `out`
    }
    return { code, out, json, err };
  }

  beforeAll(() => {
    env = openPeopleTestEnv('portail-privacy-cli-');
    expect(
      importRegistry(env.db, { site: 'lycee', bytes: Buffer.from(registryCsv(students)), actor: 'test', now: now() })
        .ok,
    ).toBe(true);
  });
  afterAll(() => {
    env.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('recognises its commands after --data-dir', () => {
    expect(isPrivacyCommand(['--data-dir', 'x', 'privacy', 'purge'])).toBe(true);
    expect(isPrivacyCommand(['privacy'])).toBe(true);
    expect(isPrivacyCommand(['--data-dir', 'privacy', 'audit', 'verify'])).toBe(false);
    expect(isPrivacyCommand(['erase', '--site', 's'])).toBe(false);
  });

  it('sets and shows the retention policy, refusing values beyond the limits', async () => {
    const set = await run('retention', 'set', '--site', 'lycee', '--access-events-days', '14', '--visitors-days', '60');
    expect(set.code).toBe(0);
    expect(set.json.retention.policy).toMatchObject({ accessEventsDays: 14, visitorsDays: 60 });
    const over = await run('retention', 'set', '--site', 'lycee', '--access-events-days', '120');
    expect(over.code).toBe(1);
    expect(over.json.error.code).toBe('RETENTION_ERR_INVALID');
    expect((await run('retention', 'set', '--server', '--audit-log-days', '90')).code).toBe(1);
    expect((await run('retention', 'set', '--server', '--audit-log-days', '365')).json.server).toEqual({
      auditLogDays: 365,
    });
    const show = await run('retention', 'show', '--site', 'lycee');
    expect(show.json.retention.policy.accessEventsDays).toBe(14);
    expect((await run('retention', 'set', '--site', 'lycee')).code).toBe(2);
  });

  it('exports a student to private files and audits it with ids only', async () => {
    const ext = students[0]!.externalId;
    const r = await run(
      'export',
      '--site',
      'lycee',
      '--student',
      ext,
      '--out',
      'eleve.json',
      '--summary-out',
      'eleve.md',
    );
    expect(r.code).toBe(0);
    const json = path.join(outDir, 'eleve.json');
    expect(statSync(json).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(json, 'utf8')).student.externalId).toBe(ext);
    expect(readFileSync(path.join(outDir, 'eleve.md'), 'utf8')).toContain(`| Nom | ${students[0]!.lastName} |`);
    const row = [...createAuditLog(env.db).iterate()].filter((x) => x.action === 'people.export').at(-1)!;
    expect(row.actor).toMatch(/^cli:/);
    expect(row.target).toBe(`student:${findStudent(env.db, 'lycee', ext)!.id}`);
    expect(JSON.stringify(row)).not.toContain(students[0]!.lastName);
    const missing = await run('export', '--site', 'lycee', '--student', 'E999999');
    expect(missing.code).toBe(1);
  });

  it('prints the register, declares a pilot, gives equal-service figures, purges', async () => {
    const reg = await run('register', '--site', 'lycee');
    expect(reg.code).toBe(0);
    expect(reg.out).toContain('# Registre des activités de traitement — site `lycee`');
    expect(reg.out).toContain('| Passages aux portails | 14 jours | 90 jours | purge automatique |');
    const info = await run(
      'register-info',
      '--site',
      'lycee',
      '--dpo',
      'dpo@ac.fr',
      '--processor',
      'Région;maintenance;France',
    );
    expect(info.json.registerInfo).toEqual({
      dpoContact: 'dpo@ac.fr',
      processors: [{ name: 'Région', service: 'maintenance', location: 'France' }],
    });
    const pilot = await run(
      'pilot',
      'set',
      '--site',
      'lycee',
      '--ends-on',
      '2026-06-30',
      '--max-mismatch-rate',
      '0.02',
    );
    expect(pilot.code).toBe(0);
    expect(pilot.json).toMatchObject({
      created: true,
      state: 'running',
      pilot: { criteria: { maxMismatchRate: 0.02 } },
    });
    const es = await run('equal-service', '--site', 'lycee', '--from', '2026-02-01');
    expect(es.json).toMatchObject({
      site: 'lycee',
      from: '2026-02-01T00:00:00.000Z',
      to: now().toISOString(),
      gates: [],
    });
    const purge = await run('purge');
    expect(purge.code).toBe(0);
    expect((purge.json.sites as Array<{ site: string }>).map((s) => s.site)).toContain('lycee');
  });

  it('erases a student on request', async () => {
    const ext = students[1]!.externalId;
    const r = await run('erase', '--site', 'lycee', '--student', ext);
    expect(r.code).toBe(0);
    expect(r.json.receipt).toMatchObject({ reason: 'erasure-request' });
    expect(findStudent(env.db, 'lycee', ext)).toBeUndefined();
    expect((await run('erase', '--site', 'lycee', '--student', ext)).code).toBe(1);
    expect((await run('erase', '--site', 'lycee')).code).toBe(2);
  });
});
