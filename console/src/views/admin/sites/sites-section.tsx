import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useConsole } from '../../../api/api-context.js';
import type { SessionInfo } from '../../../auth/session.js';
import { formatDateTime } from '../../../format.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import type { AgentView } from '../../../live/wire.js';
import { useLiveContext } from '../../../shell/live-context.js';
import { applyStateOf, issuesAt, LOCATION_TYPES, type ConfigIssue, type LocationType } from './editor-model.js';
import { issuesOf, sitesApi, type CameraInput, type CameraView, type SiteSummary, type SitesApi } from './sites-api.js';
import { ZoneEditor } from './zone-editor.js';
import './sites.css';

/** `perm` at `site` (every site in disabled mode or for a global grant). */
export function allowedAt(s: SessionInfo, perm: string, site: string): boolean {
  if (s.authMode === 'disabled') return true;
  const sites = s.permissions[perm];
  return sites === '*' || (sites !== undefined && sites.includes(site));
}

const SITE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Admin section « sites »: the sites the account sees, each site's agents (state, version, models,
 * sync and configuration versions), its cameras, and the zone and line editor on a camera snapshot.
 */
export function SitesSection() {
  const { t } = useI18n();
  const { api, session } = useConsole();
  const sapi = useMemo(() => sitesApi(api), [api]);
  const [sites, setSites] = useState<SiteSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const { state: live } = useLiveContext();
  // agents come and go while the page is open: the live feed counts them, the list answer is the fallback
  const liveCounts = useMemo(() => {
    const out = new Map<string, { total: number; online: number }>();
    for (const a of Object.values(live.agents)) {
      const c = out.get(a.site) ?? { total: 0, online: 0 };
      out.set(a.site, { total: c.total + 1, online: c.online + (a.state === 'online' ? 1 : 0) });
    }
    return out;
  }, [live.agents]);

  const reload = useCallback(async () => {
    const r = await sapi.listSites();
    if (r.ok) {
      setSites(r.value.sites);
      setError(null);
    } else setError(r.message ?? r.error);
  }, [sapi]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const site = sites?.find((s) => s.site === chosen) ?? sites?.[0] ?? null;
  const canDeclare = session.authMode === 'disabled' || session.permissions['sites:write'] !== undefined;

  return (
    <section className="card admin-sites" data-testid="admin-section-sites" aria-labelledby="admin-sites-title">
      <h2 id="admin-sites-title">{t('admin.nav.sites')}</h2>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {sites === null ? <p className="muted">{t('admin.sites.loading')}</p> : null}
      {sites && sites.length === 0 ? <p className="muted">{t('admin.sites.empty')}</p> : null}
      {sites && sites.length > 0 ? (
        <table className="sites-table" data-testid="sites-table">
          <thead>
            <tr>
              <th>{t('admin.sites.col.site')}</th>
              <th>{t('admin.sites.col.timeZone')}</th>
              <th>{t('admin.sites.col.agents')}</th>
              {sites.some((s) => s.people) ? <th>{t('admin.sites.col.people')}</th> : null}
              <th />
            </tr>
          </thead>
          <tbody>
            {sites.map((s) => (
              <tr key={s.site} data-testid={`site-row-${s.site}`} className={site?.site === s.site ? 'selected' : ''}>
                <td>
                  <strong>{s.name}</strong> <span className="mono muted">{s.site}</span>
                  {!s.declared ? <span className="badge small"> {t('admin.sites.undeclared')}</span> : null}
                </td>
                <td>{s.timeZone}</td>
                <td data-testid="site-agents">{t('admin.sites.agentsCount', liveCounts.get(s.site) ?? s.agents)}</td>
                {sites.some((x) => x.people) ? (
                  <td data-testid="site-people">
                    {s.people
                      ? t('admin.sites.peopleCount', { students: s.people.students, enrolled: s.people.enrolled })
                      : ''}
                  </td>
                ) : null}
                <td>
                  <button
                    type="button"
                    aria-pressed={site?.site === s.site}
                    onClick={() => setChosen(s.site)}
                    data-testid={`site-open-${s.site}`}
                  >
                    {t('admin.sites.open')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {canDeclare ? (
        creating ? (
          <SiteForm
            sapi={sapi}
            site={null}
            onDone={(id) => {
              setCreating(false);
              if (id) setChosen(id);
              void reload();
            }}
          />
        ) : (
          <button type="button" onClick={() => setCreating(true)} data-testid="site-declare">
            {t('admin.sites.declare')}
          </button>
        )
      ) : null}
      {site ? <SiteDetail key={site.site} site={site} sapi={sapi} onSiteChanged={() => void reload()} /> : null}
    </section>
  );
}

function SiteForm({
  sapi,
  site,
  onDone,
}: {
  sapi: SitesApi;
  site: SiteSummary | null;
  onDone: (id: string | null) => void;
}) {
  const { t } = useI18n();
  const [id, setId] = useState(site?.site ?? '');
  const [name, setName] = useState(site?.declared ? site.name : '');
  const [timeZone, setTimeZone] = useState(site?.timeZone ?? 'Europe/Paris');
  const [address, setAddress] = useState(site?.settings.address ?? '');
  const [notes, setNotes] = useState(site?.settings.notes ?? '');
  const [issues, setIssues] = useState<ConfigIssue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!SITE_ID.test(id)) {
      setIssues([{ path: 'site', message: t('admin.sites.form.badId') }]);
      return;
    }
    const settings = { ...(address.trim() ? { address: address.trim() } : {}), ...(notes.trim() ? { notes } : {}) };
    const r = await sapi.writeSite(id, { name, timeZone, settings }, site === null);
    if (r.ok) return onDone(id);
    setIssues(issuesOf(r));
    setError(r.status === 409 ? t('admin.sites.form.exists') : (r.message ?? r.error));
  };
  return (
    <form className="site-form" onSubmit={(e) => void submit(e)} data-testid="site-form">
      <h3>{site ? t('admin.sites.form.editTitle', { site: site.site }) : t('admin.sites.form.newTitle')}</h3>
      {site === null ? (
        <label className="field">
          <span>{t('admin.sites.form.id')}</span>
          <input value={id} onChange={(e) => setId(e.target.value)} required pattern={SITE_ID.source} />
        </label>
      ) : null}
      {issuesAt(issues, 'site').map((m, i) => (
        <p key={i} className="field-error">
          {m}
        </p>
      ))}
      <label className="field">
        <span>{t('admin.sites.form.name')}</span>
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} />
      </label>
      {issuesAt(issues, 'name').map((m, i) => (
        <p key={i} className="field-error">
          {m}
        </p>
      ))}
      <label className="field">
        <span>{t('admin.sites.form.timeZone')}</span>
        <input value={timeZone} onChange={(e) => setTimeZone(e.target.value)} required />
      </label>
      {issuesAt(issues, 'timeZone').map((m, i) => (
        <p key={i} className="field-error">
          {m}
        </p>
      ))}
      <label className="field">
        <span>{t('admin.sites.form.address')}</span>
        <input value={address} onChange={(e) => setAddress(e.target.value)} maxLength={300} />
      </label>
      <label className="field">
        <span>{t('admin.sites.form.notes')}</span>
        <textarea value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={2000} rows={2} />
      </label>
      {issuesAt(issues, 'settings').map((m, i) => (
        <p key={i} className="field-error">
          {m}
        </p>
      ))}
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="primary">
        {t('admin.sites.form.save')}
      </button>{' '}
      <button type="button" onClick={() => onDone(null)}>
        {t('admin.sites.form.cancel')}
      </button>
    </form>
  );
}

function SiteDetail({ site, sapi, onSiteChanged }: { site: SiteSummary; sapi: SitesApi; onSiteChanged: () => void }) {
  const { t } = useI18n();
  const { session } = useConsole();
  const { state } = useLiveContext();
  const [editingSite, setEditingSite] = useState(false);
  const [cameras, setCameras] = useState<CameraView[] | null>(null);
  const [editor, setEditor] = useState<{ agent: string; camera: string } | null>(null);
  const [versions, setVersions] = useState<Record<string, number | null>>({});
  const agents = useMemo(
    () =>
      Object.values(state.agents)
        .filter((a) => a.site === site.site)
        .sort((a, b) => a.agent.localeCompare(b.agent)),
    [state.agents, site.site],
  );
  const agentIds = agents.map((a) => a.agent).join(',');

  const loadCameras = useCallback(async () => {
    const r = await sapi.cameras(site.site);
    // before the camera registry lands (404), the cameras the agents report are listed below
    setCameras(r.ok ? r.value.cameras : []);
  }, [sapi, site.site]);
  useEffect(() => {
    void loadCameras();
  }, [loadCameras]);

  // the configuration version each agent was given (the live feed carries only the agent's answer)
  useEffect(() => {
    let alive = true;
    for (const a of agentIds ? agentIds.split(',') : []) {
      void sapi.agentConfig(site.site, a).then((r) => {
        if (alive && r.ok) setVersions((v) => ({ ...v, [a]: r.value.current?.version ?? null }));
      });
    }
    return () => {
      alive = false;
    };
  }, [sapi, site.site, agentIds]);

  const listed: CameraView[] = useMemo(() => {
    const out = [...(cameras ?? [])];
    for (const a of agents) {
      for (const c of a.status?.cameras ?? []) {
        if (out.some((x) => x.agent === a.agent && x.camera === c.id)) continue;
        out.push({
          site: site.site,
          agent: a.agent,
          camera: c.id,
          registered: false,
          name: null,
          role: c.role,
          locationType: null,
          trackingEnabled: null,
          hasUrl: false,
          reported: { role: c.role, state: c.state },
        });
      }
    }
    return out.sort((x, y) => x.agent.localeCompare(y.agent) || x.camera.localeCompare(y.camera));
  }, [cameras, agents, site.site]);

  const canRules = allowedAt(session, 'zones:write', site.site);
  const canCameras = allowedAt(session, 'cameras:write', site.site);
  const canSite = allowedAt(session, 'sites:write', site.site);
  const editorCamera = editor
    ? (listed.find((c) => c.agent === editor.agent && c.camera === editor.camera) ?? null)
    : null;

  return (
    <div className="site-detail" data-testid={`site-detail-${site.site}`}>
      <h3>
        {site.name} <span className="mono muted">{site.site}</span>
      </h3>
      {site.settings.address ? <p className="muted">{site.settings.address}</p> : null}
      {canSite ? (
        editingSite ? (
          <SiteForm
            sapi={sapi}
            site={site}
            onDone={() => {
              setEditingSite(false);
              onSiteChanged();
            }}
          />
        ) : (
          <button type="button" onClick={() => setEditingSite(true)} data-testid="site-edit">
            {t('admin.sites.edit')}
          </button>
        )
      ) : null}

      <h4>{t('admin.sites.agents.title')}</h4>
      {agents.length === 0 ? (
        <p className="muted">{t('admin.sites.agents.empty')}</p>
      ) : (
        <AgentsTable agents={agents} versions={versions} />
      )}

      <h4>{t('admin.sites.cameras.title')}</h4>
      {listed.length === 0 ? <p className="muted">{t('admin.sites.cameras.empty')}</p> : null}
      {listed.length ? (
        <table className="cameras-table" data-testid="cameras-table">
          <thead>
            <tr>
              <th>{t('admin.sites.cameras.col.camera')}</th>
              <th>{t('admin.sites.cameras.col.role')}</th>
              <th>{t('admin.sites.cameras.col.location')}</th>
              <th>{t('admin.sites.cameras.col.tracking')}</th>
              <th>{t('admin.sites.cameras.col.state')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {listed.map((c) => (
              <CameraRow
                key={`${c.agent}/${c.camera}`}
                cam={c}
                sapi={sapi}
                canCameras={canCameras}
                canEditor={canRules || canCameras}
                onChanged={() => void loadCameras()}
                onEditor={() => setEditor({ agent: c.agent, camera: c.camera })}
              />
            ))}
          </tbody>
        </table>
      ) : null}

      {editor ? (
        <ZoneEditor
          key={`${editor.agent}/${editor.camera}`}
          site={site.site}
          agent={editor.agent}
          camera={editor.camera}
          cameraInfo={editorCamera?.registered ? editorCamera : null}
          canRules={canRules}
          canCameras={canCameras}
          onClose={() => setEditor(null)}
          onSaved={(version) => setVersions((v) => ({ ...v, [editor.agent]: version }))}
        />
      ) : null}
    </div>
  );
}

function AgentsTable({ agents, versions }: { agents: AgentView[]; versions: Record<string, number | null> }) {
  const { t, lang } = useI18n();
  const none = <span className="muted">{t('common.none')}</span>;
  return (
    <table className="site-agents" data-testid="site-agents-table">
      <thead>
        <tr>
          <th>{t('admin.sites.agents.col.agent')}</th>
          <th>{t('admin.sites.agents.col.provisioning')}</th>
          <th>{t('admin.sites.agents.col.version')}</th>
          <th>{t('admin.sites.agents.col.models')}</th>
          <th>{t('admin.sites.agents.col.sync')}</th>
          <th>{t('admin.sites.agents.col.lastSeen')}</th>
          <th>{t('admin.sites.agents.col.config')}</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((a) => {
          const apply = applyStateOf(a.configState ?? null, versions[a.agent] ?? null);
          const models = a.status?.models ?? [];
          return (
            <tr key={a.agent} data-testid={`site-agent-${a.agent}`}>
              <td className="mono">{a.agent}</td>
              <td>
                <span className={`badge badge-${a.state}`} data-testid="agent-provisioning" data-state={a.state}>
                  {a.status ? t(`agent.state.${a.state}`) : t('admin.sites.agents.neverReported')}
                </span>
              </td>
              <td>{a.status?.version ?? none}</td>
              <td className="small">
                {models.length
                  ? models.map((m) => (
                      <div key={m.name}>
                        <span className="mono">{m.name}</span> <span className="muted">({m.provider ?? '?'})</span>
                      </div>
                    ))
                  : none}
              </td>
              <td data-testid="agent-sync">
                {a.syncState ? (
                  <span
                    className={a.syncState.result === 'rejected' ? 'bad' : ''}
                    title={a.syncState.errors?.join('\n')}
                  >
                    {t('admin.sites.agents.syncVersion', { version: a.syncState.appliedVersion ?? '—' })}
                  </span>
                ) : (
                  none
                )}
              </td>
              <td title={a.lastSeen ?? undefined}>{formatDateTime(a.lastSeen, lang) ?? none}</td>
              <td data-testid="agent-config-state" data-kind={apply.kind}>
                {apply.kind === 'applied' ? (
                  <span className="ok">{t('admin.sites.apply.applied', { version: apply.version })}</span>
                ) : apply.kind === 'rejected' ? (
                  <>
                    <span className="bad">{t('admin.sites.apply.rejected', { version: apply.version ?? '?' })}</span>
                    <ul className="small apply-errors">
                      {apply.errors.map((e, i) => (
                        <li key={i}>{e}</li>
                      ))}
                    </ul>
                    {apply.inForce !== null ? (
                      <span className="muted small">{t('admin.sites.apply.inForce', { version: apply.inForce })}</span>
                    ) : null}
                  </>
                ) : apply.kind === 'pending' ? (
                  <span className="warn">{t('admin.sites.apply.pending', { version: apply.version })}</span>
                ) : (
                  none
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const LOCATION_KEYS: Record<LocationType, MessageKey> = {
  entrance: 'admin.sites.location.entrance',
  circulation: 'admin.sites.location.circulation',
  playground: 'admin.sites.location.playground',
  classroom: 'admin.sites.location.classroom',
  canteen: 'admin.sites.location.canteen',
  other: 'admin.sites.location.other',
};
const ROLE_KEYS: Record<string, MessageKey> = {
  gate: 'admin.sites.role.gate',
  tracking: 'admin.sites.role.tracking',
  both: 'admin.sites.role.both',
};

function CameraRow(props: {
  cam: CameraView;
  sapi: SitesApi;
  canCameras: boolean;
  canEditor: boolean;
  onChanged: () => void;
  onEditor: () => void;
}) {
  const { cam, sapi, canCameras, canEditor, onChanged, onEditor } = props;
  const { t } = useI18n();
  const [editing, setEditing] = useState(false);
  const roleKey = cam.role ? ROLE_KEYS[cam.role] : undefined;
  return (
    <>
      <tr data-testid={`camera-row-${cam.agent}-${cam.camera}`}>
        <td>
          {cam.name ? <strong>{cam.name} </strong> : null}
          <span className="mono">
            {cam.agent}/{cam.camera}
          </span>
        </td>
        <td>{roleKey ? t(roleKey) : (cam.role ?? '')}</td>
        <td>
          {cam.locationType ? t(LOCATION_KEYS[cam.locationType]) : <span className="muted">{t('common.none')}</span>}
        </td>
        <td>{cam.trackingEnabled === null ? '' : cam.trackingEnabled ? t('admin.sites.yes') : t('admin.sites.no')}</td>
        <td>
          {cam.reported ? t(`camera.state.${cam.reported.state as 'online'}`) : t('admin.sites.cameras.notReported')}
        </td>
        <td className="actions">
          {canEditor ? (
            <button type="button" onClick={onEditor} data-testid={`camera-zones-${cam.agent}-${cam.camera}`}>
              {t('admin.sites.cameras.zones')}
            </button>
          ) : null}{' '}
          {canCameras ? (
            <button type="button" onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
              {t('admin.sites.cameras.edit')}
            </button>
          ) : null}
        </td>
      </tr>
      {editing ? (
        <tr>
          <td colSpan={6}>
            <CameraForm
              cam={cam}
              sapi={sapi}
              onDone={() => {
                setEditing(false);
                onChanged();
              }}
            />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function CameraForm({ cam, sapi, onDone }: { cam: CameraView; sapi: SitesApi; onDone: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState(cam.name ?? cam.camera);
  const [role, setRole] = useState<CameraInput['role']>((cam.role as CameraInput['role'] | null) ?? 'both');
  const [locationType, setLocationType] = useState<LocationType>(cam.locationType ?? 'other');
  const [trackingEnabled, setTracking] = useState(cam.trackingEnabled ?? false);
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await sapi.putCamera(cam.site, cam.agent, cam.camera, {
      name,
      role,
      locationType,
      trackingEnabled,
      ...(url.trim() ? { rtspUrl: url.trim() } : {}),
    });
    if (r.ok) return onDone();
    setError(r.status === 404 ? t('admin.sites.cameras.registryMissing') : (r.message ?? r.error));
  };
  return (
    <form className="camera-form" onSubmit={(e) => void submit(e)}>
      <label className="field">
        <span>{t('admin.sites.camera.name')}</span>
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
      </label>
      <label className="field">
        <span>{t('admin.sites.camera.role')}</span>
        <select value={role} onChange={(e) => setRole(e.target.value as CameraInput['role'])}>
          {(['gate', 'tracking', 'both'] as const).map((r) => (
            <option key={r} value={r}>
              {t(ROLE_KEYS[r]!)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>{t('admin.sites.camera.locationType')}</span>
        <select value={locationType} onChange={(e) => setLocationType(e.target.value as LocationType)}>
          {LOCATION_TYPES.map((l) => (
            <option key={l} value={l}>
              {t(LOCATION_KEYS[l])}
            </option>
          ))}
        </select>
      </label>
      <label className="inline">
        <input type="checkbox" checked={trackingEnabled} onChange={(e) => setTracking(e.target.checked)} />{' '}
        {t('admin.sites.camera.tracking')}
      </label>
      <label className="field">
        <span>{t('admin.sites.camera.url')}</span>
        <input
          type="password"
          autoComplete="off"
          value={url}
          placeholder={cam.hasUrl ? (cam.url ?? t('admin.sites.camera.urlKept')) : 'rtsp://'}
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="primary">
        {t('admin.sites.form.save')}
      </button>{' '}
      <button type="button" onClick={onDone}>
        {t('admin.sites.form.cancel')}
      </button>
    </form>
  );
}
