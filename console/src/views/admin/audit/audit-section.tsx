import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useConsole } from '../../../api/api-context.js';
import { formatDateTime } from '../../../format.js';
import { useI18n } from '../../../i18n/i18n.js';
import {
  auditApi,
  detailsText,
  NO_FILTERS,
  type AuditEntry,
  type AuditFilters,
  type AuditVerify,
} from './audit-api.js';
import './audit.css';

/**
 * Admin section « audit »: the rows of the hash-chained log the account may read (its sites; all for
 * regional IT), with filters, pages, the chain check and a JSON-lines export. Reading the log is
 * itself audited by the server; details of personal-data rows are withheld from regional IT.
 */
export function AuditSection() {
  const { t, lang } = useI18n();
  const { api, session } = useConsole();
  const aapi = useMemo(() => auditApi(api), [api]);
  const readable = session.authMode === 'disabled' ? '*' : session.permissions['audit:read'];
  const siteChoices = readable === '*' || readable === undefined ? null : [...readable].sort();
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<AuditVerify | null>(null);
  const [verifying, setVerifying] = useState(false);

  const load = useCallback(
    async (f: AuditFilters, after: string | null) => {
      const r = await aapi.page(f, after);
      if (!r.ok) {
        setError(r.message ?? r.error);
        return;
      }
      setError(null);
      setEntries((cur) => (after && cur ? [...cur, ...r.value.entries] : r.value.entries));
      setCursor(r.value.nextCursor);
    },
    [aapi],
  );
  useEffect(() => {
    void load(filters, null);
  }, [load, filters]);

  function apply(ev: FormEvent<HTMLFormElement>): void {
    ev.preventDefault();
    setEntries(null);
    setFilters(draft);
  }

  async function runVerify(): Promise<void> {
    setVerifying(true);
    const r = await aapi.verify();
    setVerifying(false);
    if (r.ok) setVerify(r.value);
    else setError(r.message ?? r.error);
  }

  const field = (key: keyof AuditFilters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })),
  });

  return (
    <section className="card admin-audit" data-testid="admin-section-audit" aria-labelledby="admin-audit-title">
      <h2 id="admin-audit-title">{t('admin.nav.audit')}</h2>
      <div className="audit-verify">
        <button type="button" onClick={() => void runVerify()} disabled={verifying} data-testid="audit-verify">
          {t('admin.audit.verify')}
        </button>
        {verify ? (
          verify.ok ? (
            <span className="badge badge-ok" data-testid="audit-verify-result" data-ok="true">
              {t('admin.audit.verifyOk', {
                rows: verify.rows,
                head: `${verify.head.seq}:${verify.head.hash.slice(0, 12)}…`,
              })}
            </span>
          ) : (
            <span className="badge badge-bad" role="alert" data-testid="audit-verify-result" data-ok="false">
              {t('admin.audit.verifyBroken', { seq: verify.seq, reason: verify.reason })}
            </span>
          )
        ) : null}
        <a className="button" href={aapi.exportUrl(filters)} download data-testid="audit-export">
          {t('admin.audit.export')}
        </a>
      </div>
      <form className="audit-filters" onSubmit={apply} data-testid="audit-filters">
        <label>
          {t('admin.audit.filter.site')}
          {siteChoices ? (
            <select {...field('site')} data-testid="audit-filter-site">
              <option value="">{t('admin.audit.filter.allSites')}</option>
              {siteChoices.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          ) : (
            <input {...field('site')} placeholder={t('admin.audit.filter.allSites')} data-testid="audit-filter-site" />
          )}
        </label>
        <label>
          {t('admin.audit.filter.from')}
          <input type="date" {...field('from')} />
        </label>
        <label>
          {t('admin.audit.filter.to')}
          <input type="date" {...field('to')} />
        </label>
        <label>
          {t('admin.audit.filter.actor')}
          <input {...field('actor')} data-testid="audit-filter-actor" />
        </label>
        <label>
          {t('admin.audit.filter.action')}
          <input
            {...field('action')}
            placeholder={t('admin.audit.filter.actionExample')}
            data-testid="audit-filter-action"
          />
        </label>
        <button type="submit" data-testid="audit-apply">
          {t('admin.audit.filter.apply')}
        </button>
      </form>
      <p className="muted small">{t('admin.audit.scopeNote')}</p>
      {error ? (
        <p className="login-error" role="alert" data-testid="audit-error">
          {error}
        </p>
      ) : null}
      {entries === null ? (
        <p className="muted">{t('admin.audit.loading')}</p>
      ) : entries.length === 0 ? (
        <p className="muted">{t('admin.audit.empty')}</p>
      ) : (
        <table className="grid audit-table" data-testid="audit-table">
          <thead>
            <tr>
              <th>#</th>
              <th>{t('admin.audit.col.time')}</th>
              <th>{t('admin.audit.col.actor')}</th>
              <th>{t('admin.audit.col.site')}</th>
              <th>{t('admin.audit.col.action')}</th>
              <th>{t('admin.audit.col.target')}</th>
              <th>{t('admin.audit.col.outcome')}</th>
              <th>{t('admin.audit.col.details')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq} data-testid="audit-row" data-action={e.action}>
                <td>{e.seq}</td>
                <td>{formatDateTime(e.ts, lang)}</td>
                <td>
                  {e.actor}
                  {e.role ? <div className="muted small">{e.role}</div> : null}
                </td>
                <td>{e.site ?? '—'}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.target ?? ''}</td>
                <td>
                  <span
                    className={
                      e.outcome === 'ok'
                        ? 'badge badge-ok'
                        : e.outcome === 'denied'
                          ? 'badge badge-warn'
                          : 'badge badge-bad'
                    }
                  >
                    {t(`admin.audit.outcome.${e.outcome}`)}
                  </span>
                </td>
                <td className="audit-details">
                  {e.detailsWithheld ? (
                    <span className="muted">{t('admin.audit.withheld')}</span>
                  ) : (
                    detailsText(e.details)
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor ? (
        <button type="button" onClick={() => void load(filters, cursor)} data-testid="audit-more">
          {t('admin.audit.more')}
        </button>
      ) : null}
    </section>
  );
}
