import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AgentRecord } from '../repositories/agent-repository.js';
import { renderCardPdf } from './card-pdf.js';
import { renderCardPng, renderQrPng, type CardFace } from './card.js';
import {
  consentStatusOf,
  createConsentService,
  missingConsents,
  type ConsentRecord,
  type ConsentService,
} from './consent.js';
import { createCredentialService, type CredentialErrorCode, type CredentialService } from './credentials.js';
import {
  createEnrolmentService,
  openEnrolmentVision,
  type EnrolmentErrorCode,
  type EnrolmentResult,
  type EnrolmentVision,
  type EnrolmentVisionOptions,
  type PhotoLimits,
  DEFAULT_PHOTO_LIMITS,
} from './enrolment.js';
import { createFreshTokens, type FreshTokens } from './fresh-tokens.js';
import { openIdPhotoKey, readIdPhoto } from './id-photos.js';
import { createImportJobs, type ImportJobProgress, type ImportJobs } from './import-jobs.js';
import { ensurePeopleSite, getPeopleSite } from './people-sites.js';
import {
  credentialsOfStudent,
  getCredential,
  getStudent,
  getTemplate,
  toStudent,
  type CredentialRecord,
  type Student,
} from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { localDate } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';
import type { SitePublication } from './sync-publisher.js';
import { createWithdrawalService, type WithdrawalService } from './withdrawal.js';

/**
 * The people services as the HTTP routes use them: one object per server, wired once (database,
 * signing keys, the sync publisher's nudge, the enrolment models opened on first use). Every write
 * stays one transaction in the services below; this layer adds what a console needs on top: a
 * student list with consent and credential summaries, import jobs, the tokens of cards just issued,
 * card rendering, and the per-site sync state.
 */
export interface PeopleApiDeps {
  db: Database;
  /** the server's data directory (ID photo key) */
  dataDir: string;
  keys: SigningKeyStore;
  agents: { list(): AgentRecord[] };
  /** nudges the sync publisher (it polls every second anyway) */
  notify?: (site: string) => void;
  /** what the sync publisher last published for a site */
  published?: (site: string) => SitePublication | null;
  /** pushes import progress (the live bus) */
  publishImport?: (progress: ImportJobProgress) => void;
  /** the enrolment models; default the real YuNet + face pipeline with liveness, opened on first use */
  openVision?: (opts: EnrolmentVisionOptions) => Promise<EnrolmentVision>;
  visionOptions?: EnrolmentVisionOptions;
  photoLimits?: Partial<PhotoLimits>;
  now?: () => Date;
  logger?: Logger;
}

export type ConsentSummary = 'complete' | 'partial' | 'refused' | 'none';

export interface StudentSummary {
  id: number;
  externalId: string;
  lastName: string;
  firstName: string;
  className: string;
  birthDate: string;
  status: Student['status'];
  minor: boolean;
  /** complete: every required party granted; refused: one refused or withdrew; partial: some granted */
  consent: ConsentSummary;
  credential: { id: string; biometric: boolean; validUntil: string } | null;
}

export interface StudentListQuery {
  /** words matched against names, class and pupil id (case and accents ignored) */
  q?: string;
  status?: Student['status'] | 'all';
  limit?: number;
  offset?: number;
}

export interface CredentialView extends CredentialRecord {
  hasTemplate: boolean;
  /** the token is still held in memory: the card can be downloaded until then (ISO), else null */
  downloadableUntil: string | null;
}

export type CardKind = 'card.png' | 'card.pdf' | 'qr.png';

export interface SiteSyncState {
  site: string;
  /** the site's current sync version (null: no people data yet) */
  version: number | null;
  published: {
    version: number;
    publishedAt: string | null;
    chunkCount: number;
    templateCount: number | null;
    revocationCount: number | null;
  } | null;
  agents: Array<{
    agent: string;
    state: AgentRecord['state'];
    lastSeen: string | null;
    appliedVersion: number | null;
    result: 'applied' | 'rejected' | null;
    receivedVersion: number | null;
    templateCount: number | null;
    revocationCount: number | null;
    errors: string[];
    acknowledgedAt: string | null;
    /** holds the published version */
    upToDate: boolean;
  }>;
}

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase();

export const MAX_STUDENT_PAGE = 500;

export function createPeopleApi(deps: PeopleApiDeps) {
  const { db, keys } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger;
  const consent: ConsentService = createConsentService({ db, keys, now });
  const credentials: CredentialService = createCredentialService({ db, keys, now });
  const withdrawal: WithdrawalService = createWithdrawalService({ db, keys, now });
  const fresh: FreshTokens = createFreshTokens();
  const photoLimits: PhotoLimits = { ...DEFAULT_PHOTO_LIMITS, ...deps.photoLimits };
  const notify = (site: string) => {
    try {
      deps.notify?.(site);
    } catch (err) {
      // the publisher polls every second: a failed nudge only delays the agents a little
      logger?.warn({ err: (err as Error).message, site }, 'sync publisher not notified');
    }
  };
  const imports: ImportJobs = createImportJobs({
    db,
    publish: (p) => deps.publishImport?.(p),
    onSyncChange: notify,
    ...(logger ? { logger } : {}),
    now,
  });

  let vision: Promise<EnrolmentVision> | null = null;
  /** enrolments one at a time: each runs three models on a 2-core box */
  let enrolChain: Promise<unknown> = Promise.resolve();
  const openVision = (): Promise<EnrolmentVision> => {
    vision ??= (deps.openVision ?? openEnrolmentVision)({
      ...deps.visionOptions,
      ...(logger ? { logger } : {}),
    }).catch((err: unknown) => {
      // a later request tries again (models being copied, a transient read error)
      vision = null;
      throw err;
    });
    return vision;
  };

  /** The student, only if it belongs to `site` (an id of another site is "not found", never revealed). */
  const studentAt = (site: string, studentId: number): Student | undefined => {
    const s = getStudent(db, studentId);
    return s && s.site === site ? s : undefined;
  };

  const credentialView = (c: CredentialRecord): CredentialView => ({
    ...c,
    hasTemplate: getTemplate(db, c.id) !== undefined,
    downloadableUntil: c.revokedAt === null ? fresh.expiresAt(c.id) : null,
  });

  const cardFace = (s: Student, c: { credentialId: string; validUntil: string }): CardFace => {
    const settings = getPeopleSite(db, s.site)?.settings;
    const photoJpeg = settings?.keepIdPhotos ? readIdPhoto(db, openIdPhotoKey(deps.dataDir), s.id) : undefined;
    return {
      kind: 'student',
      lastName: s.lastName,
      firstName: s.firstName,
      detail: `Classe ${s.className}`,
      validUntil: c.validUntil,
      credentialId: c.credentialId,
      ...(photoJpeg ? { photoJpeg } : {}),
    };
  };

  return {
    consent,
    credentials,
    withdrawal,
    imports,
    photoLimits,
    notify,
    studentAt,

    /** A page of the site's students with their consent and credential state. */
    listStudents(site: string, q: StudentListQuery = {}): { total: number; students: StudentSummary[] } {
      const ps = getPeopleSite(db, site);
      if (!ps) return { total: 0, students: [] };
      const today = localDate(now(), ps.settings.timeZone);
      const status = q.status ?? 'active';
      const rows = db
        .prepare<[string], Parameters<typeof toStudent>[0]>(
          'SELECT * FROM students WHERE site = ? ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id',
        )
        .all(site)
        .map(toStudent)
        .filter((s) => status === 'all' || s.status === status);
      const words = fold(q.q ?? '')
        .split(/\s+/)
        .filter(Boolean);
      const matching =
        words.length === 0
          ? rows
          : rows.filter((s) => {
              const hay = fold(`${s.lastName} ${s.firstName} ${s.className} ${s.externalId}`);
              return words.every((w) => hay.includes(w));
            });
      const limit = Math.min(MAX_STUDENT_PAGE, Math.max(1, q.limit ?? 100));
      const page = matching.slice(q.offset ?? 0, (q.offset ?? 0) + limit);
      const ids = page.map((s) => s.id);
      const records = new Map<number, ConsentRecord[]>();
      const live = new Map<number, CredentialRecord>();
      if (ids.length > 0) {
        const marks = ids.map(() => '?').join(',');
        for (const r of consentRowsOf(db, marks, ids)) {
          const list = records.get(r.studentId) ?? [];
          list.push(r);
          records.set(r.studentId, list);
        }
        for (const c of liveCredentialRowsOf(db, marks, ids)) if (!live.has(c.studentId!)) live.set(c.studentId!, c);
      }
      const students = page.map((s): StudentSummary => {
        const st = consentStatusOf(s, records.get(s.id) ?? [], today, ps.settings.ageOfMajority);
        const required = st.parties.filter((p) => p.required);
        const missing = missingConsents(st);
        const summary: ConsentSummary =
          missing.length === 0
            ? 'complete'
            : required.some((p) => p.state === 'refused' || p.state === 'withdrawn')
              ? 'refused'
              : required.some((p) => p.state === 'granted')
                ? 'partial'
                : 'none';
        const c = live.get(s.id);
        return {
          id: s.id,
          externalId: s.externalId,
          lastName: s.lastName,
          firstName: s.firstName,
          className: s.className,
          birthDate: s.birthDate,
          status: s.status,
          minor: st.minor,
          consent: summary,
          credential: c ? { id: c.id, biometric: c.biometric, validUntil: c.validUntil } : null,
        };
      });
      return { total: matching.length, students };
    },

    /** Everything about one student the console shows: consents with history, credentials. */
    studentDetail(site: string, studentId: number) {
      const s = studentAt(site, studentId);
      if (!s) return undefined;
      return {
        student: s,
        consent: consent.status(s.id)!,
        consentHistory: consent.history(s.id),
        canEnrol: consent.canEnrolBiometrics(s.id),
        credentials: credentialsOfStudent(db, s.id).map(credentialView).reverse(),
      };
    },

    credentialView,

    /** Enrol from photo bytes (zeroed whatever the outcome); the new token is held for the card download. */
    async enrol(
      site: string,
      studentId: number,
      photo: Uint8Array,
      actor: string,
    ): Promise<Result<Omit<EnrolmentResult, 'credential'> & { credential: CredentialView }, EnrolmentErrorCode>> {
      const s = studentAt(site, studentId);
      if (!s) {
        photo.fill(0);
        return fail('ENROL_ERR_STUDENT', `no student ${studentId} at site ${site}`);
      }
      // consent first, before the models are even opened: a refusal costs nothing and decodes nothing
      const eligible = consent.canEnrolBiometrics(s.id);
      if (!eligible.ok) {
        photo.fill(0);
        if (eligible.reason === 'student-departed')
          return fail('ENROL_ERR_STUDENT', `student ${s.externalId} has left the school`);
        const list = eligible.missing.map((m) => `${m.party} (${m.state === 'none' ? 'not asked' : m.state})`);
        return fail('ENROL_ERR_CONSENT', `enrolment needs the consent of: ${list.join(', ')}`, {
          missing: eligible.missing,
        });
      }
      const run = async () => {
        let v: EnrolmentVision;
        try {
          v = await openVision();
        } catch (err) {
          photo.fill(0);
          throw err;
        }
        const settings = ensurePeopleSite(db, s.site).settings;
        const service = createEnrolmentService({
          db,
          keys,
          vision: v,
          limits: photoLimits,
          ...(settings.keepIdPhotos ? { idPhotoKey: openIdPhotoKey(deps.dataDir) } : {}),
          now,
          ...(logger ? { logger } : {}),
        });
        const r = await service.enrol({ studentId: s.id, photo, actor });
        if (!r.ok) return r;
        const { credential: issued, ...rest } = r.value;
        fresh.put(issued.credentialId, issued.token);
        issued.token.fill(0);
        for (const id of r.value.revoked) fresh.drop(id);
        notify(s.site);
        return ok({ ...rest, credential: credentialView(getCredential(db, issued.credentialId)!) });
      };
      const p = enrolChain.then(run, run);
      enrolChain = p.catch(() => undefined);
      return p;
    },

    /** A badge-only credential for a student without a live one. */
    issue(
      site: string,
      studentId: number,
      actor: string,
    ): Result<CredentialView, CredentialErrorCode | 'CREDENTIAL_ERR_EXISTS'> {
      const s = studentAt(site, studentId);
      if (!s) return fail('CREDENTIAL_ERR_STUDENT', `no student ${studentId} at site ${site}`);
      const current = credentials.currentOf(s.id);
      if (current) {
        return fail(
          'CREDENTIAL_ERR_EXISTS',
          `student ${s.externalId} already holds credential ${current.id}: re-issue it to replace it`,
          { credentialId: current.id },
        );
      }
      const r = credentials.issueBadge(s.id, { actor, reason: 'first-issue' });
      if (!r.ok) return r;
      fresh.put(r.value.credentialId, r.value.token);
      r.value.token.fill(0);
      notify(s.site);
      return ok(credentialView(getCredential(db, r.value.credentialId)!));
    },

    /** New credential, old ones revoked; the old token (when shown) keeps the biometrics. */
    reissue(
      site: string,
      studentId: number,
      o: { actor: string; reason: string; presentedToken?: Uint8Array },
    ): Result<
      { credential: CredentialView; revoked: string[]; biometrics: 'kept' | 'lost' | 'none' },
      CredentialErrorCode
    > {
      const s = studentAt(site, studentId);
      if (!s) {
        o.presentedToken?.fill(0);
        return fail('CREDENTIAL_ERR_STUDENT', `no student ${studentId} at site ${site}`);
      }
      const r = credentials.reissue(s.id, o);
      o.presentedToken?.fill(0);
      if (!r.ok) return r;
      fresh.put(r.value.credential.credentialId, r.value.credential.token);
      r.value.credential.token.fill(0);
      for (const id of r.value.revoked) fresh.drop(id);
      notify(s.site);
      return ok({
        credential: credentialView(getCredential(db, r.value.credential.credentialId)!),
        revoked: r.value.revoked,
        biometrics: r.value.biometrics,
      });
    },

    revoke(site: string, credentialId: string, o: { actor: string; reason: string }) {
      const c = getCredential(db, credentialId);
      if (!c || c.site !== site)
        return fail('CREDENTIAL_ERR_NOT_FOUND', `no credential ${credentialId} at site ${site}`);
      const r = credentials.revoke(credentialId, o);
      if (!r.ok) return r;
      fresh.drop(credentialId);
      notify(site);
      return ok({
        credential: credentialView(getCredential(db, credentialId)!),
        templateDeleted: r.value.templateDeleted,
      });
    },

    /**
     * The card or QR of a credential: from the token held since its issue, else re-signed for a
     * badge-only credential (deterministic signature), else refused (a biometric token's key is gone).
     */
    async card(
      site: string,
      credentialId: string,
      kind: CardKind,
    ): Promise<
      Result<
        { bytes: Uint8Array; contentType: string; filename: string; credential: CredentialRecord },
        CredentialErrorCode
      >
    > {
      const c = getCredential(db, credentialId);
      if (!c || c.site !== site)
        return fail('CREDENTIAL_ERR_NOT_FOUND', `no credential ${credentialId} at site ${site}`);
      if (c.revokedAt) return fail('CREDENTIAL_ERR_REVOKED', `credential ${c.id} was revoked (${c.revokedReason})`);
      let token = fresh.get(c.id);
      if (!token) {
        const r = credentials.tokenFor(c.id);
        if (!r.ok) return r;
        token = r.value.token;
      }
      const s = c.studentId !== null ? getStudent(db, c.studentId) : undefined;
      if (!s) {
        token.fill(0);
        return fail('CREDENTIAL_ERR_STUDENT', `credential ${c.id} has no student holder`);
      }
      const face = cardFace(s, { credentialId: c.id, validUntil: c.validUntil });
      try {
        if (kind === 'qr.png') {
          return ok({
            bytes: await renderQrPng(token),
            contentType: 'image/png',
            filename: `qr-${c.id}.png`,
            credential: c,
          });
        }
        const png = await renderCardPng(face, token);
        if (kind === 'card.png')
          return ok({ bytes: png, contentType: 'image/png', filename: `carte-${c.id}.png`, credential: c });
        return ok({
          bytes: await renderCardPdf(png),
          contentType: 'application/pdf',
          filename: `carte-${c.id}.pdf`,
          credential: c,
        });
      } finally {
        token.fill(0);
        face.photoJpeg?.fill(0);
      }
    },

    withdrawBiometrics(site: string, studentId: number, actor: string) {
      const s = studentAt(site, studentId);
      if (!s) return fail('WITHDRAWAL_ERR_STUDENT', `no student ${studentId} at site ${site}`);
      const r = withdrawal.withdrawBiometrics(s.id, { actor });
      if (r.ok) {
        for (const id of r.value.credentialsRevoked) fresh.drop(id);
        notify(site);
      }
      return r;
    },

    depart(site: string, studentId: number, actor: string) {
      const s = studentAt(site, studentId);
      if (!s) return fail('WITHDRAWAL_ERR_STUDENT', `no student ${studentId} at site ${site}`);
      const r = withdrawal.departStudent(s.id, { actor });
      if (r.ok) {
        for (const id of r.value.credentialsRevoked) fresh.drop(id);
        notify(site);
      }
      return r;
    },

    /** Version published for the site and the version each of its agents acknowledged. */
    syncState(site: string): SiteSyncState {
      const ps = getPeopleSite(db, site);
      const pub = deps.published?.(site) ?? null;
      const row = db
        .prepare<[string], { version: number; chunk_count: number; published_at: string | null }>(
          'SELECT version, chunk_count, published_at FROM sync_publications WHERE site = ?',
        )
        .get(site);
      const published: SiteSyncState['published'] = pub
        ? {
            version: pub.version,
            publishedAt: pub.publishedAt,
            chunkCount: pub.chunkCount,
            templateCount: pub.templateCount,
            revocationCount: pub.revocationCount,
          }
        : row && row.published_at !== null
          ? {
              version: row.version,
              publishedAt: row.published_at,
              chunkCount: row.chunk_count,
              templateCount: null,
              revocationCount: null,
            }
          : null;
      const agents = deps.agents
        .list()
        .filter((a) => a.site === site)
        .map((a) => {
          const st = a.syncState;
          return {
            agent: a.agent,
            state: a.state,
            lastSeen: a.lastSeen,
            appliedVersion: st?.appliedVersion ?? null,
            result: st?.result ?? null,
            receivedVersion: st?.receivedVersion ?? null,
            templateCount: st?.templateCount ?? null,
            revocationCount: st?.revocationCount ?? null,
            errors: st?.errors ?? [],
            acknowledgedAt: st?.ts ?? null,
            upToDate: published !== null && st?.appliedVersion === published.version,
          };
        });
      return { site, version: ps?.syncVersion ?? null, published, agents };
    },

    /** after the HTTP server closed: lets a queued import finish, zeroes held tokens, closes the models */
    async close(): Promise<void> {
      await imports.idle();
      fresh.close();
      const v = vision;
      vision = null;
      if (v) {
        await v
          .then((x) => x.close())
          // models that never opened have nothing to close
          .catch(() => undefined);
      }
    },
  };
}

export type PeopleApi = ReturnType<typeof createPeopleApi>;

function consentRowsOf(db: Database, marks: string, ids: number[]): ConsentRecord[] {
  return db
    .prepare<
      number[],
      {
        id: number;
        student_id: number;
        party: ConsentRecord['party'];
        action: ConsentRecord['action'];
        channel: ConsentRecord['channel'];
        notice_version: string;
        effective_at: string;
        recorded_at: string;
        recorded_by: string;
      }
    >(`SELECT * FROM consent_records WHERE purpose = 'biometrics' AND student_id IN (${marks}) ORDER BY id`)
    .all(...ids)
    .map((r) => ({
      id: r.id,
      studentId: r.student_id,
      party: r.party,
      action: r.action,
      channel: r.channel,
      noticeVersion: r.notice_version,
      effectiveAt: r.effective_at,
      recordedAt: r.recorded_at,
      recordedBy: r.recorded_by,
    }));
}

function liveCredentialRowsOf(db: Database, marks: string, ids: number[]): CredentialRecord[] {
  // newest first per student: the first seen is the live one
  return db
    .prepare<number[], { id: string }>(
      `SELECT id FROM credentials WHERE revoked_at IS NULL AND student_id IN (${marks}) ORDER BY issued_at DESC, rowid DESC`,
    )
    .all(...ids)
    .map((r) => getCredential(db, r.id)!);
}
