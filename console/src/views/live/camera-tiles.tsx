import type { Tracks } from '@portail/protocol';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ApiClient } from '../../api/api-client.js';
import { useConsole } from '../../api/api-context.js';
import { CameraPreview } from '../../components/camera-preview.js';
import { formatNumber } from '../../format.js';
import { useI18n, type MessageKey } from '../../i18n/i18n.js';
import type { AgentView } from '../../live/wire.js';
import { canAt } from './live-sites.js';
import { buildOverlay } from './track-overlay.js';

/** One camera of the site as the tiles show it. */
export interface CameraEntry {
  site: string;
  agent: string;
  camera: string;
  role: string | null;
  state: string | null;
  fps: number | null;
  tracks: { tracks: Tracks; receivedAt: string } | null;
}

/** Every camera the agents of the site report (status, health) or send trails for, sorted. */
export function camerasOf(
  site: string | null,
  agents: readonly AgentView[],
  tracks: Readonly<Record<string, { tracks: Tracks; receivedAt: string }>>,
): CameraEntry[] {
  const out = new Map<string, CameraEntry>();
  const entry = (s: string, agent: string, camera: string): CameraEntry => {
    const k = `${s}/${agent}/${camera}`;
    let e = out.get(k);
    if (!e) {
      e = { site: s, agent, camera, role: null, state: null, fps: null, tracks: tracks[k] ?? null };
      out.set(k, e);
    }
    return e;
  };
  for (const a of agents) {
    if (site !== null && a.site !== site) continue;
    for (const c of a.status?.cameras ?? []) {
      const e = entry(a.site, a.agent, c.id);
      e.role = c.role;
      e.state = c.state;
    }
    for (const c of a.health?.cameras ?? []) {
      const e = entry(a.site, a.agent, c.id);
      e.state = a.state === 'offline' ? 'offline' : c.state;
      e.fps = c.fps;
    }
  }
  for (const v of Object.values(tracks)) {
    if (site === null || v.tracks.site === site) entry(v.tracks.site, v.tracks.agent, v.tracks.camera);
  }
  return [...out.values()].sort((a, b) => a.agent.localeCompare(b.agent) || a.camera.localeCompare(b.camera));
}

type Snapshot =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'shown'; width: number; height: number }
  | { kind: 'none'; reason: MessageKey };

const SNAPSHOT_REASON: Record<number, MessageKey> = {
  403: 'live.tile.snapshotForbidden',
  404: 'live.tile.snapshotNone',
  409: 'live.tile.snapshotUnavailable',
};

/**
 * The camera's snapshot (faces pixelated by the server), drawn on a canvas from the decoded JPEG: no
 * blob: or data: URL, so the Content-Security-Policy stays as strict as it is. A 404 (camera not in
 * the registry) or 409 (no frame to give) leaves a placeholder: rules and trails still show.
 */
function useSnapshot(
  api: ApiClient,
  c: CameraEntry,
  allowed: boolean,
  reg: RegistryEntry | null | undefined,
  canvas: React.RefObject<HTMLCanvasElement | null>,
) {
  const [snap, setSnap] = useState<Snapshot>({ kind: 'idle' });
  const [run, setRun] = useState(0);
  // asked only of cameras the registry can grab a frame from: no request bound to fail
  const why: MessageKey | null = !allowed
    ? 'live.tile.snapshotNotAllowed'
    : reg === undefined
      ? 'live.tile.snapshotLoading'
      : reg === null
        ? 'live.tile.snapshotUnavailable'
        : !reg.registered
          ? 'live.tile.snapshotNone'
          : !reg.hasUrl
            ? 'live.tile.snapshotNoUrl'
            : null;
  useEffect(() => {
    if (why !== null) {
      setSnap({ kind: 'none', reason: why });
      return undefined;
    }
    let cancelled = false;
    setSnap({ kind: 'loading' });
    const url = `/api/sites/${encodeURIComponent(c.site)}/agents/${encodeURIComponent(c.agent)}/cameras/${encodeURIComponent(c.camera)}/snapshot`;
    void (async () => {
      const res = await api.raw(url, { headers: { accept: 'image/jpeg' } });
      if (cancelled) return;
      if (!res || !res.ok) {
        setSnap({ kind: 'none', reason: (res && SNAPSHOT_REASON[res.status]) ?? 'live.tile.snapshotFailed' });
        return;
      }
      try {
        const bitmap = await createImageBitmap(await res.blob());
        if (cancelled) return bitmap.close();
        const el = canvas.current;
        if (el) {
          el.width = bitmap.width;
          el.height = bitmap.height;
          el.getContext('2d')?.drawImage(bitmap, 0, 0);
        }
        setSnap({ kind: 'shown', width: bitmap.width, height: bitmap.height });
        bitmap.close();
      } catch {
        // not an image after all (a proxy page): the placeholder says so
        setSnap({ kind: 'none', reason: 'live.tile.snapshotFailed' });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, c.site, c.agent, c.camera, why, run, canvas]);
  const refresh = useCallback(() => setRun((r) => r + 1), []);
  return { snap, refresh };
}

function CameraTile({ c, nowMs, reg }: { c: CameraEntry; nowMs: number; reg: RegistryEntry | null | undefined }) {
  const { t, lang } = useI18n();
  const { api, session } = useConsole();
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const mayPreview = canAt(session, 'preview:view', c.site);
  const maySnapshot = ['snapshots:read', 'cameras:write', 'zones:write'].some((p) => canAt(session, p, c.site));
  const { snap, refresh } = useSnapshot(api, c, maySnapshot, reg, canvas);
  const [preview, setPreview] = useState(false);
  const frame = snap.kind === 'shown' ? { width: snap.width, height: snap.height } : undefined;
  const overlay = useMemo(
    () => (c.tracks ? buildOverlay(c.tracks.tracks, nowMs - Date.parse(c.tracks.receivedAt), frame) : null),
    [c.tracks, nowMs, frame?.width, frame?.height],
  );
  const width = overlay?.width ?? frame?.width ?? 640;
  const height = overlay?.height ?? frame?.height ?? 360;
  const name = `${c.agent} / ${c.camera}`;
  // labels in frame pixels, readable whatever the frame size once scaled into the tile
  const fontPx = Math.max(12, Math.round(height / 22));
  return (
    <article
      className="camera-tile"
      data-testid={`camera-tile-${c.agent}-${c.camera}`}
      data-state={c.state ?? 'unknown'}
      data-trails={overlay?.trails.length ?? 0}
      aria-label={t('live.tile.label', { camera: name })}
    >
      <header className="camera-tile-head">
        <span>
          <strong className="mono">{name}</strong>
          {reg?.name ? <span className="muted small"> {reg.name}</span> : null}
        </span>
        <span className="camera-tile-meta small">
          {c.state ? (
            <span className={`badge badge-cam-${c.state}`} data-testid="camera-state">
              {t(`camera.state.${c.state}` as MessageKey)}
            </span>
          ) : null}
          {c.fps !== null ? (
            <span className="muted"> {t('live.tile.fps', { fps: formatNumber(c.fps, lang) })}</span>
          ) : null}
        </span>
      </header>
      <div className="camera-frame" style={{ aspectRatio: `${width} / ${height}` }}>
        <canvas
          ref={canvas}
          className={snap.kind === 'shown' ? 'camera-snapshot' : 'camera-snapshot hidden'}
          data-testid="camera-snapshot"
        />
        {snap.kind !== 'shown' ? (
          <div className="camera-placeholder small muted" data-testid="camera-snapshot-placeholder">
            {snap.kind === 'none' ? t(snap.reason) : t('live.tile.snapshotLoading')}
          </div>
        ) : null}
        {overlay ? (
          <svg
            className="camera-overlay"
            viewBox={`0 0 ${width} ${height}`}
            preserveAspectRatio="none"
            data-testid="camera-overlay"
            role="img"
            aria-label={t('live.tile.overlay', {
              zones: overlay.zones.length,
              lines: overlay.lines.length,
              trails: overlay.trails.length,
            })}
          >
            <defs>
              <marker
                id={`arrow-${c.agent}-${c.camera}`}
                viewBox="0 0 10 10"
                refX="8"
                refY="5"
                markerWidth="5"
                markerHeight="5"
                orient="auto-start-reverse"
              >
                <path d="M 0 0 L 10 5 L 0 10 z" className="overlay-arrowhead" />
              </marker>
            </defs>
            {overlay.zones.map((z) => (
              <g key={`z-${z.id}`} data-testid="overlay-zone" data-rule={z.id}>
                <polygon points={z.points} className="overlay-zone" />
                <text x={z.label.x} y={z.label.y} className="overlay-label" fontSize={fontPx}>
                  {z.id}
                </text>
              </g>
            ))}
            {overlay.lines.map((l) => (
              <g key={`l-${l.id}`} data-testid="overlay-line" data-rule={l.id} data-allowed={l.allowedDirection}>
                <line x1={l.x1} y1={l.y1} x2={l.x2} y2={l.y2} className="overlay-line" />
                {l.arrows.map(([x1, y1, x2, y2], i) => (
                  <line
                    key={i}
                    x1={x1}
                    y1={y1}
                    x2={x2}
                    y2={y2}
                    className="overlay-arrow"
                    markerEnd={`url(#arrow-${c.agent}-${c.camera})`}
                  />
                ))}
                <text x={l.x1} y={l.y1 - fontPx / 2} className="overlay-label" fontSize={fontPx}>
                  {l.id}
                </text>
              </g>
            ))}
            {overlay.trails.map((tr) => (
              <g key={`t-${tr.id}`} data-testid="overlay-trail">
                {tr.segments.map((s, i) => (
                  <line
                    key={i}
                    x1={s.x1}
                    y1={s.y1}
                    x2={s.x2}
                    y2={s.y2}
                    className="overlay-trail"
                    strokeOpacity={s.opacity}
                  />
                ))}
                <circle
                  cx={tr.head.x}
                  cy={tr.head.y}
                  r={Math.max(3, width / 160)}
                  className="overlay-head"
                  fillOpacity={tr.head.opacity}
                />
              </g>
            ))}
          </svg>
        ) : null}
      </div>
      <footer className="camera-tile-actions">
        {maySnapshot && reg?.registered && reg.hasUrl ? (
          <button type="button" className="secondary small" onClick={refresh} data-testid="camera-snapshot-refresh">
            {t('live.tile.refresh')}
          </button>
        ) : null}
        {mayPreview ? (
          <button
            type="button"
            className="secondary small"
            data-testid="camera-preview-open"
            aria-expanded={preview}
            onClick={() => setPreview((p) => !p)}
          >
            {t(preview ? 'live.tile.previewClose' : 'live.tile.preview')}
          </button>
        ) : null}
        {!c.tracks ? <span className="muted small">{t('live.tile.noTracking')}</span> : null}
      </footer>
      {preview ? (
        <CameraPreview site={c.site} agent={c.agent} camera={c.camera} label={name} onClose={() => setPreview(false)} />
      ) : null}
    </article>
  );
}

/** What the site's camera registry says of a camera (GET /api/sites/:site/cameras). */
export interface RegistryEntry {
  registered: boolean;
  /** a source URL is stored: the server can grab a frame */
  hasUrl: boolean;
  name: string | null;
}

/**
 * The site's camera registry, by `agent/camera`: undefined while loading, null when it cannot be
 * read (then no snapshot is asked for). Reloaded when the number of cameras shown changes.
 */
function useRegistry(
  api: ApiClient,
  site: string | null,
  count: number,
): Map<string, RegistryEntry> | null | undefined {
  const [reg, setReg] = useState<Map<string, RegistryEntry> | null | undefined>(undefined);
  useEffect(() => {
    if (site === null) {
      setReg(null);
      return undefined;
    }
    let cancelled = false;
    void api
      .get<{
        cameras: Array<{ agent: string; camera: string; registered: boolean; hasUrl: boolean; name: string | null }>;
      }>(`/api/sites/${encodeURIComponent(site)}/cameras`)
      .then((r) => {
        if (cancelled) return;
        setReg(
          r.ok
            ? new Map(
                r.value.cameras.map((c) => [
                  `${c.agent}/${c.camera}`,
                  { registered: c.registered, hasUrl: c.hasUrl, name: c.name },
                ]),
              )
            : null,
        );
      });
    return () => {
      cancelled = true;
    };
  }, [api, site, count]);
  return reg;
}

/** Re-render every `ms` so trails fade between two messages. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/**
 * Per camera: its snapshot (faces pixelated by the server), the declared zones and directed lines,
 * and the last seconds of anonymous trails fading with age; a live preview on demand for those
 * allowed to see faces.
 */
export function CameraTiles({ site, cameras }: { site: string | null; cameras: readonly CameraEntry[] }) {
  const { t } = useI18n();
  const { api } = useConsole();
  const nowMs = useNow(1_000);
  const registry = useRegistry(api, site, cameras.length);
  return (
    <section data-testid="camera-tiles" aria-labelledby="cameras-title">
      <h2 id="cameras-title">{t('live.tiles.title')}</h2>
      <p className="muted small hint">{t('live.tiles.hint')}</p>
      {cameras.length === 0 ? (
        <p className="muted" data-testid="camera-tiles-empty">
          {t('live.tiles.empty')}
        </p>
      ) : (
        <div className="camera-tiles">
          {cameras.map((c) => (
            <CameraTile
              key={`${c.site}/${c.agent}/${c.camera}`}
              c={c}
              nowMs={nowMs}
              reg={
                registry === undefined
                  ? undefined
                  : registry === null
                    ? null
                    : (registry.get(`${c.agent}/${c.camera}`) ?? { registered: false, hasUrl: false, name: null })
              }
            />
          ))}
        </div>
      )}
    </section>
  );
}
