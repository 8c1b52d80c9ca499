import type { Database } from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { auditChainStart, type AuditLog } from '../audit/audit-log.js';
import { createConsentService } from '../people/consent.js';
import { getPeopleSite } from '../people/people-sites.js';
import { credentialsOfStudent, findStudent, getStudent } from '../people/people-store.js';
import { localDate } from '../people/school-calendar.js';
import type { SigningKeyStore } from '../people/signing-key-store.js';
import { createVisitorService } from '../people/visitors.js';
import { createWithdrawalService, type WithdrawalResult } from '../people/withdrawal.js';
import type { AgentRepository } from '../repositories/agent-repository.js';
import type { AgentConfigObserver } from './agent-config-observer.js';
import { equalServiceReport, type EqualServiceReport } from './equal-service.js';
import { buildPersonExport, personExportMarkdown, type PersonExport } from './person-export.js';
import {
  declarePilot,
  latestPilot,
  pilotState,
  siteTimeZone,
  type DeclareResult,
  type Pilot,
  type PilotState,
} from './pilot.js';
import { createRetentionPurge, type PurgeReport, type PurgeTrigger } from './purge.js';
import { getRegisterInfo, setRegisterInfo, type RegisterInfo, type RegisterInfoResult } from './register-info.js';
import {
  collectRegisterInputs,
  renderRegisterMarkdown,
  type RegisterCameraDeclaration,
  type RegisterInputs,
} from './register.js';
import {
  getServerRetention,
  getSiteRetention,
  SERVER_RETENTION_LIMITS,
  setServerRetention,
  setSiteRetention,
  SITE_RETENTION_LIMITS,
  type PolicyResult,
  type ServerRetentionPolicy,
  type SiteRetentionPolicy,
} from './retention-policy.js';

/**
 * The privacy side of the control server, one façade for the HTTP routes and the CLI: retention
 * policy and purge, a person's export and erasure, the register, pilot mode, equal-service
 * figures. People data is read here but changed only through the people module's services.
 * The callers audit what they do on behalf of an operator; the purge audits itself.
 */
export interface PrivacyServiceDeps {
  db: Database;
  audit: AuditLog;
  /** the people module's credential signing keys (a withdrawal issues a badge-only credential) */
  keys: SigningKeyStore;
  agents: Pick<AgentRepository, 'list'>;
  /** retained configurations seen on MQTT (location types, tracking); none known without it */
  agentConfigs?: Pick<AgentConfigObserver, 'forSite'>;
  /** the server's camera registry (cameras/): a registered camera's location type and tracking come from it */
  cameraRegistry?: { list(site: string): readonly RegisterCameraDeclaration[] };
  now?: () => Date;
  logger?: Logger;
  /** the server's auth mode, for the register's security section (null: not known, e.g. the CLI) */
  authMode?: 'required' | 'disabled' | null;
  purgeBatchSize?: number;
}

export type PrivacyErrorCode =
  | 'PRIVACY_ERR_STUDENT'
  | 'PRIVACY_ERR_INVALID'
  | 'RETENTION_ERR_INVALID'
  | 'REGISTER_ERR_INVALID'
  | 'PILOT_ERR_INVALID';

export type PrivacyResult<T> =
  { ok: true; value: T } | { ok: false; error: { code: PrivacyErrorCode; message: string } };

export interface RetentionView {
  site: string;
  policy: SiteRetentionPolicy;
  limits: typeof SITE_RETENTION_LIMITS;
  customised: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  server: { policy: ServerRetentionPolicy; limits: typeof SERVER_RETENTION_LIMITS };
  /** the people module's own periods at this site, shown with the policy */
  people: { idPhotoRetentionDays: number | null; keepIdPhotos: boolean | null };
  lastPurge: { at: string; seq: number; deleted: Record<string, number> | null } | null;
}

export interface ErasureResult {
  studentId: number;
  withdrawal: WithdrawalResult;
  accessEventsDeleted: number;
  credentialIds: string[];
}

export interface PilotView {
  pilot: Pilot | null;
  state: PilotState | null;
  today: string;
}

const DAY_MS = 86_400_000;
/** the register's equal-service section covers this much history */
export const REGISTER_EQUAL_SERVICE_DAYS = 30;

export function createPrivacyService(deps: PrivacyServiceDeps) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? pino({ level: 'silent' });
  const withdrawal = createWithdrawalService({ db, keys: deps.keys, now });
  const visitors = createVisitorService({ db, keys: deps.keys, now });
  const consent = createConsentService({ db, keys: deps.keys, now });
  const purge = createRetentionPurge({
    db,
    audit: deps.audit,
    withdrawal,
    visitors,
    logger: logger.child({ module: 'retention' }),
    ...(deps.purgeBatchSize !== undefined ? { batchSize: deps.purgeBatchSize } : {}),
  });

  const lastPurgeOf = (site: string): RetentionView['lastPurge'] => {
    const r = db
      .prepare<[string], { seq: number; ts: string; site: string; details: string }>(
        `SELECT seq, ts, site, details FROM audit_log WHERE action = 'retention.purge' AND site IN (?, '*')
         ORDER BY seq DESC LIMIT 1`,
      )
      .get(site);
    if (!r) return null;
    const details = JSON.parse(r.details) as { deleted?: Record<string, number> | number };
    return { at: r.ts, seq: r.seq, deleted: typeof details.deleted === 'object' ? details.deleted : null };
  };

  /** What the register is built from, read now. */
  const registerInputs = (site: string): RegisterInputs => {
    const t = now();
    return collectRegisterInputs(
      site,
      {
        db,
        agents: deps.agents.list(),
        agentConfigs: deps.agentConfigs?.forSite(site) ?? new Map(),
        registeredCameras: deps.cameraRegistry?.list(site) ?? [],
        info: getRegisterInfo(db, site),
        retention: getSiteRetention(db, site).policy,
        serverRetention: getServerRetention(db).policy,
        pilot: latestPilot(db, site),
        equalService: equalServiceReport(
          db,
          site,
          new Date(t.getTime() - REGISTER_EQUAL_SERVICE_DAYS * DAY_MS).toISOString(),
          t.toISOString(),
        ),
        timeZone: siteTimeZone(db, site),
        authMode: deps.authMode ?? null,
        auditHead: deps.audit.head(),
        auditStart: auditChainStart(db),
      },
      t,
    );
  };

  return {
    retention(site: string): RetentionView {
      const s = getSiteRetention(db, site);
      const settings = getPeopleSite(db, site)?.settings ?? null;
      return {
        site,
        policy: s.policy,
        limits: SITE_RETENTION_LIMITS,
        customised: s.customised,
        updatedAt: s.updatedAt,
        updatedBy: s.updatedBy,
        server: { policy: getServerRetention(db).policy, limits: SERVER_RETENTION_LIMITS },
        people: {
          idPhotoRetentionDays: settings?.idPhotoRetentionDays ?? null,
          keepIdPhotos: settings?.keepIdPhotos ?? null,
        },
        lastPurge: lastPurgeOf(site),
      };
    },

    setRetention(site: string, patch: unknown, actor: string): PolicyResult<SiteRetentionPolicy> {
      return setSiteRetention(db, site, patch, { actor, now: now() });
    },

    /** Server-wide values (the audit log): from the CLI only, no route carries them. */
    setServerRetention(patch: unknown, actor: string): PolicyResult<ServerRetentionPolicy> {
      return setServerRetention(db, patch, { actor, now: now() });
    },

    /** One purge run now (`sites`: only those, and not the server-wide audit log). */
    runPurge(o: { trigger: PurgeTrigger; actor?: string; sites?: readonly string[]; at?: Date }): Promise<PurgeReport> {
      return purge.run({
        trigger: o.trigger,
        now: o.at ?? now(),
        ...(o.actor !== undefined ? { actor: o.actor } : {}),
        ...(o.sites !== undefined ? { sites: o.sites } : {}),
      });
    },

    /** The student of that site by its registry id (CLI), or undefined. */
    findStudent(site: string, externalId: string) {
      return findStudent(db, site, externalId);
    },

    exportStudent(site: string, studentId: number): PrivacyResult<{ export: PersonExport; markdown: string }> {
      const x = buildPersonExport(
        db,
        site,
        studentId,
        {
          consentStatus: (id) => consent.status(id),
          consentHistory: (id) => consent.history(id),
          retention: (s) => getSiteRetention(db, s).policy,
        },
        now(),
      );
      if (!x)
        return {
          ok: false,
          error: { code: 'PRIVACY_ERR_STUDENT', message: `no student ${studentId} at site ${site}` },
        };
      return { ok: true, value: { export: x, markdown: personExportMarkdown(x) } };
    },

    /**
     * Erasure on request (RGPD art. 17), through the people module's erasure (the same path as a
     * withdrawal: ciphertext and photo deleted, credentials revoked, receipts), then the access
     * events of the student's credentials, unless `keepEvents` (an incident under investigation).
     */
    eraseStudent(
      site: string,
      studentId: number,
      o: { actor: string; keepEvents?: boolean },
    ): PrivacyResult<ErasureResult> {
      const s = getStudent(db, studentId);
      if (!s || s.site !== site) {
        return {
          ok: false,
          error: { code: 'PRIVACY_ERR_STUDENT', message: `no student ${studentId} at site ${site}` },
        };
      }
      return db.transaction((): PrivacyResult<ErasureResult> => {
        const credentialIds = credentialsOfStudent(db, studentId).map((c) => c.id);
        const r = withdrawal.eraseStudent(studentId, { actor: o.actor, reason: 'erasure-request' });
        if (!r.ok) return { ok: false, error: { code: 'PRIVACY_ERR_STUDENT', message: r.error.message } };
        let accessEventsDeleted = 0;
        if (!o.keepEvents && credentialIds.length > 0) {
          accessEventsDeleted = db
            .prepare(
              `DELETE FROM events WHERE kind = 'access' AND site = ?
                 AND json_extract(payload, '$.credentialId') IN (${credentialIds.map(() => '?').join(', ')})`,
            )
            .run(site, ...credentialIds).changes;
        }
        return { ok: true, value: { studentId, withdrawal: r.value, accessEventsDeleted, credentialIds } };
      })();
    },

    registerInputs,

    register(site: string): { inputs: RegisterInputs; markdown: string } {
      const inputs = registerInputs(site);
      return { inputs, markdown: renderRegisterMarkdown(inputs) };
    },

    registerInfo(site: string): RegisterInfo {
      return getRegisterInfo(db, site);
    },

    setRegisterInfo(site: string, patch: unknown, actor: string): RegisterInfoResult {
      return setRegisterInfo(db, site, patch, { actor, now: now() });
    },

    pilot(site: string): PilotView {
      const today = localDate(now(), siteTimeZone(db, site));
      const p = latestPilot(db, site) ?? null;
      return { pilot: p, state: p ? pilotState(p, today) : null, today };
    },

    declarePilot(site: string, input: unknown, actor: string): DeclareResult {
      return declarePilot(db, site, input, { actor, now: now() });
    },

    equalService(site: string, from: string, to: string): EqualServiceReport {
      return equalServiceReport(db, site, from, to);
    },

    /** The service's clock (a fake one in tests): default periods are counted from it. */
    now,
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
