import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { localDate } from '../people/school-calendar.js';
import type { VisitorService } from '../people/visitors.js';
import type { WithdrawalService } from '../people/withdrawal.js';
import { purgeAuditLogBefore, type AuditPurgeResult } from './audit-retention.js';
import { TIMING_DEFINITION } from './equal-service.js';
import {
  biometricDataLeft,
  computePilotSummary,
  duePilots,
  latestPilot,
  recordPilotEnd,
  siteTimeZone,
  studentsWithBiometricData,
  type PilotErasure,
  type PilotSummary,
} from './pilot.js';
import {
  alignPeopleVisitorRetention,
  getServerRetention,
  getSiteRetention,
  SERVER_ROW,
  type SiteRetentionPolicy,
} from './retention-policy.js';

/**
 * The retention purge: one run deletes, for every site, what its policy says is due, carries out
 * the end of pilots, and writes receipts. Deletions of people data (visitors, departed students,
 * expired ciphertexts, ID photos, pilot ends) go through the people module, which writes one
 * deletion receipt per person; events are deleted here, in batches, yielding between them so
 * ingest keeps running. Each site where something was deleted gets one `retention.purge` row in
 * the audit log (counts per category and cut-offs): that row is the receipt of the run.
 *
 * Events are due when older than the period by edge time (`ts`) or by server time
 * (`received_at`), whichever says so first: an agent whose clock runs ahead cannot keep its
 * events forever, and a backlog replayed late from an outbox is not kept longer than its passages.
 */

const DAY_MS = 86_400_000;

export type PurgeTrigger = 'startup' | 'schedule' | 'manual';

export interface SitePurgeCounts {
  accessEvents: number;
  movementEvents: number;
  cameraEvents: number;
  visitors: number;
  departedStudents: number;
  /** ciphertexts of credentials past their validity (people module) */
  expiredTemplates: number;
  idPhotos: number;
  /** templates erased because of a pilot end (at the end, or enrolled after it) */
  pilotTemplates: number;
  /** supervisors' alert acknowledgements (free-text notes), kept as long as the events they answer */
  alertAcks: number;
}

export interface SitePurgeReport {
  site: string;
  policy: SiteRetentionPolicy;
  cutoffs: {
    /** ISO times: events with ts or received_at before these were deleted */
    accessEvents: string;
    movementEvents: string;
    cameraEvents: string;
    /** ISO time: students who left before this were erased */
    departedStudents: string;
    /** YYYY-MM-DD, site time: visitors whose visit day is before this are due */
    visitorsVisitDayBefore: string;
  };
  deleted: SitePurgeCounts;
  /** people-module deletion receipts written by this run at this site */
  receipts: { count: number; firstId: number | null; lastId: number | null };
  pilotEnded: { pilotId: number; summary: PilotSummary; erasure: PilotErasure } | null;
  /** audit row of this site's receipt, when one was written */
  auditSeq: number | null;
}

export interface PurgeReport {
  at: string;
  trigger: PurgeTrigger;
  actor: string;
  sites: SitePurgeReport[];
  auditLog: AuditPurgeResult & { auditLogDays: number; auditSeq: number | null };
  totalDeleted: number;
  /** `*` row written when nothing was due (startup, manual, or once a day) */
  heartbeatSeq: number | null;
  durationMs: number;
}

export interface PurgeDeps {
  db: Database;
  audit: AuditLog;
  withdrawal: WithdrawalService;
  visitors: VisitorService;
  logger: Logger;
  /** rows per delete statement: small enough that ingest waits at most a few ms */
  batchSize?: number;
}

export interface RunPurgeOptions {
  trigger: PurgeTrigger;
  actor?: string;
  now: Date;
  /** only these sites (a manual run from a site's page); the server-wide audit log only when absent */
  sites?: readonly string[];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const EMPTY_COUNTS = (): SitePurgeCounts => ({
  accessEvents: 0,
  movementEvents: 0,
  cameraEvents: 0,
  visitors: 0,
  departedStudents: 0,
  expiredTemplates: 0,
  idPhotos: 0,
  pilotTemplates: 0,
  alertAcks: 0,
});

const sum = (c: SitePurgeCounts): number => {
  let n = 0;
  for (const v of Object.values(c) as number[]) n += v;
  return n;
};

export function createRetentionPurge(deps: PurgeDeps) {
  const { db, audit, logger } = deps;
  const batchSize = deps.batchSize ?? 500;
  let lastHeartbeatMs = Number.NEGATIVE_INFINITY;
  // one run at a time: the scheduler and a manual run from the API may overlap
  let queue: Promise<unknown> = Promise.resolve();

  /** Every site with data or a policy, found through the indexes (skip-scan), not a table scan. */
  function knownSites(): string[] {
    const distinct = (table: string) =>
      db
        .prepare<[], { site: string }>(
          `WITH RECURSIVE s(site) AS (
             SELECT min(site) FROM ${table}
             UNION ALL SELECT (SELECT min(site) FROM ${table} WHERE site > s.site) FROM s WHERE s.site IS NOT NULL)
           SELECT site FROM s WHERE site IS NOT NULL`,
        )
        .all()
        .map((r) => r.site);
    const sites = new Set<string>([
      ...distinct('events'),
      ...db
        .prepare<[], { site: string }>('SELECT site FROM people_sites')
        .all()
        .map((r) => r.site),
      ...db
        .prepare<[], { site: string }>('SELECT DISTINCT site FROM visitors')
        .all()
        .map((r) => r.site),
      ...db
        .prepare<[], { site: string }>('SELECT site FROM privacy_sites')
        .all()
        .map((r) => r.site),
      ...db
        .prepare<[], { site: string }>('SELECT DISTINCT site FROM pilots')
        .all()
        .map((r) => r.site),
    ]);
    sites.delete(SERVER_ROW);
    return [...sites].sort();
  }

  // two passes, each a range scan of one index that stops after a batch (an OR of both columns
  // would make SQLite collect every matching row id before the LIMIT)
  const deleteByTs = db.prepare<[string, string, string, number]>(
    `DELETE FROM events WHERE rowid IN (
       SELECT rowid FROM events INDEXED BY events_site_kind_ts WHERE site = ? AND kind = ? AND ts < ? LIMIT ?)`,
  );
  const deleteByReceivedAt = db.prepare<[string, string, string, number]>(
    `DELETE FROM events WHERE rowid IN (
       SELECT rowid FROM events INDEXED BY events_site_kind_received_at
       WHERE site = ? AND kind = ? AND received_at < ? LIMIT ?)`,
  );

  async function deleteEvents(site: string, kind: 'access' | 'movement' | 'camera', cutoff: string): Promise<number> {
    let total = 0;
    for (const stmt of [deleteByTs, deleteByReceivedAt]) {
      for (;;) {
        const n = stmt.run(site, kind, cutoff, batchSize).changes;
        total += n;
        if (n < batchSize) break;
        await yieldToEventLoop();
      }
    }
    return total;
  }

  /** End a due pilot (summary, then erasure), or erase what was enrolled after an ended one. */
  function erasePilotBiometrics(site: string, reason: string, actor: string): PilotErasure {
    const erasure: PilotErasure = {
      students: 0,
      templatesDeleted: 0,
      idPhotosDeleted: 0,
      credentialsRevoked: 0,
      badgeCredentialsIssued: 0,
      receiptIds: [],
      remainingTemplates: 0,
      remainingIdPhotos: 0,
    };
    for (const studentId of studentsWithBiometricData(db, site)) {
      const r = deps.withdrawal.withdrawBiometrics(studentId, { actor, reason });
      if (!r.ok) {
        // the student was erased meanwhile: nothing of theirs is left to delete
        logger.warn({ site, studentId, code: r.error.code }, 'pilot erasure skipped a student');
        continue;
      }
      erasure.students += 1;
      erasure.templatesDeleted += r.value.templatesDeleted.length;
      erasure.idPhotosDeleted += r.value.idPhotoDeleted ? 1 : 0;
      erasure.credentialsRevoked += r.value.credentialsRevoked.length;
      erasure.badgeCredentialsIssued += r.value.replacement ? 1 : 0;
      if (r.value.receipt) erasure.receiptIds.push(r.value.receipt.id);
    }
    const left = biometricDataLeft(db, site);
    erasure.remainingTemplates = left.templates;
    erasure.remainingIdPhotos = left.idPhotos;
    if (left.templates > 0 || left.idPhotos > 0) {
      // templates without a student (none by the people module's invariants) cannot go through it
      logger.error({ site, ...left }, 'biometric data left at a site after the pilot end');
    }
    return erasure;
  }

  function pilotsFor(
    sites: readonly string[],
    now: Date,
    actor: string,
  ): Map<string, SitePurgeReport['pilotEnded'] | number> {
    const out = new Map<string, SitePurgeReport['pilotEnded'] | number>();
    const wanted = new Set(sites);
    for (const p of duePilots(db, now)) {
      if (!wanted.has(p.site)) continue;
      // the summary first: it reads the access events the erasure does not touch, before any purge
      const summary = computePilotSummary(db, p, now, TIMING_DEFINITION);
      const erasure = db.transaction(() => {
        const e = erasePilotBiometrics(p.site, 'pilot-ended', actor);
        recordPilotEnd(db, p.id, { at: now.toISOString(), summary, erasure: e });
        return e;
      })();
      audit.append({
        actor,
        site: p.site,
        action: 'pilot.end',
        target: `pilot:${p.id}`,
        outcome: erasure.remainingTemplates + erasure.remainingIdPhotos === 0 ? 'ok' : 'failed',
        details: { pilotId: p.id, startsOn: p.startsOn, endsOn: p.endsOn, summary, erasure },
      });
      logger.info(
        {
          site: p.site,
          pilotId: p.id,
          templatesDeleted: erasure.templatesDeleted,
          idPhotosDeleted: erasure.idPhotosDeleted,
        },
        'pilot ended: biometric data of the site erased',
      );
      out.set(p.site, { pilotId: p.id, summary, erasure });
    }
    // after the end: nothing biometric may come back until a new pilot is declared
    for (const site of sites) {
      if (out.has(site)) continue;
      const p = latestPilot(db, site);
      if (!p || p.endedAt === null) continue;
      if (studentsWithBiometricData(db, site).length === 0) continue;
      const e = erasePilotBiometrics(site, 'pilot-ended', actor);
      out.set(site, e.templatesDeleted);
    }
    return out;
  }

  async function run(o: RunPurgeOptions): Promise<PurgeReport> {
    const started = performance.now();
    const now = o.now;
    const at = now.toISOString();
    const actor = o.actor ?? 'system';
    const sites = o.sites ? [...o.sites] : knownSites();
    const receiptMark =
      db.prepare<[], { m: number | null }>('SELECT max(id) AS m FROM deletion_receipts').get()!.m ?? 0;

    const pilots = pilotsFor(sites, now, actor);
    const reports: SitePurgeReport[] = [];
    const newReport = (site: string): SitePurgeReport => {
      const policy = getSiteRetention(db, site).policy;
      const cutoff = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
      const today = localDate(now, siteTimeZone(db, site));
      const report: SitePurgeReport = {
        site,
        policy,
        cutoffs: {
          accessEvents: cutoff(policy.accessEventsDays),
          movementEvents: cutoff(policy.movementEventsDays),
          cameraEvents: cutoff(policy.cameraEventsDays),
          departedStudents: cutoff(policy.departedStudentsDays),
          visitorsVisitDayBefore: new Date(Date.parse(`${today}T00:00:00Z`) - policy.visitorsDays * DAY_MS)
            .toISOString()
            .slice(0, 10),
        },
        deleted: EMPTY_COUNTS(),
        receipts: { count: 0, firstId: null, lastId: null },
        pilotEnded: null,
        auditSeq: null,
      };
      reports.push(report);
      return report;
    };
    for (const site of sites) {
      const report = newReport(site);
      const { policy } = report;
      const pilot = pilots.get(site);
      if (typeof pilot === 'number') report.deleted.pilotTemplates = pilot;
      else if (pilot) {
        report.pilotEnded = pilot;
        report.deleted.pilotTemplates = pilot.erasure.templatesDeleted;
      }
      report.deleted.accessEvents = await deleteEvents(site, 'access', report.cutoffs.accessEvents);
      report.deleted.movementEvents = await deleteEvents(site, 'movement', report.cutoffs.movementEvents);
      report.deleted.cameraEvents = await deleteEvents(site, 'camera', report.cutoffs.cameraEvents);
      // an acknowledgement's note is free text and may name someone: it goes with the shorter of the
      // access and movement retentions (the alerts it answers are gone by then anyway)
      const ackCutoff =
        report.cutoffs.accessEvents > report.cutoffs.movementEvents
          ? report.cutoffs.accessEvents
          : report.cutoffs.movementEvents;
      report.deleted.alertAcks = db
        .prepare('DELETE FROM alert_acks WHERE site = ? AND (alert_ts < ? OR acked_at < ?)')
        .run(site, ackCutoff, ackCutoff).changes;

      // the people module dates each visitor's purge at registration; records dated beyond the
      // policy (written under a longer setting) are brought back to it, then purged by that module
      alignPeopleVisitorRetention(db, site, policy.visitorsDays, now);
      db.prepare(
        `UPDATE visitors SET retain_until = date(visit_day, '+' || ? || ' days')
         WHERE site = ? AND retain_until > date(visit_day, '+' || ? || ' days')`,
      ).run(policy.visitorsDays, site, policy.visitorsDays);

      const departed = db
        .prepare<[string, string], { id: number }>(
          "SELECT id FROM students WHERE site = ? AND status = 'departed' AND departed_at < ? ORDER BY id",
        )
        .all(site, report.cutoffs.departedStudents);
      for (const { id } of departed) {
        const r = deps.withdrawal.eraseStudent(id, { actor, reason: 'retention' });
        if (r.ok) report.deleted.departedStudents += 1;
      }
      await yieldToEventLoop();
    }

    // expired ciphertexts, kept ID photos past their date, visitors past theirs: people module
    deps.withdrawal.purgeExpired({ actor });
    deps.visitors.purgeExpired({ actor });

    // what the people module deleted, per site, from the receipts it wrote during this run
    const receipts = db
      .prepare<[number], { id: number; site: string; what: string; reason: string }>(
        'SELECT id, site, what, reason FROM deletion_receipts WHERE id > ? ORDER BY id',
      )
      .all(receiptMark);
    const bySite = new Map(reports.map((r) => [r.site, r]));
    for (const rc of receipts) {
      // the people purges cover every site: a run limited to some sites still accounts for all
      let r = bySite.get(rc.site);
      if (!r) bySite.set(rc.site, (r = newReport(rc.site)));
      r.receipts.count += 1;
      r.receipts.firstId ??= rc.id;
      r.receipts.lastId = rc.id;
      const what = JSON.parse(rc.what) as { visitor?: boolean; idPhoto?: boolean; templates?: unknown[] };
      if (rc.reason === 'expired') r.deleted.expiredTemplates += what.templates?.length ?? 0;
      if (what.visitor === true && rc.reason === 'retention') r.deleted.visitors += 1;
      if (what.idPhoto === true && rc.reason === 'retention') r.deleted.idPhotos += 1;
    }

    for (const r of reports) {
      if (sum(r.deleted) === 0) continue;
      r.auditSeq = audit.append({
        actor,
        site: r.site,
        action: 'retention.purge',
        target: `site:${r.site}`,
        outcome: 'ok',
        details: { trigger: o.trigger, cutoffs: r.cutoffs, deleted: r.deleted, policy: r.policy, receipts: r.receipts },
      }).seq;
    }

    // the audit log is one chain for every site: only a run over all sites purges it
    const auditLogDays = getServerRetention(db).policy.auditLogDays;
    let auditLog: PurgeReport['auditLog'] = { ok: true, rowsRemoved: 0, auditLogDays, auditSeq: null };
    if (!o.sites) {
      const res = purgeAuditLogBefore(db, new Date(now.getTime() - auditLogDays * DAY_MS).toISOString(), { actor, at });
      auditLog = { ...res, auditLogDays, auditSeq: null };
      if (!res.ok) {
        logger.error({ reason: res.reason }, 'audit log retention refused: the oldest rows do not verify');
        auditLog.auditSeq = audit.append({
          actor,
          site: '*',
          action: 'audit.retention',
          outcome: 'failed',
          details: { reason: res.reason, auditLogDays },
        }).seq;
      } else if (res.rowsRemoved > 0) {
        // the first row after the checkpoint: what remains verifies from here
        auditLog.auditSeq = audit.append({
          actor,
          site: '*',
          action: 'audit.retention',
          target: `audit:${'checkpoint' in res ? res.checkpoint.seq : 0}`,
          outcome: 'ok',
          details: { ...res, auditLogDays },
        }).seq;
      }
    }

    let totalDeleted: number = auditLog.rowsRemoved;
    for (const r of reports) totalDeleted += sum(r.deleted);
    let heartbeatSeq: number | null = null;
    if (totalDeleted === 0 && (o.trigger !== 'schedule' || now.getTime() - lastHeartbeatMs >= DAY_MS)) {
      heartbeatSeq = audit.append({
        actor,
        site: '*',
        action: 'retention.purge',
        target: o.sites ? o.sites.map((s) => `site:${s}`).join(',') : 'all',
        outcome: 'ok',
        details: { trigger: o.trigger, sites: sites.length, deleted: 0 },
      }).seq;
      lastHeartbeatMs = now.getTime();
    }
    const durationMs = Math.round(performance.now() - started);
    if (totalDeleted > 0)
      logger.info({ trigger: o.trigger, totalDeleted, sites: sites.length, durationMs }, 'retention purge');
    else logger.debug({ trigger: o.trigger, sites: sites.length, durationMs }, 'retention purge: nothing due');
    return { at, trigger: o.trigger, actor, sites: reports, auditLog, totalDeleted, heartbeatSeq, durationMs };
  }

  return {
    /** One run; concurrent calls are queued, never interleaved. */
    run(o: RunPurgeOptions): Promise<PurgeReport> {
      const next = queue.then(() => run(o));
      // a failed run must not block the next one; the caller still sees its error
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

export type RetentionPurge = ReturnType<typeof createRetentionPurge>;
