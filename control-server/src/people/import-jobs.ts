import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { parseRegistryCsv, type ParseOptions } from './registry-csv.js';
import { importRegistry, type ImportErrorCode, type ImportReport } from './registry-import.js';
import { fail, ok, type Result } from './result.js';

/**
 * Registry imports started from the HTTP API: a job per upload, its progress pollable and pushed
 * (no personal data in the progress: counts only; the report, with pupil ids and line errors, is
 * read through the API). The file is parsed once up front so that a wrong encoding or missing
 * columns is refused at once; then the import runs in its one transaction (importRegistry) on the
 * next turn of the event loop. Jobs are kept in memory for an hour, the last 20 per site.
 */
export type ImportJobState = 'queued' | 'running' | 'done' | 'failed';

export interface ImportCounts {
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  departed: number;
  reactivated: number;
  errors: number;
}

/** What is pushed on /ws (`people.import`): nothing personal. */
export interface ImportJobProgress {
  id: string;
  site: string;
  state: ImportJobState;
  phase: 'parse' | 'write' | null;
  done: number;
  total: number;
  createdAt: string;
  finishedAt: string | null;
  counts: ImportCounts | null;
  error: { code: string; message: string } | null;
}

export interface ImportJob extends ImportJobProgress {
  /** the full report once done: changes and departures by pupil id, malformed lines */
  report: ImportReport | null;
  by: string;
}

export type StartImportErrorCode = ImportErrorCode | 'IMPORT_ERR_RUNNING';

export interface ImportJobsDeps {
  db: Database;
  /** each change of a job (progress, end) */
  publish(progress: ImportJobProgress): void;
  /** the import changed what agents hold (departures revoke credentials) */
  onSyncChange?(site: string): void;
  logger?: Logger;
  now?: () => Date;
  keepMs?: number;
  keepPerSite?: number;
  parse?: ParseOptions;
}

export interface StartImportInput {
  site: string;
  bytes: Uint8Array;
  actor: string;
  allowMassDeparture?: boolean;
}

export interface ImportJobs {
  /** parse now (refusal as a value), then import on the next turn; `onEnd` when the job ends */
  start(input: StartImportInput, onEnd?: (job: ImportJob) => void): Result<ImportJob, StartImportErrorCode>;
  get(site: string, id: string): ImportJob | undefined;
  list(site: string): ImportJob[];
  /** resolves when no job is queued or running (tests, shutdown) */
  idle(): Promise<void>;
}

const countsOf = (r: ImportReport): ImportCounts => ({
  rows: r.rows,
  inserted: r.inserted,
  updated: r.updated,
  unchanged: r.unchanged,
  departed: r.departed,
  reactivated: r.reactivated,
  errors: r.errors.length,
});

export function progressOf(job: ImportJob): ImportJobProgress {
  const { report: _report, by: _by, ...progress } = job;
  return { ...progress, counts: progress.counts ? { ...progress.counts } : null };
}

export function createImportJobs(deps: ImportJobsDeps): ImportJobs {
  const now = deps.now ?? (() => new Date());
  const keepMs = deps.keepMs ?? 3_600_000;
  const keepPerSite = deps.keepPerSite ?? 20;
  const jobs = new Map<string, ImportJob>();
  const pending = new Set<Promise<void>>();

  const publish = (job: ImportJob) => {
    try {
      deps.publish(progressOf(job));
    } catch (err) {
      // a push that fails must not fail the import: the job stays pollable
      deps.logger?.warn({ err: (err as Error).message }, 'import progress not pushed');
    }
  };
  const prune = (site: string) => {
    const cutoff = now().getTime() - keepMs;
    const ofSite = [...jobs.values()].filter((j) => j.site === site);
    ofSite.forEach((j, i) => {
      const ended = j.finishedAt !== null;
      if (ended && (Date.parse(j.finishedAt!) < cutoff || i < ofSite.length - keepPerSite)) jobs.delete(j.id);
    });
  };

  function run(job: ImportJob, input: StartImportInput, onEnd?: (job: ImportJob) => void): void {
    job.state = 'running';
    publish(job);
    let lastPct = -1;
    let lastPhase: ImportJob['phase'] = null;
    let result: Result<ImportReport, ImportErrorCode | 'IMPORT_ERR_INTERNAL'>;
    try {
      result = importRegistry(deps.db, {
        site: input.site,
        bytes: input.bytes,
        actor: input.actor,
        ...(input.allowMassDeparture ? { allowMassDeparture: true } : {}),
        ...(deps.parse ? { parse: deps.parse } : {}),
        now: now(),
        onProgress: (p) => {
          job.phase = p.phase;
          job.done = p.done;
          job.total = p.total;
          const pct = Math.floor((100 * p.done) / Math.max(1, p.total));
          // every 5 % and each phase change: enough for a progress bar, not a flood
          if (p.phase !== lastPhase || pct >= lastPct + 5 || p.done === p.total) {
            lastPhase = p.phase;
            lastPct = pct;
            publish(job);
          }
        },
      });
    } catch (err) {
      // a bug or a database failure: the transaction rolled back, the job says so
      deps.logger?.error({ err, site: input.site }, 'registry import failed');
      result = fail('IMPORT_ERR_INTERNAL', `the import failed and wrote nothing: ${(err as Error).message}`);
    } finally {
      // the file holds names and birth dates: not kept once read
      input.bytes.fill(0);
    }
    job.finishedAt = now().toISOString();
    if (result.ok) {
      job.state = 'done';
      job.report = result.value;
      job.counts = countsOf(result.value);
      if (result.value.departed > 0) deps.onSyncChange?.(input.site);
    } else {
      job.state = 'failed';
      job.error = { code: result.error.code, message: result.error.message };
    }
    publish(job);
    prune(input.site);
    onEnd?.(job);
  }

  return {
    start(input, onEnd) {
      const parsed = parseRegistryCsv(input.bytes, deps.parse);
      if (!parsed.ok) {
        input.bytes.fill(0);
        return fail(parsed.error.code, parsed.error.message);
      }
      const busy = [...jobs.values()].find(
        (j) => j.site === input.site && (j.state === 'queued' || j.state === 'running'),
      );
      if (busy) {
        input.bytes.fill(0);
        return fail(
          'IMPORT_ERR_RUNNING',
          `an import of site ${input.site} is running (job ${busy.id}): wait for its end`,
        );
      }
      const job: ImportJob = {
        id: randomUUID(),
        site: input.site,
        state: 'queued',
        phase: 'parse',
        done: 0,
        total: input.bytes.length,
        createdAt: now().toISOString(),
        finishedAt: null,
        counts: null,
        error: null,
        report: null,
        by: input.actor,
      };
      jobs.set(job.id, job);
      publish(job);
      // the next turn: the request is answered (with the job id) before the transaction holds the loop
      const p = new Promise<void>((resolve) =>
        setImmediate(() => {
          try {
            run(job, input, onEnd);
          } finally {
            resolve();
          }
        }),
      );
      pending.add(p);
      void p.then(() => pending.delete(p));
      return ok(job);
    },
    get(site, id) {
      const j = jobs.get(id);
      return j && j.site === site ? j : undefined;
    },
    list(site) {
      return [...jobs.values()].filter((j) => j.site === site).reverse();
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
