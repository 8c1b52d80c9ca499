import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { tokenFromText } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { cliActor, parseCommandLine, print, Refused as RefusedBase, reportFailure, UsageError } from './cli-common.js';
import { createAuditLog } from '../audit/audit-log.js';
import { renderCardPng, renderQrPng, type CardFace } from '../people/card.js';
import {
  CONSENT_CHANNELS,
  CONSENT_PARTIES,
  createConsentService,
  type ConsentAction,
  type ConsentChannel,
  type ConsentParty,
} from '../people/consent.js';
import { createCredentialService, type IssuedCredential } from '../people/credentials.js';
import {
  createEnrolmentService,
  openEnrolmentVision,
  type EnrolmentVision,
  type EnrolmentVisionOptions,
} from '../people/enrolment.js';
import { openIdPhotoKey, readIdPhoto } from '../people/id-photos.js';
import {
  ensurePeopleSite,
  getPeopleSite,
  PeopleSiteSettingsSchema,
  updatePeopleSiteSettings,
} from '../people/people-sites.js';
import { credentialsOfStudent, findStudent, getTemplate, type Student } from '../people/people-store.js';
import { importRegistry, type ImportProgress } from '../people/registry-import.js';
import type { PeopleError } from '../people/result.js';
import { openSigningKeyStore, type SigningKeyStore } from '../people/signing-key-store.js';
import { createVisitorService, ID_DOCUMENT_TYPES, type IdDocumentType } from '../people/visitors.js';
import { createWithdrawalService } from '../people/withdrawal.js';
import { openDatabase } from '../store/database.js';

/**
 * The people commands of `portail-admin`: registry import, consent, enrolment, cards, withdrawal,
 * visitors, site settings, signing keys, sync set, receipts, retention purge. Each prints one JSON
 * object on stdout: `{"ok":true,…}` (exit 0) or `{"ok":false,"error":{code,message}}` (exit 1, the
 * message also on stderr). A usage error exits 2, an unexpected failure 3. Every command is
 * written to the audit log (ids only, never names).
 */
export interface PeopleCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** base for relative paths */
  cwd: string;
}

export interface PeopleCliOptions {
  logger?: Logger;
  /** opens the enrolment models (default: the real YuNet + face pipeline with liveness) */
  openVision?: (opts: EnrolmentVisionOptions) => Promise<EnrolmentVision>;
}

export const PEOPLE_COMMANDS = [
  'import',
  'student',
  'consent',
  'guardians',
  'enrol',
  'card',
  'reissue',
  'withdraw',
  'depart',
  'erase',
  'visitor',
  'site',
  'keys',
  'sync',
  'receipts',
  'purge',
] as const;

export const PEOPLE_USAGE = `people commands (each prints one JSON object; exit 0 ok, 1 refused, 2 usage, 3 failure):

  import --site S --file students.csv [--allow-mass-departure]
      registry export (UTF-8 or Windows-1252, ; or ,): inserts, updates, marks absent students departed
  student show --site S --student ID                 consent state, credentials, enrolment
  consent --site S --student ID --who student|guardian1|guardian2 --channel paper|online|in_person|email|mail
          --notice VERSION [--refuse | --withdraw] [--date YYYY-MM-DD]
  guardians --site S --student ID --count 0|1|2      legal guardians who consent while a minor
  enrol --site S --student ID --photo FILE (--card-out card.png | --qr-out qr.png) [--keep-photo]
          [--models-dir DIR] [--embedder NAME]
      the card/QR holds the template key and is produced only now; FILE is overwritten and deleted once
      templated, unless --keep-photo (a refused photo, e.g. no consent or no face, is left untouched)
  card --site S --student ID --out card.png [--qr-out qr.png] [--title TEXT]   badge-only credentials
  reissue --site S --student ID --out card.png [--qr-out qr.png] [--token-file F | --token TEXT] [--reason R]
      new credential, old ones revoked; the old token (card or phone QR text) keeps the biometrics
  withdraw --site S --student ID                     deletes biometric data, issues a badge-only credential
  depart --site S --student ID | erase --site S --student ID
  visitor add --site S --first-name F --last-name L --purpose P --host H --id-doc ${ID_DOCUMENT_TYPES.join('|')}
          [--id-number N] [--out pass.png] [--qr-out qr.png]
  visitor end --site S --visitor N
  site show --site S | site set --site S --set key=value [--set key=value]...
  keys list | keys rotate | keys retire --key-id N [--force]
  sync --site S [--since VERSION]                    the agents' sync set (base64 ciphertexts)
  receipts --site S [--after ID]
  purge                                              retention: expired ciphertexts, ID photos, visitors

  --data-dir: the server's dataDir (default: $PORTAIL_SERVER_DATA_DIR or .data/control-server)`;

/** The first positional argument, skipping `--data-dir DIR`: which CLI handles the command. */
export function peopleCommandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') {
      i += 1;
      continue;
    }
    if (a.startsWith('-')) continue;
    return (PEOPLE_COMMANDS as readonly string[]).includes(a) ? a : undefined;
  }
  return undefined;
}

/** Pure: one progress line, e.g. `[##########----------]  50% 1000/2000 write`. */
export function progressLine(p: ImportProgress, width = 30): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${p.done}/${p.total} ${p.phase}`;
}

class Refused extends RefusedBase<PeopleError> {}

/** Write a file only its owner can read (cards and QR codes carry the token). */
function writePrivate(file: string, data: Uint8Array): void {
  writeFileSync(file, data, { mode: 0o600 });
}

/** Overwrite then unlink: the photo's blocks are not left readable in place (best effort on SSDs). */
export function destroyFile(file: string): void {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  try {
    const zeros = Buffer.alloc(Math.min(size, 1 << 20));
    for (let off = 0; off < size; off += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, size - off), off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(file);
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

export async function runPeopleCli(
  argv: readonly string[],
  io: PeopleCliIo,
  opts: PeopleCliOptions = {},
): Promise<number> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const cmd = parseCommandLine(
    argv,
    {
      'data-dir': { type: 'string' },
      site: { type: 'string' },
      student: { type: 'string' },
      visitor: { type: 'string' },
      file: { type: 'string' },
      who: { type: 'string' },
      channel: { type: 'string' },
      notice: { type: 'string' },
      date: { type: 'string' },
      refuse: { type: 'boolean' },
      withdraw: { type: 'boolean' },
      count: { type: 'string' },
      photo: { type: 'string' },
      // deletion after templating is the default; --delete-photo is still accepted (it changes nothing)
      'delete-photo': { type: 'boolean' },
      'keep-photo': { type: 'boolean' },
      'card-out': { type: 'string' },
      'qr-out': { type: 'string' },
      out: { type: 'string' },
      title: { type: 'string' },
      'token-file': { type: 'string' },
      token: { type: 'string' },
      reason: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      purpose: { type: 'string' },
      host: { type: 'string' },
      'id-doc': { type: 'string' },
      'id-number': { type: 'string' },
      set: { type: 'string', multiple: true },
      since: { type: 'string' },
      after: { type: 'string' },
      'key-id': { type: 'string' },
      force: { type: 'boolean' },
      'allow-mass-departure': { type: 'boolean' },
      'models-dir': { type: 'string' },
      embedder: { type: 'string' },
    },
    PEOPLE_USAGE,
    io,
  );
  if (typeof cmd === 'number') return cmd;
  const { values, positionals, str, need } = cmd;
  const [command, sub] = positionals;
  const resolvePath = (p: string) => path.resolve(io.cwd, p);
  const dataDir = resolvePath(str('data-dir') ?? io.env.PORTAIL_SERVER_DATA_DIR ?? '.data/control-server');
  const actor = cliActor();

  let db: Database | undefined;
  let keysCache: SigningKeyStore | undefined;
  let site: string | null = null;
  let action = `people.${command ?? 'none'}${sub ? `.${sub}` : ''}`;
  let target: string | null = null;
  const keys = () => (keysCache ??= openSigningKeyStore(dataDir));
  const studentOf = (database: Database): Student => {
    site = need('site');
    const ext = need('student');
    const s = findStudent(database, site, ext);
    if (!s) throw new Refused({ code: 'PEOPLE_ERR_STUDENT', message: `no student ${ext} at site ${site}` });
    target = `student:${s.id}`;
    return s;
  };
  const check = <T>(r: { ok: true; value: T } | { ok: false; error: PeopleError }): T => {
    if (!r.ok) throw new Refused(r.error);
    return r.value;
  };
  const cardFace = (database: Database, s: Student, c: IssuedCredential): CardFace => {
    const settings = getPeopleSite(database, s.site)!.settings;
    let photoJpeg: Uint8Array | undefined;
    if (settings.keepIdPhotos) photoJpeg = readIdPhoto(database, openIdPhotoKey(dataDir), s.id);
    return {
      kind: 'student',
      ...(str('title') ? { title: str('title')! } : {}),
      lastName: s.lastName,
      firstName: s.firstName,
      detail: `Classe ${s.className}`,
      validUntil: c.validUntil,
      credentialId: c.credentialId,
      ...(photoJpeg ? { photoJpeg } : {}),
    };
  };
  /** Render the card and/or QR, then zero the token (it may carry the template key). */
  const writeOutputs = async (
    face: CardFace,
    c: IssuedCredential,
    cardOut: string | undefined,
    qrOut: string | undefined,
  ) => {
    const written: Record<string, string> = {};
    try {
      if (cardOut) {
        writePrivate(resolvePath(cardOut), await renderCardPng(face, c.token));
        written.card = resolvePath(cardOut);
      }
      if (qrOut) {
        writePrivate(resolvePath(qrOut), await renderQrPng(c.token));
        written.qr = resolvePath(qrOut);
      }
    } finally {
      c.token.fill(0);
      face.photoJpeg?.fill(0);
    }
    return written;
  };
  const credentialJson = (c: IssuedCredential) => ({
    credentialId: c.credentialId,
    siteCode: c.siteCode,
    keyId: c.keyId,
    biometric: c.biometric,
    validUntil: c.validUntil,
  });

  const run = async (database: Database): Promise<Record<string, unknown>> => {
    const now = () => new Date();
    switch (command) {
      case 'import': {
        site = need('site');
        const file = resolvePath(need('file'));
        if (!existsSync(file)) throw new UsageError(`no file ${file}`);
        const tty = io.stderr.isTTY === true;
        let lastPct = -1;
        const report = check(
          importRegistry(database, {
            site,
            bytes: readFileSync(file),
            actor,
            allowMassDeparture: values['allow-mass-departure'] === true,
            onProgress: (p) => {
              if (p.phase !== 'write') return;
              const pct = Math.floor((100 * p.done) / Math.max(1, p.total));
              if (tty) io.stderr.write(`\r${progressLine(p)}${p.done === p.total ? '\n' : ''}`);
              else if (pct >= lastPct + 10 || p.done === p.total) io.stderr.write(`${progressLine(p)}\n`);
              lastPct = pct;
            },
          }),
        );
        target = `site:${site}`;
        return { report };
      }
      case 'student': {
        if (sub !== 'show') throw new UsageError('student show --site S --student ID');
        const s = studentOf(database);
        const consent = createConsentService({ db: database, keys: keys(), now });
        const credentials = credentialsOfStudent(database, s.id).map((c) => ({
          ...c,
          hasTemplate: getTemplate(database, c.id) !== undefined,
        }));
        return { student: s, consent: consent.status(s.id), canEnrol: consent.canEnrolBiometrics(s.id), credentials };
      }
      case 'consent': {
        const s = studentOf(database);
        const who = need('who');
        if (!(CONSENT_PARTIES as readonly string[]).includes(who))
          throw new UsageError(`--who: ${CONSENT_PARTIES.join(' | ')}`);
        const channel = need('channel');
        if (!(CONSENT_CHANNELS as readonly string[]).includes(channel))
          throw new UsageError(`--channel: ${CONSENT_CHANNELS.join(' | ')}`);
        if (values.refuse && values.withdraw) throw new UsageError('--refuse or --withdraw, not both');
        const consentAction: ConsentAction = values.withdraw ? 'withdraw' : values.refuse ? 'refuse' : 'grant';
        action = `consent.${consentAction}`;
        const r = check(
          createConsentService({ db: database, keys: keys(), now }).record({
            studentId: s.id,
            party: who as ConsentParty,
            action: consentAction,
            channel: channel as ConsentChannel,
            noticeVersion: need('notice'),
            ...(str('date') ? { effectiveAt: str('date')! } : {}),
            actor,
          }),
        );
        return { ...r };
      }
      case 'guardians': {
        const s = studentOf(database);
        const count = Number(need('count'));
        if (![0, 1, 2].includes(count)) throw new UsageError('--count: 0, 1 or 2');
        const updated = check(
          createConsentService({ db: database, keys: keys(), now }).setGuardianCount(s.id, count as 0 | 1 | 2),
        );
        return { student: updated };
      }
      case 'enrol': {
        const s = studentOf(database);
        const photoPath = resolvePath(need('photo'));
        const cardOut = str('card-out');
        const qrOut = str('qr-out');
        if (!cardOut && !qrOut) {
          throw new UsageError(
            'give --card-out and/or --qr-out: the token carries the template key and cannot be produced later',
          );
        }
        if (!existsSync(photoPath)) throw new UsageError(`no file ${photoPath}`);
        const visionOpts: EnrolmentVisionOptions = {
          ...(str('models-dir') ? { modelsDir: resolvePath(str('models-dir')!) } : {}),
          ...(str('embedder') ? { embedder: str('embedder') as EnrolmentVisionOptions['embedder'] } : {}),
          logger,
        };
        const vision = await (opts.openVision ?? openEnrolmentVision)(visionOpts);
        try {
          const settings = ensurePeopleSite(database, s.site).settings;
          const service = createEnrolmentService({
            db: database,
            keys: keys(),
            vision,
            ...(settings.keepIdPhotos ? { idPhotoKey: openIdPhotoKey(dataDir) } : {}),
            now,
            logger,
          });
          if (values['keep-photo'] && values['delete-photo'])
            throw new UsageError('--keep-photo or --delete-photo, not both');
          const r = check(await service.enrol({ studentId: s.id, photo: readFileSync(photoPath), actor }));
          // templated: the photo file has served its purpose (even if writing the card fails below)
          const photoDeleted = values['keep-photo'] !== true;
          let files: Record<string, string>;
          try {
            files = await writeOutputs(cardFace(database, s, r.credential), r.credential, cardOut, qrOut);
          } finally {
            if (photoDeleted) destroyFile(photoPath);
          }
          return {
            credential: credentialJson(r.credential),
            revoked: r.revoked,
            model: r.model,
            quality: r.quality,
            liveness: r.liveness,
            idPhotoKept: r.idPhotoKept,
            files,
            photoDeleted,
          };
        } finally {
          await vision.close();
        }
      }
      case 'card': {
        const s = studentOf(database);
        const out = need('out');
        const credentials = createCredentialService({ db: database, keys: keys(), now });
        const current = credentials.currentOf(s.id);
        const issued = current
          ? check(credentials.tokenFor(current.id))
          : check(credentials.issueBadge(s.id, { actor, reason: 'first-issue' }));
        const files = await writeOutputs(cardFace(database, s, issued), issued, out, str('qr-out'));
        return { credential: credentialJson(issued), newlyIssued: !current, files };
      }
      case 'reissue': {
        const s = studentOf(database);
        const out = need('out');
        let presentedToken: Uint8Array | undefined;
        const text = str('token-file') ? readFileSync(resolvePath(str('token-file')!), 'utf8') : str('token');
        if (text !== undefined) {
          presentedToken = tokenFromText(text);
          if (!presentedToken)
            throw new UsageError('the token text is not a Portail credential (base64url, as a scanner types it)');
        }
        const r = check(
          createCredentialService({ db: database, keys: keys(), now }).reissue(s.id, {
            actor,
            reason: str('reason') ?? 'reissued',
            ...(presentedToken ? { presentedToken } : {}),
          }),
        );
        presentedToken?.fill(0);
        const files = await writeOutputs(cardFace(database, s, r.credential), r.credential, out, str('qr-out'));
        return { credential: credentialJson(r.credential), revoked: r.revoked, biometrics: r.biometrics, files };
      }
      case 'withdraw':
      case 'depart':
      case 'erase': {
        const s = studentOf(database);
        const w = createWithdrawalService({ db: database, keys: keys(), now });
        const o = { actor, ...(str('reason') ? { reason: str('reason')! } : {}) };
        const r = check(
          command === 'withdraw'
            ? w.withdrawBiometrics(s.id, o)
            : command === 'depart'
              ? w.departStudent(s.id, o)
              : w.eraseStudent(s.id, o),
        );
        return {
          ...r,
          replacement: r.replacement ? { credentialId: r.replacement.id, validUntil: r.replacement.validUntil } : null,
        };
      }
      case 'visitor': {
        site = need('site');
        const visitors = createVisitorService({ db: database, keys: keys(), now });
        if (sub === 'end') {
          const id = Number(need('visitor'));
          target = `visitor:${id}`;
          return { ...check(visitors.endVisit(id, { actor })) };
        }
        if (sub !== 'add') throw new UsageError('visitor add … | visitor end --visitor N');
        const doc = need('id-doc');
        if (!(ID_DOCUMENT_TYPES as readonly string[]).includes(doc))
          throw new UsageError(`--id-doc: ${ID_DOCUMENT_TYPES.join(' | ')}`);
        const r = check(
          visitors.register({
            site,
            firstName: need('first-name'),
            lastName: need('last-name'),
            purpose: need('purpose'),
            host: need('host'),
            idDocumentType: doc as IdDocumentType,
            ...(str('id-number') ? { idDocumentNumber: str('id-number')! } : {}),
            actor,
          }),
        );
        target = `visitor:${r.visitor.id}`;
        const face: CardFace = {
          kind: 'visitor',
          ...(str('title') ? { title: str('title')! } : {}),
          lastName: r.visitor.lastName,
          firstName: r.visitor.firstName,
          detail: `Reçu par ${r.visitor.host}`,
          validUntil: r.pass.validUntil,
          credentialId: r.pass.credentialId,
        };
        const files = await writeOutputs(face, r.pass, str('out'), str('qr-out'));
        return {
          visitor: { id: r.visitor.id, visitDay: r.visitor.visitDay, retainUntil: r.visitor.retainUntil },
          pass: credentialJson(r.pass),
          files,
        };
      }
      case 'site': {
        site = need('site');
        target = `site:${site}`;
        if (sub === 'set') {
          const patch: Record<string, unknown> = {};
          const shape = PeopleSiteSettingsSchema.shape as Record<string, unknown>;
          for (const kv of (values.set as string[] | undefined) ?? []) {
            const i = kv.indexOf('=');
            if (i < 1) throw new UsageError(`--set key=value: ${kv}`);
            const key = kv.slice(0, i);
            if (!(key in shape)) throw new UsageError(`unknown setting ${key} (${Object.keys(shape).join(', ')})`);
            const raw = kv.slice(i + 1);
            patch[key] = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
          }
          if (Object.keys(patch).length === 0) throw new UsageError('site set needs at least one --set key=value');
          return { site: check(updatePeopleSiteSettings(database, site, patch)) };
        }
        if (sub !== 'show') throw new UsageError('site show | site set');
        const s = ensurePeopleSite(database, site);
        return {
          site: s,
          // what an agent of this site needs in its `credentials` configuration
          agentCredentials: {
            siteCode: s.siteCode,
            publicKeys: keys()
              .list()
              .map((k) => ({ keyId: k.keyId, pem: k.publicKeyPem })),
          },
        };
      }
      case 'keys': {
        const store = keys();
        if (sub === 'list' || sub === undefined) return { keys: store.list().map(({ publicKeyPem: _pem, ...k }) => k) };
        if (sub === 'rotate')
          return { rotated: store.rotate(), keys: store.list().map(({ publicKeyPem: _pem, ...k }) => k) };
        if (sub === 'retire') {
          const keyId = Number(need('key-id'));
          target = `key:${keyId}`;
          return {
            ...check(
              createCredentialService({ db: database, keys: store, now }).retireSigningKey(keyId, {
                force: values.force === true,
              }),
            ),
          };
        }
        throw new UsageError('keys list | keys rotate | keys retire --key-id N');
      }
      case 'sync': {
        site = need('site');
        const since = str('since') !== undefined ? Number(str('since')) : undefined;
        if (since !== undefined && !Number.isInteger(since)) throw new UsageError('--since: an integer version');
        const set = check(createWithdrawalService({ db: database, keys: keys(), now }).getSyncSet(site, since));
        return {
          ...set,
          templates: set.templates.map((t) => ({
            ...t,
            iv: b64(t.iv),
            ciphertext: b64(t.ciphertext),
            tag: b64(t.tag),
          })),
        };
      }
      case 'receipts': {
        site = need('site');
        return {
          receipts: createWithdrawalService({ db: database, keys: keys(), now }).receipts(
            site,
            Number(str('after') ?? 0),
          ),
        };
      }
      case 'purge': {
        const biometrics = createWithdrawalService({ db: database, keys: keys(), now }).purgeExpired({ actor });
        const visitors = createVisitorService({ db: database, keys: keys(), now }).purgeExpired({ actor });
        return { ...biometrics, ...visitors };
      }
      case undefined:
      default:
        throw new UsageError(`unknown command ${command ?? ''}`);
    }
  };

  try {
    if (!command) throw new UsageError('no command');
    db = openDatabase({ dataDir });
    const result = await run(db);
    createAuditLog(db).append({ actor, action, outcome: 'ok', site, target });
    print(io.stdout, JSON.stringify({ ok: true, ...result }, null, 2));
    return 0;
  } catch (err) {
    const opened = db;
    return reportFailure(err, {
      io,
      usage: PEOPLE_USAGE,
      logger,
      what: 'people command failed',
      auditRefusal: opened
        ? (code) => createAuditLog(opened).append({ actor, action, outcome: 'failed', site, target, details: { code } })
        : undefined,
    });
  } finally {
    db?.close();
  }
}
