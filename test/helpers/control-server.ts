import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, startControlServer, type ConfigInput, type ControlServer } from '@portail/control-server';
import { REPO_ROOT } from './paths.js';

export interface TestServer {
  server: ControlServer;
  dataDir: string;
  dbPath: string;
}

export interface StartTestServerOptions {
  externalMqttUrl?: string;
  dataDir?: string;
  /**
   * `disabled` (the default): no accounts, as the ingest, live-feed and console tests that do not log
   * in expect. `required`: the production mode, with sessions, CSRF and roles; create accounts with
   * `addUser` or `bootstrapAdmin`.
   */
  authMode?: 'disabled' | 'required';
  /** other `auth.*` settings (lockout, timeouts) when `authMode` is `required` */
  auth?: Omit<NonNullable<ConfigInput['auth']>, 'mode'>;
  ws?: ConfigInput['ws'];
  /** camera settings (`allowFileUrls` is on by default here) */
  cameras?: ConfigInput['cameras'];
  /** a regional_it on every site created at startup through PORTAIL_BOOTSTRAP_ADMIN */
  bootstrapAdmin?: { username: string; password: string };
  /**
   * Fixed ports (default: ephemeral), to restart a server where its clients expect it: same `dataDir`,
   * same HTTP port for the consoles, same embedded broker port for the agents.
   */
  httpPort?: number;
  mqttPort?: number;
}

/** A real control server on ephemeral ports with a temp SQLite file; embedded broker unless a URL is given. */
export async function startTestServer(opts: StartTestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'portail-server-'));
  const authMode = opts.authMode ?? 'disabled';
  const config = makeConfig({
    dataDir,
    http: { host: '127.0.0.1', port: opts.httpPort ?? 0 },
    mqtt: opts.externalMqttUrl
      ? { mode: 'external', url: opts.externalMqttUrl, clientId: `portail-test-${process.pid}-${Date.now()}` }
      : { mode: 'embedded', host: '127.0.0.1', port: opts.mqttPort ?? 0 },
    consoleDir: join(REPO_ROOT, 'console', 'dist'),
    log: { level: process.env.PORTAIL_TEST_LOG ?? 'silent' },
    // most tests exercise ingest, the live feed and the console without logging in; accounts, roles
    // and scoping have their own tests (control-server/src/http/*.test.ts, test/e2e/console-auth)
    auth: authMode === 'required' ? { ...opts.auth, mode: 'required' } : { mode: 'disabled' },
    ...(opts.ws ? { ws: opts.ws } : {}),
    // tests register generated clips and sample files as camera sources (snapshots, preview, capture)
    cameras: { allowFileUrls: true, ...opts.cameras },
  });
  const env = { ...process.env };
  delete env.PORTAIL_BOOTSTRAP_ADMIN;
  const bootstrapFile = opts.bootstrapAdmin ? writePasswordFile(opts.bootstrapAdmin.password) : null;
  if (opts.bootstrapAdmin) env.PORTAIL_BOOTSTRAP_ADMIN = `${opts.bootstrapAdmin.username}:${bootstrapFile}`;
  let server: ControlServer;
  try {
    server = await startControlServer(config, { env });
  } finally {
    // read once at startup
    if (bootstrapFile) rmSync(join(bootstrapFile, '..'), { recursive: true, force: true });
  }
  return { server, dataDir, dbPath: join(dataDir, 'portail.sqlite') };
}

/** A password as the demo makes them: 16 random characters, base64url. */
export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** A 0600 file holding the password, in its own temp folder (the CLI and bootstrap read files, never argv). */
function writePasswordFile(password: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portail-pw-'));
  const file = join(dir, 'password');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

export interface AdminCliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real `portail-admin` CLI (its TypeScript sources through tsx) in a child process, on the same
 * data dir as a running server: the way an administrator adds accounts, and the proof that the CLI
 * and the server can share the SQLite file (WAL, busy timeout).
 */
export function runAdminCli(dataDir: string, args: readonly string[]): Promise<AdminCliResult> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=portail-src',
      '--import',
      'tsx',
      join(REPO_ROOT, 'control-server/src/cli/portail-admin.ts'),
      '--data-dir',
      dataDir,
      ...args,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface TestUser {
  username: string;
  password: string;
}

/**
 * Create an account with `portail-admin user add` (one role at one site; a random password unless
 * given). Throws with the CLI's output when it refuses.
 */
export async function addUser(
  dataDir: string,
  user: {
    username: string;
    role: 'reception' | 'supervisor' | 'site_admin' | 'regional_it';
    site: string;
    password?: string;
  },
): Promise<TestUser> {
  const password = user.password ?? randomPassword();
  const file = writePasswordFile(password);
  try {
    const res = await runAdminCli(dataDir, [
      'user',
      'add',
      '--username',
      user.username,
      '--role',
      user.role,
      '--site',
      user.site,
      '--password-file',
      file,
    ]);
    if (res.code !== 0) throw new Error(`portail-admin user add ${user.username} exited ${res.code}: ${res.stderr}`);
  } finally {
    rmSync(join(file, '..'), { recursive: true, force: true });
  }
  return { username: user.username, password };
}
