import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useConsole } from '../../../api/api-context.js';
import { AdminSitePicker, useAdminSites } from '../admin-site-picker.js';
import { formatDateTime, formatNumber } from '../../../format.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import {
  canWriteRetention,
  gateLabel,
  parseDays,
  privacyApi,
  privacySitesOf,
  retentionPatch,
  RETENTION_KEYS,
  type EqualService,
  type GateFigures,
  type PilotState,
  type Retention,
  type RetentionKey,
} from './privacy-api.js';
import './privacy.css';

const PERIOD_KEY: Record<RetentionKey, MessageKey> = {
  accessEventsDays: 'admin.privacy.period.accessEventsDays',
  movementEventsDays: 'admin.privacy.period.movementEventsDays',
  cameraEventsDays: 'admin.privacy.period.cameraEventsDays',
  visitorsDays: 'admin.privacy.period.visitorsDays',
  departedStudentsDays: 'admin.privacy.period.departedStudentsDays',
};

/**
 * Admin section « privacy »: per site, the retention table with its hard maximums (editable by
 * site admins), the register of processing as Markdown, the pilot declaration and its summary, and
 * the equal-service figures per gate. Regional IT reads all of it (no personal data), writes none.
 */
export function PrivacySection() {
  const { t } = useI18n();
  const { session } = useConsole();
  const allowed = useMemo(() => privacySitesOf(session), [session]);
  const picker = useAdminSites(allowed);
  const { sites, site } = picker;

  return (
    <section className="card admin-privacy" data-testid="admin-section-privacy" aria-labelledby="admin-privacy-title">
      <div className="privacy-head">
        <h2 id="admin-privacy-title">{t('admin.nav.privacy')}</h2>
        <AdminSitePicker {...picker} label={t('admin.privacy.site')} testId="privacy-site" />
      </div>
      {sites === null ? <p className="muted">{t('admin.privacy.loading')}</p> : null}
      {sites && sites.length === 0 ? <p className="muted">{t('admin.privacy.noSite')}</p> : null}
      {site ? (
        <div className="privacy-site" key={site}>
          <RetentionPanel site={site} />
          <RegisterPanel site={site} />
          <PilotPanel site={site} />
          <EqualServicePanel site={site} />
        </div>
      ) : null}
    </section>
  );
}

function RetentionPanel({ site }: { site: string }) {
  const { t, lang } = useI18n();
  const { api, session } = useConsole();
  const papi = useMemo(() => privacyApi(api), [api]);
  const writable = canWriteRetention(session, site);
  const [retention, setRetention] = useState<Retention | null>(null);
  const [edited, setEdited] = useState<Partial<Record<RetentionKey, string>>>({});
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const load = useCallback(async () => {
    const r = await papi.retention(site);
    if (r.ok) setRetention(r.value.retention);
    else setMessage({ ok: false, text: r.message ?? r.error });
  }, [papi, site]);
  useEffect(() => {
    void load();
  }, [load]);

  const problems = retention
    ? RETENTION_KEYS.flatMap((k) => {
        const text = edited[k];
        if (text === undefined) return [];
        const p = parseDays(text, retention.limits[k]);
        return p.ok ? [] : [{ key: k, reason: p.reason }];
      })
    : [];

  async function save(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    if (!retention || problems.length > 0) return;
    const values = Object.fromEntries(Object.entries(edited).map(([k, v]) => [k, Number((v ?? '').trim())])) as Partial<
      Record<RetentionKey, number>
    >;
    const patch = retentionPatch(retention.policy, values);
    if (Object.keys(patch).length === 0) return;
    const r = await papi.setRetention(site, patch);
    if (r.ok) {
      setRetention(r.value.retention);
      setEdited({});
      setMessage({ ok: true, text: t('admin.privacy.retention.saved') });
    } else setMessage({ ok: false, text: r.message ?? r.error });
  }

  return (
    <form className="privacy-panel" onSubmit={(ev) => void save(ev)} data-testid="privacy-retention">
      <h3>{t('admin.privacy.retention.title')}</h3>
      {retention ? (
        <>
          <table className="grid">
            <thead>
              <tr>
                <th>{t('admin.privacy.retention.col.data')}</th>
                <th>{t('admin.privacy.retention.col.days')}</th>
                <th>{t('admin.privacy.retention.col.default')}</th>
                <th>{t('admin.privacy.retention.col.max')}</th>
              </tr>
            </thead>
            <tbody>
              {RETENTION_KEYS.map((k) => {
                const limit = retention.limits[k];
                const problem = problems.find((p) => p.key === k);
                return (
                  <tr key={k} data-testid={`privacy-retention-${k}`}>
                    <td>{t(PERIOD_KEY[k])}</td>
                    <td>
                      {writable ? (
                        <input
                          className="privacy-days"
                          inputMode="numeric"
                          aria-label={t(PERIOD_KEY[k])}
                          aria-invalid={problem ? true : undefined}
                          value={edited[k] ?? String(retention.policy[k])}
                          onChange={(e) => setEdited((cur) => ({ ...cur, [k]: e.target.value }))}
                        />
                      ) : (
                        retention.policy[k]
                      )}
                      {problem ? (
                        <div className="login-error small" role="alert">
                          {t(`admin.privacy.retention.${problem.reason}`, { min: limit.minDays, max: limit.maxDays })}
                        </div>
                      ) : null}
                    </td>
                    <td>{limit.defaultDays}</td>
                    <td>
                      <strong>{limit.maxDays}</strong>
                    </td>
                  </tr>
                );
              })}
              <tr>
                <td>{t('admin.privacy.period.auditLogDays')}</td>
                <td>{retention.server.policy.auditLogDays}</td>
                <td>{retention.server.limits.auditLogDays.defaultDays}</td>
                <td>
                  <strong>{retention.server.limits.auditLogDays.maxDays}</strong>
                </td>
              </tr>
            </tbody>
          </table>
          <p className="muted small">
            {retention.customised && retention.updatedAt
              ? t('admin.privacy.retention.updated', {
                  when: formatDateTime(retention.updatedAt, lang) ?? '',
                  who: retention.updatedBy ?? '',
                })
              : t('admin.privacy.retention.defaults')}{' '}
            {t('admin.privacy.retention.serverWide')}
          </p>
          {writable ? (
            <button type="submit" disabled={problems.length > 0 || Object.keys(edited).length === 0}>
              {t('admin.privacy.retention.save')}
            </button>
          ) : null}
        </>
      ) : (
        <p className="muted">{t('admin.privacy.loading')}</p>
      )}
      {message ? (
        <p className={message.ok ? 'notice' : 'login-error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      ) : null}
    </form>
  );
}

function RegisterPanel({ site }: { site: string }) {
  const { t } = useI18n();
  const { api } = useConsole();
  const url = privacyApi(api).registerUrl(site);
  return (
    <div className="privacy-panel" data-testid="privacy-register">
      <h3>{t('admin.privacy.register.title')}</h3>
      <p className="muted small">{t('admin.privacy.register.intro')}</p>
      <a className="button" href={url} download={`registre-${site}.md`} data-testid="privacy-register-download">
        {t('admin.privacy.register.download')}
      </a>
    </div>
  );
}

function PilotPanel({ site }: { site: string }) {
  const { t } = useI18n();
  const { api, session } = useConsole();
  const papi = useMemo(() => privacyApi(api), [api]);
  const writable = canWriteRetention(session, site);
  const [state, setState] = useState<PilotState | null>(null);
  const [endsOn, setEndsOn] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    void papi.pilot(site).then((r) => {
      if (r.ok) setState(r.value);
      else setMessage({ ok: false, text: r.message ?? r.error });
    });
  }, [papi, site]);

  async function declare(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    const r = await papi.declarePilot(site, { endsOn });
    if (r.ok) {
      setState(r.value);
      setMessage({ ok: true, text: t('admin.privacy.pilot.saved') });
    } else setMessage({ ok: false, text: r.message ?? r.error });
  }

  const pilot = state?.pilot ?? null;
  return (
    <form className="privacy-panel" onSubmit={(ev) => void declare(ev)} data-testid="privacy-pilot">
      <h3>{t('admin.privacy.pilot.title')}</h3>
      {pilot ? (
        <p>
          {t('admin.privacy.pilot.declared', { from: pilot.startsOn, to: pilot.endsOn, by: pilot.declaredBy })}{' '}
          <span className="badge badge-info" data-testid="privacy-pilot-state">
            {t(`admin.privacy.pilot.state.${state!.state ?? 'running'}`)}
          </span>
        </p>
      ) : (
        <p className="muted">{t('admin.privacy.pilot.none')}</p>
      )}
      {pilot?.summary ? <PilotSummary summary={pilot.summary} /> : null}
      <p className="muted small">{t('admin.privacy.pilot.intro')}</p>
      {writable && state?.state !== 'ended' ? (
        <div className="privacy-form-row">
          <label>
            {t('admin.privacy.pilot.endsOn')}{' '}
            <input type="date" value={endsOn} min={state?.today} onChange={(e) => setEndsOn(e.target.value)} />
          </label>
          <button type="submit" disabled={!/^\d{4}-\d{2}-\d{2}$/.test(endsOn)}>
            {t(pilot ? 'admin.privacy.pilot.change' : 'admin.privacy.pilot.declare')}
          </button>
        </div>
      ) : null}
      {message ? (
        <p className={message.ok ? 'notice' : 'login-error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      ) : null}
    </form>
  );
}

/** The success criteria summary of an ended pilot: its numbers, as the server computed them. */
function PilotSummary({ summary }: { summary: Record<string, unknown> }) {
  const { t } = useI18n();
  const rows = Object.entries(summary).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  return (
    <div data-testid="privacy-pilot-summary">
      <h4>{t('admin.privacy.pilot.summary')}</h4>
      <table className="grid">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EqualServicePanel({ site }: { site: string }) {
  const { t, lang } = useI18n();
  const { api } = useConsole();
  const papi = useMemo(() => privacyApi(api), [api]);
  const [report, setReport] = useState<EqualService | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void papi.equalService(site).then((r) => {
      if (r.ok) setReport(r.value);
      else setError(r.message ?? r.error);
    });
  }, [papi, site]);

  const ms = (v: number | null) => (v === null ? '—' : `${formatNumber(v, lang, 0)} ms`);
  const row = (label: string, g: GateFigures, key: string) => (
    <tr key={key}>
      <td>{label}</td>
      <td>{g.badgeOnly.passages}</td>
      <td>{ms(g.badgeOnly.medianMs)}</td>
      <td>{ms(g.badgeOnly.p95Ms)}</td>
      <td>{g.biometric.passages}</td>
      <td>{ms(g.biometric.medianMs)}</td>
      <td>{ms(g.biometric.p95Ms)}</td>
      <td>{g.medianRatio === null ? '—' : formatNumber(g.medianRatio, lang, 2)}</td>
    </tr>
  );
  return (
    <div className="privacy-panel" data-testid="privacy-equal-service">
      <h3>{t('admin.privacy.equal.title')}</h3>
      {error ? (
        <p className="login-error" role="alert">
          {error}
        </p>
      ) : null}
      {report ? (
        <>
          <p className="muted small">
            {t('admin.privacy.equal.period', {
              from: formatDateTime(report.from, lang) ?? report.from,
              to: formatDateTime(report.to, lang) ?? report.to,
            })}
          </p>
          <table className="grid">
            <thead>
              <tr>
                <th rowSpan={2}>{t('admin.privacy.equal.gate')}</th>
                <th colSpan={3}>{t('admin.privacy.equal.badgeOnly')}</th>
                <th colSpan={3}>{t('admin.privacy.equal.biometric')}</th>
                <th rowSpan={2}>{t('admin.privacy.equal.ratio')}</th>
              </tr>
              <tr>
                <th>{t('admin.privacy.equal.passages')}</th>
                <th>{t('admin.privacy.equal.median')}</th>
                <th>p95</th>
                <th>{t('admin.privacy.equal.passages')}</th>
                <th>{t('admin.privacy.equal.median')}</th>
                <th>p95</th>
              </tr>
            </thead>
            <tbody>
              {report.gates.map((g, i) => row(gateLabel(g), g, `g${i}`))}
              {row(t('admin.privacy.equal.all'), report.all, 'all')}
            </tbody>
          </table>
        </>
      ) : error ? null : (
        <p className="muted">{t('admin.privacy.loading')}</p>
      )}
    </div>
  );
}
