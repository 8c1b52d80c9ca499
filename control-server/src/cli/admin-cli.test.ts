import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../auth/password.js';
import { createUserRepository } from '../repositories/user-repository.js';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';
import { makeTempDir } from '../test-support/fixtures.js';
import { runAdminCli } from './admin-cli.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('portail-admin', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  async function run(args: string[], stdinText = ''): Promise<Run> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await runAdminCli(['--data-dir', tmp.dir, ...args], {
      stdin: Readable.from([stdinText]),
      stdout,
      stderr,
      env: {},
      cwd: tmp.dir,
    });
    return { code, stdout: out, stderr: err };
  }

  it('adds a user with the password from stdin, hashed, never echoed', async () => {
    const res = await run(
      ['user', 'add', '--username', 'accueil1', '--role', 'reception', '--role', 'supervisor', '--site', 'lycee-a'],
      'passphrase for the gate desk\n',
    );
    expect(res).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/created user accueil1 .*reception@lycee-a, supervisor@lycee-a/),
    });
    expect(res.stdout + res.stderr).not.toContain('passphrase for the gate desk');
    const db = openDatabase({ dataDir: tmp.dir });
    const creds = createUserRepository(db).credentials('accueil1')!;
    expect(creds.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(creds.passwordHash, 'passphrase for the gate desk')).toBe(true);
    db.close();
    expect((await run(['user', 'list'])).stdout).toMatch(/accueil1\treception@lycee-a,supervisor@lycee-a/);
  });

  it('refuses a weak password, a site role on *, and an unknown role, with exit code 2', async () => {
    expect(
      await run(['user', 'add', '--username', 'a1', '--role', 'reception', '--site', 's1'], 'short\n'),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/at least 12 characters/),
    });
    expect(
      (
        await run(
          ['user', 'add', '--username', 'a2', '--role', 'site_admin', '--site', '*'],
          'a long enough passphrase\n',
        )
      ).stderr,
    ).toMatch(/only regional_it/);
    expect((await run(['user', 'add', '--username', 'a3', '--role', 'janitor', '--site', 's1'], 'x\n')).code).toBe(2);
  });

  it('reads the password from a file and creates a global regional IT', async () => {
    writeFileSync(path.join(tmp.dir, 'pw'), 'regional it passphrase\n');
    const res = await run([
      'user',
      'add',
      '--username',
      'dsi',
      '--role',
      'regional_it',
      '--site',
      '*',
      '--password-file',
      'pw',
    ]);
    expect(res.stdout).toMatch(/regional_it@\*/);
  });

  it('verifies the audit chain, exports it as JSON lines, and fails once a row is altered', async () => {
    await run(['user', 'add', '--username', 'adm1', '--role', 'site_admin', '--site', 's1'], 'site admin passphrase\n');
    await run(['user', 'unlock', '--username', 'adm1']);
    await run(['user', 'disable', '--username', 'adm1']);
    const ok = await run(['audit', 'verify']);
    expect(ok.code).toBe(0);
    const head = /head (\d+:[0-9a-f]{64})/.exec(ok.stdout)![1]!;
    expect(head.startsWith('3:')).toBe(true);

    const exported = await run(['audit', 'export', '--out', 'audit.jsonl']);
    expect(exported.code).toBe(0);
    const lines = readFileSync(path.join(tmp.dir, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { action: string }).action)).toEqual([
      'user.create',
      'user.unlock',
      'user.disable',
      'audit.export',
    ]);
    expect((await run(['audit', 'verify', '--file', 'audit.jsonl'])).code).toBe(0);
    expect((await run(['audit', 'verify', '--expect-head', head])).code).toBe(0);

    // an edited export fails
    const edited = lines.map((l, i) => (i === 1 ? l.replace('"cli:', '"cli:x') : l)).join('\n');
    writeFileSync(path.join(tmp.dir, 'edited.jsonl'), edited);
    expect(await run(['audit', 'verify', '--file', 'edited.jsonl'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/BROKEN at row 2/),
    });

    // someone with the file drops the append-only trigger and rewrites a row
    const raw = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("UPDATE audit_log SET target = 'user:999' WHERE seq = 1").run();
    raw.close();
    expect(await run(['audit', 'verify'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/BROKEN at row 1: hash/),
    });
  });

  it('catches a truncated tail only against the expected head', async () => {
    await run(['user', 'add', '--username', 'adm1', '--role', 'site_admin', '--site', 's1'], 'site admin passphrase\n');
    await run(['user', 'unlock', '--username', 'adm1']);
    const head = /head (\d+:[0-9a-f]{64})/.exec((await run(['audit', 'verify'])).stdout)![1]!;
    const raw = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    raw.exec('DROP TRIGGER audit_log_no_delete');
    raw.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    raw.close();
    expect((await run(['audit', 'verify'])).code).toBe(0);
    expect(await run(['audit', 'verify', '--expect-head', head])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/removed/),
    });
  });

  it('removes a second factor', async () => {
    await run(['user', 'add', '--username', 'adm1', '--role', 'site_admin', '--site', 's1'], 'site admin passphrase\n');
    const db = openDatabase({ dataDir: tmp.dir });
    const users = createUserRepository(db);
    users.setTotpSecret(users.getByUsername('adm1')!.id, 'JBSWY3DPEHPK3PXP', new Date().toISOString());
    expect(users.getByUsername('adm1')!.totpEnabled).toBe(true);
    expect((await run(['user', 'totp-reset', '--username', 'adm1'])).code).toBe(0);
    expect(users.getByUsername('adm1')!.totpEnabled).toBe(false);
    db.close();
  });

  it('prints usage on an unknown command', async () => {
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command/) });
    expect((await run(['--help'])).stdout).toMatch(/usage: portail-admin/);
  });
});
