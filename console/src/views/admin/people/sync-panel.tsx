import { useCallback, useEffect, useState } from 'react';
import { formatDateTime } from '../../../format.js';
import { useI18n } from '../../../i18n/i18n.js';
import type { PeopleApi, SyncStateView } from './people-api.js';

/** What the site's agents hold: the version published, and the one each agent acknowledged. */
export function SyncPanel({ papi }: { papi: PeopleApi }) {
  const { t, lang } = useI18n();
  const [sync, setSync] = useState<SyncStateView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    const r = await papi.sync();
    if (r.ok) {
      setSync(r.value);
      setError(null);
    } else setError(r.message ?? r.error);
  }, [papi]);
  useEffect(() => {
    void load();
    // acknowledgements arrive within seconds of a change: a slow refresh is enough
    const timer = setInterval(() => void load(), 10_000);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <div className="people-sync" data-testid="people-sync">
      <h3>
        {t('admin.people.sync.title')}{' '}
        <button type="button" className="small" onClick={() => void load()}>
          {t('admin.people.sync.refresh')}
        </button>
      </h3>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {sync ? (
        <>
          <p>
            {t('admin.people.sync.version', { version: sync.version ?? '—' })} —{' '}
            {sync.published
              ? t('admin.people.sync.published', {
                  version: sync.published.version,
                  time: formatDateTime(sync.published.publishedAt, lang) ?? '—',
                })
              : t('admin.people.sync.notPublished')}
          </p>
          {sync.agents.length === 0 ? <p className="muted">{t('admin.people.sync.empty')}</p> : null}
          {sync.agents.length > 0 ? (
            <table className="people-table">
              <thead>
                <tr>
                  <th>{t('admin.people.sync.col.agent')}</th>
                  <th>{t('admin.people.sync.col.applied')}</th>
                  <th>{t('admin.people.sync.col.result')}</th>
                  <th>{t('admin.people.sync.col.ack')}</th>
                </tr>
              </thead>
              <tbody>
                {sync.agents.map((a) => (
                  <tr key={a.agent} data-testid={`sync-agent-${a.agent}`}>
                    <td className="mono">{a.agent}</td>
                    <td>
                      {a.appliedVersion ?? '—'}{' '}
                      <span className={a.upToDate ? 'badge badge-ok' : 'badge badge-warn'}>
                        {t(a.upToDate ? 'admin.people.sync.upToDate' : 'admin.people.sync.behind')}
                      </span>
                    </td>
                    <td>
                      {a.result ?? '—'}
                      {a.errors.length > 0 ? <span className="muted small"> {a.errors.join('; ')}</span> : null}
                    </td>
                    <td>{formatDateTime(a.acknowledgedAt, lang) ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
