import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { cliActor, parseCommandLine, print, Refused, reportFailure, UsageError } from './cli-common.js';
import { createAuditLog, type AuditEntry } from '../audit/audit-log.js';
import { openSigningKeyStore } from '../people/signing-key-store.js';
import { createPrivacyService, type PrivacyService } from '../privacy/privacy-service.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { openDatabase } from '../store/database.js';

/**
 * The privacy commands of `portail-admin` (`portail-admin privacy …`): retention policy and purge,
 * a student's export and erasure, the register, pilot mode, equal-service figures. Each prints one
 * JSON object on stdout (`{"ok":true,…}`, exit 0; `{"ok":false,"error":…}`, exit 1), except
 * `register` without `--json`, which prints the Markdown. Usage errors exit 2, failures 3. Every
 * command is written to the audit log as `cli:<os user>`.
 */
export interface PrivacyCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** base for relative paths */
  cwd: string;
}

export const PRIVACY_USAGE = `privacy commands (portail-admin [--data-dir DIR] privacy <command>):

  retention show --site S
  retention set --site S [--access-events-days N] [--movement-events-days N] [--camera-events-days N]
                [--visitors-days N] [--departed-students-days N]
  retention set --server --audit-log-days N           the audit log (one chain for every site): 183 to 1095
  purge [--site S]...                                  the retention purge now; without --site, every site and the audit log
  export --site S --student ID [--out FILE.json] [--summary-out FILE.md]
      everything held about a student (registry id), JSON + French summary; files are written mode 0600
  erase --site S --student ID [--keep-events]          erasure on request (receipts); --keep-events keeps the passages
  register --site S [--out FILE.md] [--json]           register of processing / impact-assessment facts (Markdown)
  register-info --site S [--controller TEXT] [--representative TEXT] [--dpo TEXT]
                [--processor "NAME;SERVICE;LOCATION"]...
  pilot show --site S
  pilot set --site S --ends-on YYYY-MM-DD [--starts-on YYYY-MM-DD] [--min-passages N]
            [--max-mismatch-rate R] [--max-biometric-median-ms MS]
  equal-service --site S [--from DATE] [--to DATE]    time-to-verdict per gate, badge-only vs biometric (default: 30 days)

  The register printed here lacks the cameras' location types (the server learns them from MQTT):
  GET /api/sites/:site/privacy/register on the running server has them.`;

const DAY_MS = 86_400_000;

/** `privacy` is the first positional argument (after `--data-dir DIR`). */
export function isPrivacyCommand(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') {
      i += 1;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a === 'privacy';
  }
  return false;
}

const RETENTION_FLAGS = {
  'access-events-days': 'accessEventsDays',
  'movement-events-days': 'movementEventsDays',
  'camera-events-days': 'cameraEventsDays',
  'visitors-days': 'visitorsDays',
  'departed-students-days': 'departedStudentsDays',
} as const;

export async function runPrivacyCli(
  argv: readonly string[],
  io: PrivacyCliIo,
  opts: { logger?: Logger; now?: () => Date } = {},
): Promise<number> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const cmd = parseCommandLine(
    argv,
    {
      'data-dir': { type: 'string' },
      site: { type: 'string', multiple: true },
      student: { type: 'string' },
      server: { type: 'boolean' },
      out: { type: 'string' },
      'summary-out': { type: 'string' },
      json: { type: 'boolean' },
      'keep-events': { type: 'boolean' },
      controller: { type: 'string' },
      representative: { type: 'string' },
      dpo: { type: 'string' },
      processor: { type: 'string', multiple: true },
      'ends-on': { type: 'string' },
      'starts-on': { type: 'string' },
      'min-passages': { type: 'string' },
      'max-mismatch-rate': { type: 'string' },
      'max-biometric-median-ms': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'audit-log-days': { type: 'string' },
      ...Object.fromEntries(Object.keys(RETENTION_FLAGS).map((k) => [k, { type: 'string' as const }])),
    },
    PRIVACY_USAGE,
    io,
  );
  if (typeof cmd === 'number') return cmd;
  const { values, positionals, str } = cmd;
  // positionals[0] is "privacy"
  const [, command, sub] = positionals;
  const sites = (values.site as string[] | undefined) ?? [];
  const oneSite = (): string => {
    if (sites.length !== 1) throw new UsageError('--site S is required (once)');
    return sites[0]!;
  };
  const int = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: a whole number`);
    return Number(v);
  };
  const num = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name}: a number`);
    return n;
  };
  const resolvePath = (p: string) => path.resolve(io.cwd, p);
  const dataDir = resolvePath(str('data-dir') ?? io.env.PORTAIL_SERVER_DATA_DIR ?? '.data/control-server');
  const actor = cliActor();
  const now = opts.now ?? (() => new Date());
  const audit: Omit<AuditEntry, 'actor' | 'outcome'> = {
    action: `privacy.${command ?? 'none'}${sub ? `.${sub}` : ''}`,
  };
  const check = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
    if (!r.ok) throw new Refused(r.error);
    return r.value;
  };
  const studentOf = (p: PrivacyService, site: string): number => {
    const ext = str('student');
    if (!ext) throw new UsageError('--student ID (the registry id) is required');
    const s = p.findStudent(site, ext);
    if (!s) throw new Refused({ code: 'PRIVACY_ERR_STUDENT', message: `no student ${ext} at site ${site}` });
    audit.target = `student:${s.id}`;
    return s.id;
  };
  let rawOutput: string | null = null;

  const run = async (p: PrivacyService): Promise<Record<string, unknown>> => {
    switch (command) {
      case 'retention': {
        if (sub === 'show') {
          const site = oneSite();
          audit.site = site;
          return { retention: p.retention(site) };
        }
        if (sub !== 'set') throw new UsageError('retention show | retention set');
        if (values.server) {
          const days = int('audit-log-days');
          if (days === undefined) throw new UsageError('retention set --server --audit-log-days N');
          audit.action = 'retention.set';
          audit.site = '*';
          const r = check(p.setServerRetention({ auditLogDays: days }, actor));
          audit.details = { ...r };
          return { server: r.after };
        }
        const site = oneSite();
        const patch = Object.fromEntries(
          Object.entries(RETENTION_FLAGS)
            .map(([flag, key]) => [key, int(flag)] as const)
            .filter(([, v]) => v !== undefined),
        );
        if (Object.keys(patch).length === 0) throw new UsageError('retention set needs at least one --…-days N');
        audit.action = 'retention.set';
        audit.site = site;
        audit.target = `site:${site}`;
        const r = check(p.setRetention(site, patch, actor));
        audit.details = { ...r };
        return { retention: p.retention(site) };
      }
      case 'purge': {
        audit.action = 'retention.purge.request';
        audit.site = sites.length === 1 ? sites[0]! : '*';
        const report = await p.runPurge({ trigger: 'manual', actor, ...(sites.length ? { sites } : {}) });
        return {
          at: report.at,
          totalDeleted: report.totalDeleted,
          sites: report.sites.map((s) => ({
            site: s.site,
            deleted: s.deleted,
            cutoffs: s.cutoffs,
            pilotEnded: s.pilotEnded,
          })),
          auditLog: report.auditLog,
        };
      }
      case 'export': {
        const site = oneSite();
        audit.action = 'people.export';
        audit.site = site;
        const x = check(p.exportStudent(site, studentOf(p, site)));
        const files: Record<string, string> = {};
        // personal data: only the owner may read the files
        if (str('out')) {
          writeFileSync(resolvePath(str('out')!), `${JSON.stringify(x.export, null, 2)}\n`, { mode: 0o600 });
          files.json = resolvePath(str('out')!);
        }
        if (str('summary-out')) {
          writeFileSync(resolvePath(str('summary-out')!), x.markdown, { mode: 0o600 });
          files.summary = resolvePath(str('summary-out')!);
        }
        audit.details = { credentials: x.export.credentials.length, accessEvents: x.export.accessEvents.length };
        return Object.keys(files).length ? { files } : { export: x.export, summary: x.markdown };
      }
      case 'erase': {
        const site = oneSite();
        audit.action = 'people.erase';
        audit.site = site;
        const keepEvents = values['keep-events'] === true;
        const r = check(p.eraseStudent(site, studentOf(p, site), { actor, keepEvents }));
        const w = r.withdrawal;
        audit.details = {
          reason: 'erasure-request',
          credentialsRevoked: w.credentialsRevoked,
          templatesDeleted: w.templatesDeleted,
          idPhotoDeleted: w.idPhotoDeleted,
          accessEventsDeleted: r.accessEventsDeleted,
          keepEvents,
          receiptId: w.receipt?.id ?? null,
        };
        return {
          studentId: r.studentId,
          credentialsRevoked: w.credentialsRevoked,
          templatesDeleted: w.templatesDeleted,
          idPhotoDeleted: w.idPhotoDeleted,
          accessEventsDeleted: r.accessEventsDeleted,
          receipt: w.receipt,
        };
      }
      case 'register': {
        const site = oneSite();
        audit.action = 'register.export';
        audit.site = site;
        audit.target = `site:${site}`;
        const { inputs, markdown } = p.register(site);
        if (str('out')) {
          writeFileSync(resolvePath(str('out')!), values.json ? `${JSON.stringify(inputs, null, 2)}\n` : markdown);
          return { file: resolvePath(str('out')!) };
        }
        if (values.json) return { register: inputs };
        rawOutput = markdown;
        return {};
      }
      case 'register-info': {
        const site = oneSite();
        audit.action = 'register.info.set';
        audit.site = site;
        const patch: Record<string, unknown> = {};
        if (str('controller')) patch.controller = str('controller');
        if (str('representative')) patch.representative = str('representative');
        if (str('dpo')) patch.dpoContact = str('dpo');
        const processors = (values.processor as string[] | undefined) ?? [];
        if (processors.length) {
          patch.processors = processors.map((text) => {
            const [name, service, location] = text.split(';').map((x) => x.trim());
            if (!name || !service || !location) throw new UsageError(`--processor "NAME;SERVICE;LOCATION": ${text}`);
            return { name, service, location };
          });
        }
        if (Object.keys(patch).length === 0) return { registerInfo: p.registerInfo(site) };
        audit.details = { fields: Object.keys(patch).sort() };
        return { registerInfo: check(p.setRegisterInfo(site, patch, actor)) };
      }
      case 'pilot': {
        const site = oneSite();
        audit.site = site;
        if (sub === 'show' || sub === undefined) return { ...p.pilot(site) };
        if (sub !== 'set') throw new UsageError('pilot show | pilot set');
        const endsOn = str('ends-on');
        if (!endsOn) throw new UsageError('pilot set --ends-on YYYY-MM-DD');
        const criteria = {
          ...(int('min-passages') !== undefined ? { minPassages: int('min-passages') } : {}),
          ...(num('max-mismatch-rate') !== undefined ? { maxMismatchRate: num('max-mismatch-rate') } : {}),
          ...(num('max-biometric-median-ms') !== undefined
            ? { maxBiometricMedianMs: num('max-biometric-median-ms') }
            : {}),
        };
        const r = check(
          p.declarePilot(
            site,
            {
              endsOn,
              ...(str('starts-on') ? { startsOn: str('starts-on') } : {}),
              ...(Object.keys(criteria).length ? { criteria } : {}),
            },
            actor,
          ),
        );
        audit.action = r.created ? 'pilot.declare' : 'pilot.update';
        audit.target = `pilot:${r.pilot.id}`;
        audit.details = { startsOn: r.pilot.startsOn, endsOn: r.pilot.endsOn, criteria: r.pilot.criteria };
        return { ...p.pilot(site), created: r.created };
      }
      case 'equal-service': {
        const site = oneSite();
        audit.site = site;
        const parse = (v: string | undefined, fallback: Date): string => {
          if (v === undefined) return fallback.toISOString();
          const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v);
          if (Number.isNaN(t)) throw new UsageError(`not a date: ${v}`);
          return new Date(t).toISOString();
        };
        const to = parse(str('to'), now());
        const from = parse(str('from'), new Date(Date.parse(to) - 30 * DAY_MS));
        if (from >= to) throw new UsageError('--from must be before --to');
        return { ...p.equalService(site, from, to) };
      }
      case undefined:
      default:
        throw new UsageError(`unknown privacy command ${command ?? ''}`);
    }
  };

  let db: Database | undefined;
  try {
    if (!command) throw new UsageError('no command');
    db = openDatabase({ dataDir });
    const log = createAuditLog(db);
    const service = createPrivacyService({
      db,
      audit: log,
      keys: openSigningKeyStore(dataDir),
      agents: createAgentRepository(db),
      now,
      logger,
    });
    const result = await run(service);
    log.append({ actor, outcome: 'ok', ...audit });
    if (rawOutput !== null) io.stdout.write(rawOutput);
    else print(io.stdout, JSON.stringify({ ok: true, ...result }, null, 2));
    return 0;
  } catch (err) {
    const opened = db;
    return reportFailure(err, {
      io,
      usage: PRIVACY_USAGE,
      logger,
      what: 'privacy command failed',
      auditRefusal: opened
        ? (code) => createAuditLog(opened).append({ actor, outcome: 'failed', ...audit, details: { code } })
        : undefined,
    });
  } finally {
    db?.close();
  }
}
