import { useCallback, useEffect, useMemo, useState } from 'react';
import { useConsole } from '../../../api/api-context.js';
import { AdminSitePicker, useAdminSites } from '../admin-site-picker.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import { ImportPanel } from './import-panel.js';
import { peopleApi, peopleSitesOf, type StudentSummary } from './people-api.js';
import { StudentDetailPanel } from './student-detail.js';
import { SyncPanel } from './sync-panel.js';
import './people.css';

/**
 * Admin section « people » (site admins): per site, the registry import with its progress and
 * report, the students with their consent state, a student's consents, enrolment by photo and
 * cards, and what the site's agents hold (sync). Every call is checked per site by the server.
 */
export function PeopleSection() {
  const { t } = useI18n();
  const { session } = useConsole();
  const allowed = useMemo(() => peopleSitesOf(session), [session]);
  const picker = useAdminSites(allowed);
  const { sites, site } = picker;

  return (
    <section className="card admin-people" data-testid="admin-section-people" aria-labelledby="admin-people-title">
      <div className="people-head">
        <h2 id="admin-people-title">{t('admin.nav.people')}</h2>
        <AdminSitePicker {...picker} label={t('admin.people.site')} testId="people-site" className="people-site" />
      </div>
      {sites === null ? <p className="muted">{t('admin.people.loading')}</p> : null}
      {sites && sites.length === 0 ? <p className="muted">{t('admin.people.noSite')}</p> : null}
      {site ? <SitePeople key={site} site={site} /> : null}
    </section>
  );
}

const CONSENT_CLASS: Record<StudentSummary['consent'], string> = {
  complete: 'badge badge-ok',
  partial: 'badge badge-warn',
  refused: 'badge badge-bad',
  none: 'badge',
};

function SitePeople({ site }: { site: string }) {
  const { t } = useI18n();
  const { api } = useConsole();
  const papi = useMemo(() => peopleApi(api, site), [api, site]);
  const [q, setQ] = useState('');
  const [status, setStatus] = useState<'active' | 'departed' | 'all'>('active');
  const [list, setList] = useState<{ total: number; students: StudentSummary[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);

  const reload = useCallback(async () => {
    const r = await papi.list(q, status);
    if (r.ok) {
      setList(r.value);
      setError(null);
    } else setError(r.message ?? r.error);
  }, [papi, q, status]);
  useEffect(() => {
    // typing in the search box: one request once the typing pauses
    const timer = setTimeout(() => void reload(), 250);
    return () => clearTimeout(timer);
  }, [reload]);

  return (
    <div className="people-site-body">
      <ImportPanel papi={papi} onImported={() => void reload()} />
      <div className="people-students" data-testid="people-students">
        <h3>{t('admin.people.students.title')}</h3>
        <div className="people-filters">
          <input
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder={t('admin.people.students.search')}
            aria-label={t('admin.people.students.search')}
            data-testid="people-search"
          />
          <select
            value={status}
            onChange={(e) => setStatus(e.target.value as typeof status)}
            aria-label={t('admin.people.students.status.all')}
          >
            {(['active', 'departed', 'all'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`admin.people.students.status.${s}` as MessageKey)}
              </option>
            ))}
          </select>
          {list ? (
            <span className="muted" data-testid="people-count">
              {t('admin.people.students.count', { shown: list.students.length, total: list.total })}
            </span>
          ) : null}
        </div>
        {error ? (
          <p className="field-error" role="alert">
            {error}
          </p>
        ) : null}
        {list && list.students.length === 0 ? <p className="muted">{t('admin.people.students.empty')}</p> : null}
        {list && list.students.length > 0 ? (
          <div className="people-table-wrap">
            <table className="people-table">
              <thead>
                <tr>
                  <th>{t('admin.people.students.col.name')}</th>
                  <th>{t('admin.people.students.col.class')}</th>
                  <th>{t('admin.people.students.col.id')}</th>
                  <th>{t('admin.people.students.col.consent')}</th>
                  <th>{t('admin.people.students.col.credential')}</th>
                </tr>
              </thead>
              <tbody>
                {list.students.map((s) => (
                  <tr
                    key={s.id}
                    className={selected === s.id ? 'selected' : ''}
                    data-testid={`student-row-${s.externalId}`}
                  >
                    <td>
                      <button type="button" className="link-button" onClick={() => setSelected(s.id)}>
                        {s.lastName.toUpperCase()} {s.firstName}
                      </button>
                    </td>
                    <td>{s.className}</td>
                    <td className="mono">{s.externalId}</td>
                    <td>
                      <span className={CONSENT_CLASS[s.consent]} data-testid="student-consent">
                        {t(`admin.people.consentSummary.${s.consent}` as MessageKey)}
                      </span>
                    </td>
                    <td data-testid="student-credential">
                      {t(
                        s.credential === null
                          ? 'admin.people.credential.none'
                          : s.credential.biometric
                            ? 'admin.people.credential.biometric'
                            : 'admin.people.credential.badge',
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
      {selected !== null ? (
        <StudentDetailPanel
          key={selected}
          papi={papi}
          studentId={selected}
          onChanged={() => void reload()}
          onClose={() => setSelected(null)}
        />
      ) : null}
      <SyncPanel papi={papi} />
    </div>
  );
}
