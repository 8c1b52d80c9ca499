import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import type { Logger } from 'pino';
import pino from 'pino';
import {
  auditChainStart,
  auditRowToJsonLine,
  createAuditLog,
  parseAuditJsonLine,
  verifyAuditRows,
  type AuditHead,
  type AuditRow,
} from '../audit/audit-log.js';
import { checkPasswordPolicy, hashPassword } from '../auth/password.js';
import { ALL_SITES, isRole, type Principal, type RoleGrant } from '../auth/permissions.js';
import { createLoginThrottleRepository } from '../repositories/login-throttle-repository.js';
import { createSessionRepository } from '../repositories/session-repository.js';
import { createUserRepository } from '../repositories/user-repository.js';
import { createAuthService } from '../services/auth-service.js';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** base for relative paths: npm sets INIT_CWD to where `npm run` was typed */
  cwd: string;
}

export const ADMIN_USAGE = `usage: portail-admin [--data-dir DIR] <command>

  user add --username NAME --role ROLE --site SITE [--role ROLE --site SITE]... [--password-file FILE]
      ROLE: reception | supervisor | site_admin | regional_it; SITE: a site id, or '*' (regional_it only).
      One --site for several --role gives each role at that site. The password is read from
      --password-file, else from standard input when it is not a terminal (first line), else prompted.
  user list
  user passwd --username NAME [--password-file FILE]     (ends the user's sessions)
  user unlock --username NAME                            (lifts a lockout after failed logins)
  user disable --username NAME | user enable --username NAME
  user totp-reset --username NAME                        (removes the second factor, e.g. a lost phone)
  audit verify [--expect-head SEQ:HASH] [--file EXPORT.jsonl [--start SEQ:HASH]]
      checks the hash chain; --expect-head also catches removed rows at the end. Exit 1 when broken.
      After the retention purge removed the oldest rows, the chain starts at its checkpoint (read from
      the database; for an export, give it with --start as printed by audit verify).
  audit export [--out FILE] [--site SITE]
      JSON lines in chain order (stdout by default); a full export verifies with --file.

  Other command groups, each with its own --help:
  people …   registry import, consent, enrolment, credentials, visitors, withdrawal
  privacy …  retention purge, a person's export and erasure, register, pilot
  agent …    provision / revoke / list edge agents (broker accounts, config bundles)
  mqtt …     Mosquitto password and ACL files, server account, TLS setup

  --data-dir: the server's dataDir (default: $PORTAIL_SERVER_DATA_DIR or .data/control-server)`;

class UsageError extends Error {}

function print(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** One line typed without echo (raw mode); Ctrl-C aborts. */
async function promptHidden(io: CliIo, question: string): Promise<string> {
  io.stderr.write(question);
  io.stdin.setRawMode?.(true);
  io.stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer | string): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            io.stdin.off('data', onData);
            io.stderr.write('\n');
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            io.stdin.off('data', onData);
            reject(new UsageError('aborted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      io.stdin.on('data', onData);
    });
  } finally {
    io.stdin.setRawMode?.(false);
    io.stdin.pause();
  }
}

async function readNewPassword(io: CliIo, file: string | undefined): Promise<string> {
  if (file) return readFileSync(path.resolve(io.cwd, file), 'utf8').split(/\r?\n/)[0] ?? '';
  if (!io.stdin.isTTY) return (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
  const first = await promptHidden(io, 'password: ');
  const again = await promptHidden(io, 'password again: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

function parseHead(text: string): AuditHead {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!m) throw new UsageError('--expect-head must be SEQ:HASH (64 hex digits), as printed by audit verify');
  return { seq: Number(m[1]), hash: m[2]! };
}

function cliPrincipal(): Principal {
  let who = 'unknown';
  try {
    who = userInfo().username;
  } catch {
    // no passwd entry for this uid (some containers): keep "unknown"
  }
  // whoever can write the database file is trusted with it: the CLI is allowed every grant
  return { userId: null, username: `cli:${who}`, grants: [], authDisabled: true };
}

/** The admin CLI as a function, for tests; `portail-admin.ts` wires it to the process. */
export async function runAdminCli(
  argv: readonly string[],
  io: CliIo,
  logger: Logger = pino({ level: 'silent' }),
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        username: { type: 'string' },
        role: { type: 'string', multiple: true },
        site: { type: 'string', multiple: true },
        'password-file': { type: 'string' },
        'expect-head': { type: 'string' },
        start: { type: 'string' },
        file: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    print(io.stderr, `${(err as Error).message}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const v = parsed.values as {
    'data-dir'?: string;
    username?: string;
    role?: string[];
    site?: string[];
    'password-file'?: string;
    'expect-head'?: string;
    start?: string;
    file?: string;
    out?: string;
    help?: boolean;
  };
  const [group, command, ...extra] = parsed.positionals;
  if (v.help || !group) {
    print(v.help ? io.stdout : io.stderr, ADMIN_USAGE);
    return v.help ? 0 : 2;
  }
  const dataDir = path.resolve(io.cwd, v['data-dir'] ?? io.env.PORTAIL_SERVER_DATA_DIR ?? '.data/control-server');
  const actor = cliPrincipal();

  try {
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra.join(' ')}`);
    if (group === 'audit' && command === 'verify') return await auditVerify();
    const db = openDatabase({ dataDir });
    try {
      const users = createUserRepository(db);
      const audit = createAuditLog(db);
      const service = createAuthService({
        users,
        sessions: createSessionRepository(db),
        throttle: createLoginThrottleRepository(db),
        audit,
        // unused by the CLI (no login here); required by the service
        policy: {
          idleTimeoutMs: 1,
          absoluteTimeoutMs: 1,
          maxFailedLogins: 1,
          lockoutMs: 1,
          loginAttemptsPerIp: 1,
          loginWindowMs: 1,
        },
        logger,
      });
      const needUser = () => {
        if (!v.username) throw new UsageError('--username is required');
        const u = users.getByUsername(v.username);
        if (!u) throw new UsageError(`no user ${v.username}`);
        return u;
      };
      const nowIso = () => new Date().toISOString();
      const auditCli = (action: string, target: string, details: Record<string, unknown> = {}) =>
        audit.append({ actor: actor.username, action, outcome: 'ok', target, site: null, details });

      switch (`${group} ${command ?? ''}`) {
        case 'user add': {
          if (!v.username) throw new UsageError('--username is required');
          const roles = v.role ?? [];
          const sites = v.site ?? [];
          if (roles.length === 0) throw new UsageError('at least one --role is required');
          if (sites.length !== roles.length && sites.length !== 1) {
            throw new UsageError('give one --site for all roles, or one --site per --role');
          }
          const grants: RoleGrant[] = roles.map((role, i) => {
            if (!isRole(role)) throw new UsageError(`unknown role ${role}`);
            return { role, site: sites.length === 1 ? sites[0]! : sites[i]! };
          });
          const password = await readNewPassword(io, v['password-file']);
          const created = await service.createUser(actor, { username: v.username, password, roles: grants }, null);
          if (!created.ok) throw new UsageError(created.error.message);
          print(
            io.stdout,
            `created user ${created.value.username} (id ${created.value.id}): ${created.value.roles.map((g) => `${g.role}@${g.site}`).join(', ')}`,
          );
          return 0;
        }
        case 'user list': {
          for (const u of users.list()) {
            const lock = createLoginThrottleRepository(db).get(u.username.toLowerCase());
            const locked =
              lock?.lockedUntil && Date.parse(lock.lockedUntil) > Date.now() ? ` locked until ${lock.lockedUntil}` : '';
            print(
              io.stdout,
              `${u.id}\t${u.username}\t${u.roles.map((g) => `${g.role}@${g.site}`).join(',')}${u.disabled ? '\tdisabled' : ''}${u.totpEnabled ? '\ttotp' : ''}${locked}`,
            );
          }
          auditCli('users.read', `users:${users.count()}`);
          return 0;
        }
        case 'user passwd': {
          const u = needUser();
          const password = await readNewPassword(io, v['password-file']);
          const problem = checkPasswordPolicy(password, u.username);
          if (problem) throw new UsageError(`password rejected: ${problem} (at least 12 characters, not the username)`);
          users.setPasswordHash(u.id, await hashPassword(password), nowIso());
          const ended = createSessionRepository(db).deleteForUser(u.id);
          auditCli('user.passwd', `user:${u.id}`, { sessionsEnded: ended });
          print(io.stdout, `password of ${u.username} changed; ${ended} session(s) ended`);
          return 0;
        }
        case 'user unlock': {
          const u = needUser();
          createLoginThrottleRepository(db).clear(u.username.toLowerCase());
          auditCli('user.unlock', `user:${u.id}`);
          print(io.stdout, `${u.username} unlocked`);
          return 0;
        }
        case 'user disable':
        case 'user enable': {
          const u = needUser();
          const disable = command === 'disable';
          users.setDisabled(u.id, disable, nowIso());
          const ended = disable ? createSessionRepository(db).deleteForUser(u.id) : 0;
          auditCli(disable ? 'user.disable' : 'user.enable', `user:${u.id}`, { sessionsEnded: ended });
          print(io.stdout, `${u.username} ${disable ? 'disabled' : 'enabled'}`);
          return 0;
        }
        case 'user totp-reset': {
          const u = needUser();
          users.setTotpSecret(u.id, null, nowIso());
          const ended = createSessionRepository(db).deleteForUser(u.id);
          auditCli('user.totp.reset', `user:${u.id}`, { sessionsEnded: ended });
          print(io.stdout, `second factor of ${u.username} removed; ${ended} session(s) ended`);
          return 0;
        }
        case 'audit export': {
          const site = v.site?.[0];
          const out = v.out ? createWriteStream(path.resolve(io.cwd, v.out)) : io.stdout;
          // the export itself is recorded first, so it is part of what it exports
          auditCli('audit.export', site ? `site:${site}` : 'all', { site: site ?? ALL_SITES });
          let n = 0;
          for (const row of audit.iterate(site ? { site } : {})) {
            out.write(`${auditRowToJsonLine(row)}\n`);
            n += 1;
          }
          if (out !== io.stdout) {
            await new Promise<void>((resolve, reject) =>
              (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) =>
                err ? reject(err) : resolve(),
              ),
            );
          }
          const start = auditChainStart(db);
          const from = start.seq > 0 ? `; chain starts after retention checkpoint ${start.seq}:${start.hash}` : '';
          print(io.stderr, `exported ${n} row(s); head ${audit.head().seq}:${audit.head().hash}${from}`);
          return 0;
        }
        default:
          throw new UsageError(`unknown command: ${group} ${command ?? ''}`);
      }
    } finally {
      db.close();
    }
  } catch (err) {
    if (err instanceof UsageError) {
      print(io.stderr, `portail-admin: ${err.message}`);
      return 2;
    }
    throw err;
  }

  /** Read-only: a copy of a database can be checked without changing it. */
  async function auditVerify(): Promise<number> {
    const expect = v['expect-head'] ? parseHead(v['expect-head']) : undefined;
    let start = v.start ? parseHead(v.start) : undefined;
    let result;
    let source: string;
    if (v.file) {
      source = path.resolve(io.cwd, v.file);
      const lines = readFileSync(source, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      result = verifyAuditRows(lines.map(parseAuditJsonLine), expect, start);
    } else {
      if (start) throw new UsageError('--start goes with --file: the database holds its own checkpoint');
      source = path.join(dataDir, DB_FILE_NAME);
      if (!existsSync(source)) throw new UsageError(`no database at ${source}`);
      const db = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
      try {
        const rows = function* (): Generator<AuditRow> {
          for (const r of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate()) {
            const x = r as Record<string, unknown>;
            yield {
              seq: x.seq as number,
              ts: x.ts as string,
              actor: x.actor as string,
              role: x.role as string | null,
              site: x.site as string | null,
              action: x.action as string,
              target: x.target as string | null,
              outcome: x.outcome as AuditRow['outcome'],
              ip: x.ip as string | null,
              details: JSON.parse(x.details as string) as Record<string, unknown>,
              prevHash: x.prev_hash as string,
              hash: x.hash as string,
            };
          }
        };
        start = auditChainStart(db);
        result = verifyAuditRows(rows(), expect, start);
      } finally {
        db.close();
      }
    }
    if (result.ok) {
      const from = start && start.seq > 0 ? ` after retention checkpoint ${start.seq}:${start.hash}` : '';
      print(
        io.stdout,
        `audit log OK: ${result.rows} row(s)${from} in ${source}; head ${result.head.seq}:${result.head.hash}`,
      );
      return 0;
    }
    print(io.stderr, `audit log BROKEN at row ${result.seq}: ${result.reason} (${source})`);
    return 1;
  }
}
