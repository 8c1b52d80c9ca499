import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import type { ImportJobView } from '../../../live/wire.js';
import { useLiveContext } from '../../../shell/live-context.js';
import { ErrorText } from './error-text.js';
import { importPercent, laterJob, type ImportReportView, type PeopleApi } from './people-api.js';

/**
 * The registry CSV import: upload, then the job's progress (pushed on the live socket, polled as
 * a fallback) and, at its end, the counts and the lines that were skipped with their reason.
 */
export function ImportPanel({ papi, onImported }: { papi: PeopleApi; onImported: () => void }) {
  const { t } = useI18n();
  const { state } = useLiveContext();
  const fileRef = useRef<HTMLInputElement>(null);
  const [mass, setMass] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ code: string; message: string | null } | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [polled, setPolled] = useState<ImportJobView | null>(null);
  const [report, setReport] = useState<ImportReportView | null>(null);
  // the parent's callback changes each render: read through a ref so only a new job restarts the poll
  const importedRef = useRef(onImported);
  importedRef.current = onImported;
  const pushed = jobId ? (state.peopleImports[jobId] ?? null) : null;
  const job = laterJob(polled, pushed);
  const ended = job !== null && (job.state === 'done' || job.state === 'failed');

  useEffect(() => {
    if (!jobId) return undefined;
    let stop = false;
    // the push shows the progress; the report (pupil ids, lines) is read once the job has ended
    const poll = async () => {
      const r = await papi.importJob(jobId);
      if (stop || !r.ok) return;
      setPolled(r.value.job);
      if (r.value.job.state === 'done' || r.value.job.state === 'failed') {
        setReport(r.value.report);
        if (r.value.job.state === 'done') importedRef.current();
        return;
      }
      timer = setTimeout(() => void poll(), 1000);
    };
    let timer = setTimeout(() => void poll(), 300);
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [jobId, papi]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) return;
    setBusy(true);
    setFailure(null);
    setReport(null);
    setPolled(null);
    const r = await papi.importCsv(file, mass);
    setBusy(false);
    if (!r.ok) {
      setFailure({ code: r.error, message: r.message });
      return;
    }
    setPolled(r.value.job);
    setJobId(r.value.job.id);
  };

  const pct = job ? importPercent(job) : 0;
  return (
    <div className="people-import" data-testid="people-import">
      <h3>{t('admin.people.import.title')}</h3>
      <form onSubmit={(e) => void submit(e)} className="people-form-row">
        <label>
          {t('admin.people.import.file')}
          <input ref={fileRef} type="file" accept=".csv,text/csv" required data-testid="people-import-file" />
        </label>
        <label className="people-check">
          <input type="checkbox" checked={mass} onChange={(e) => setMass(e.target.checked)} />{' '}
          {t('admin.people.import.massDeparture')}
        </label>
        <button type="submit" disabled={busy || (job !== null && !ended)} data-testid="people-import-submit">
          {t('admin.people.import.submit')}
        </button>
      </form>
      {failure ? <ErrorText failure={failure} /> : null}
      {job ? (
        <div className="people-import-job" data-testid="people-import-job" data-state={job.state}>
          <progress
            max={100}
            value={pct}
            aria-label={t('admin.people.import.title')}
            data-testid="people-import-progress"
          />{' '}
          <span>
            {t(`admin.people.import.state.${job.state}` as MessageKey)} — {pct} %
          </span>
          {job.error ? <ErrorText failure={job.error} /> : null}
          {job.counts ? (
            <p data-testid="people-import-counts">{t('admin.people.import.counts', { ...job.counts })}</p>
          ) : null}
        </div>
      ) : null}
      {report && report.errors.length > 0 ? (
        <details className="people-import-errors" data-testid="people-import-errors" open>
          <summary>{t('admin.people.import.errors', { count: report.errors.length })}</summary>
          <table className="people-table">
            <thead>
              <tr>
                <th>{t('admin.people.import.col.line')}</th>
                <th>{t('admin.people.import.col.column')}</th>
                <th>{t('admin.people.import.col.reason')}</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e, i) => (
                <tr key={i}>
                  <td>{e.line}</td>
                  <td>{e.column ?? '—'}</td>
                  <td>{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </div>
  );
}
