import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { useConsole } from '../../../api/api-context.js';
import { formatDateTime } from '../../../format.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import { useLiveContext } from '../../../shell/live-context.js';
import {
  addLine,
  addVertex,
  applyStateOf,
  cameraPath,
  clampToFrame,
  clientToFrame,
  deleteRule,
  deleteVertex,
  draftFromConfig,
  inArrow,
  issuesAt,
  LOCATION_TYPES,
  movePoint,
  reverseLine,
  startZone,
  TRACKABLE,
  unplacedIssues,
  updateCamera,
  updateRule,
  type ConfigIssue,
  type Direction,
  type Draft,
  type LocationType,
  type Pt,
  type RuleRef,
} from './editor-model.js';
import { ScheduleEditor } from './schedule-editor.js';
import { issuesOf, sitesApi, type AgentConfigView, type CameraView } from './sites-api.js';

type Tool = 'select' | 'zone' | 'line';
type Drawing = { kind: 'zone'; index: number } | { kind: 'line'; from: Pt } | null;
interface FrameView {
  width: number;
  height: number;
  /** the snapshot (faces pixelated by the server), or null for a blank canvas */
  url: string | null;
}

export interface ZoneEditorProps {
  site: string;
  agent: string;
  camera: string;
  /** the camera as the registry shows it (URL known, location type), when the registry has it */
  cameraInfo: CameraView | null;
  canRules: boolean;
  canCameras: boolean;
  onClose: () => void;
  onSaved: (version: number) => void;
}

const DEFAULT_FRAME = { width: 640, height: 480 };
const LOCATION_KEYS: Record<LocationType, MessageKey> = {
  entrance: 'admin.sites.location.entrance',
  circulation: 'admin.sites.location.circulation',
  playground: 'admin.sites.location.playground',
  classroom: 'admin.sites.location.classroom',
  canteen: 'admin.sites.location.canteen',
  other: 'admin.sites.location.other',
};
const DIRECTION_KEYS: Record<Direction, MessageKey> = {
  in: 'admin.sites.line.direction.in',
  out: 'admin.sites.line.direction.out',
  both: 'admin.sites.line.direction.both',
};

/**
 * Zones and directed lines of one camera drawn on its snapshot: an SVG overlay in frame pixels on
 * the image. Click to add a zone's vertices (Enter or « Terminer » closes it), two clicks for a
 * line (its arrow points to the "in" side), drag a point to move it, Delete removes the selected
 * point or rule; arrow keys move the selected point. Saving makes version N+1, which the agent
 * answers on config/state, shown live from the WebSocket.
 */
export function ZoneEditor({
  site,
  agent,
  camera,
  cameraInfo,
  canRules,
  canCameras,
  onClose,
  onSaved,
}: ZoneEditorProps) {
  const { t, lang } = useI18n();
  const { api } = useConsole();
  const sapi = useMemo(() => sitesApi(api), [api]);
  const { state: live } = useLiveContext();
  const [view, setView] = useState<AgentConfigView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [tool, setTool] = useState<Tool>('select');
  const [drawing, setDrawing] = useState<Drawing>(null);
  const [selected, setSelected] = useState<{ ref: RuleRef; vertex: number | null } | null>(null);
  const [issues, setIssues] = useState<ConfigIssue[]>([]);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [frame, setFrame] = useState<FrameView | null>(null);
  const [blankSize, setBlankSize] = useState<{ width: number; height: number } | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const drag = useRef<{ ref: RuleRef; vertex: number } | null>(null);
  // read at load time only: the registry row is rebuilt at every live update and must not reset the draft
  const cameraInfoRef = useRef(cameraInfo);
  cameraInfoRef.current = cameraInfo;

  const load = useCallback(async () => {
    const r = await sapi.agentConfig(site, agent);
    if (!r.ok) {
      setLoadError(r.message ?? r.error);
      return;
    }
    setView(r.value);
    setBaseVersion(r.value.current?.version ?? 0);
    const info = cameraInfoRef.current;
    const known = r.value.cameras.map((c) => ({
      id: c.id,
      // a camera named by the registry starts with the location type declared there
      ...(info && info.camera === c.id
        ? { locationType: info.locationType, trackingEnabled: info.trackingEnabled }
        : {}),
    }));
    if (!known.some((c) => c.id === camera)) known.push({ id: camera });
    setDraft(draftFromConfig(r.value.current, known));
    setIssues([]);
  }, [sapi, site, agent, camera]);

  useEffect(() => {
    void load();
  }, [load]);

  // the snapshot only when the server knows the camera's source; otherwise a blank canvas of its frame size
  const snapshotUrl = cameraInfo?.hasUrl ? sapi.snapshotPath(site, agent, camera) : null;
  // the frame size from the camera's last report: the blank canvas, and the fallback when the snapshot fails
  useEffect(() => {
    let alive = true;
    void sapi.cameraEvents(site).then((r) => {
      if (!alive) return;
      const e = r.ok
        ? r.value.events.find((x) => x.agent === agent && x.camera === camera && x.payload.width && x.payload.height)
        : undefined;
      setBlankSize(e ? { width: e.payload.width!, height: e.payload.height! } : DEFAULT_FRAME);
    });
    return () => {
      alive = false;
    };
  }, [sapi, site, agent, camera]);
  useEffect(() => {
    if (!snapshotUrl && blankSize) setFrame({ ...blankSize, url: null });
  }, [snapshotUrl, blankSize]);

  const cam = draft?.cameras.find((c) => c.id === camera) ?? null;
  const camPath = draft ? cameraPath(draft, camera) : 'cameras.0';
  const liveAgent = live.agents[`${site}/${agent}`];
  const currentVersion = view?.current?.version ?? null;
  const apply = applyStateOf(liveAgent?.configState ?? view?.state ?? null, currentVersion);
  const pointR = frame ? Math.max(4, Math.round(Math.max(frame.width, frame.height) / 110)) : 5;

  const edit = (fn: (d: Draft) => Draft) => {
    setDraft((d) => (d ? fn(d) : d));
    setNotice(null);
  };

  const framePoint = (e: { clientX: number; clientY: number }): Pt | null => {
    const svg = svgRef.current;
    if (!svg || !frame) return null;
    return clientToFrame(e.clientX, e.clientY, svg.getBoundingClientRect(), frame);
  };

  const finishZone = () => {
    if (drawing?.kind === 'zone') {
      const z = cam?.zones[drawing.index];
      // fewer than 3 points is no area: dropped rather than saved invalid
      if (z && z.polygon.length < 3) edit((d) => deleteRule(d, camera, { kind: 'zone', index: drawing.index }));
    }
    setDrawing(null);
    setTool('select');
  };

  const onCanvasDown = (e: PointerEvent<SVGRectElement>) => {
    if (!canRules || !draft) return;
    const p = framePoint(e);
    if (!p) return;
    if (tool === 'zone') {
      if (drawing?.kind === 'zone') edit((d) => addVertex(d, camera, drawing.index, p));
      else {
        const r = startZone(draft, camera, p);
        setDraft(r.draft);
        setDrawing({ kind: 'zone', index: r.ref.index });
        setSelected({ ref: r.ref, vertex: 0 });
      }
    } else if (tool === 'line') {
      if (drawing?.kind === 'line') {
        if (p[0] === drawing.from[0] && p[1] === drawing.from[1]) return;
        const r = addLine(draft, camera, drawing.from, p);
        setDraft(r.draft);
        setSelected({ ref: r.ref, vertex: null });
        setDrawing(null);
        setTool('select');
      } else setDrawing({ kind: 'line', from: p });
    } else setSelected(null);
  };

  const onPointDown = (e: PointerEvent<SVGCircleElement>, ref: RuleRef, vertex: number) => {
    if (!canRules || tool !== 'select') return;
    e.stopPropagation();
    setSelected({ ref, vertex });
    drag.current = { ref, vertex };
    svgRef.current?.setPointerCapture(e.pointerId);
  };
  const onMove = (e: PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d) return;
    const p = framePoint(e);
    if (p) edit((x) => movePoint(x, camera, d.ref, d.vertex, p));
  };
  const onUp = (e: PointerEvent<SVGSVGElement>) => {
    if (drag.current && svgRef.current?.hasPointerCapture(e.pointerId))
      svgRef.current.releasePointerCapture(e.pointerId);
    drag.current = null;
  };

  const pointOf = (ref: RuleRef, vertex: number): Pt | undefined => {
    if (!cam) return undefined;
    if (ref.kind === 'zone') return cam.zones[ref.index]?.polygon[vertex];
    const l = cam.lines[ref.index];
    return l ? (vertex === 0 ? l.from : l.to) : undefined;
  };

  const onKey = (e: KeyboardEvent<SVGSVGElement>) => {
    if (!canRules || !frame) return;
    if (e.key === 'Enter' && drawing?.kind === 'zone') {
      e.preventDefault();
      finishZone();
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      if (drawing) finishZone();
      else setSelected(null);
      return;
    }
    if (!selected) return;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      const { ref, vertex } = selected;
      const zone = ref.kind === 'zone' ? cam?.zones[ref.index] : undefined;
      if (zone && vertex !== null && zone.polygon.length > 3) edit((d) => deleteVertex(d, camera, ref.index, vertex));
      else edit((d) => deleteRule(d, camera, ref));
      setSelected(null);
      return;
    }
    const step = e.shiftKey ? 10 : 1;
    const delta: Record<string, Pt> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const dv = delta[e.key];
    if (dv && selected.vertex !== null) {
      e.preventDefault();
      const p = pointOf(selected.ref, selected.vertex);
      if (p)
        edit((d) =>
          movePoint(d, camera, selected.ref, selected.vertex!, clampToFrame([p[0] + dv[0], p[1] + dv[1]], frame)),
        );
    }
  };

  const save = async () => {
    if (!draft) return;
    setSaving(true);
    setNotice(null);
    const r = await sapi.saveConfig(site, agent, draft, baseVersion);
    setSaving(false);
    if (r.ok) {
      setIssues([]);
      setBaseVersion(r.value.version);
      setView((v) => (v ? { ...v, current: r.value.current } : v));
      setNotice({
        kind: 'ok',
        text: t(r.value.unchanged ? 'admin.sites.editor.unchanged' : 'admin.sites.editor.saved', {
          version: r.value.version,
        }),
      });
      if (!r.value.unchanged) onSaved(r.value.version);
      return;
    }
    setIssues(issuesOf(r));
    setNotice({
      kind: 'error',
      text:
        r.status === 409
          ? t('admin.sites.editor.conflict')
          : r.status === 403
            ? t('admin.sites.editor.forbidden')
            : (r.message ?? r.error),
    });
  };

  if (loadError) {
    return (
      <section className="card zone-editor" data-testid="zone-editor">
        <p className="field-error" role="alert">
          {t('admin.sites.editor.loadFailed')} {loadError}
        </p>
        <button type="button" onClick={onClose}>
          {t('admin.sites.editor.close')}
        </button>
      </section>
    );
  }

  const placed = draft
    ? draft.cameras
        .flatMap((_, i) => [
          `cameras.${i}.zones`,
          `cameras.${i}.lines`,
          `cameras.${i}.locationType`,
          `cameras.${i}.trackingEnabled`,
        ])
        .concat(['thresholds'])
    : [];
  const loose = unplacedIssues(issues, placed);
  const isSel = (ref: RuleRef) => selected?.ref.kind === ref.kind && selected.ref.index === ref.index;

  return (
    <section className="card zone-editor" data-testid="zone-editor" aria-labelledby="zone-editor-title">
      <header className="zone-editor-head">
        <h3 id="zone-editor-title">{t('admin.sites.editor.title', { agent, camera })}</h3>
        <span
          data-testid="config-apply-state"
          data-kind={apply.kind}
          data-version={'version' in apply ? (apply.version ?? '') : ''}
          className={`badge apply-${apply.kind}`}
        >
          {apply.kind === 'applied'
            ? t('admin.sites.apply.applied', { version: apply.version })
            : apply.kind === 'rejected'
              ? t('admin.sites.apply.rejected', { version: apply.version ?? '?' })
              : apply.kind === 'pending'
                ? t('admin.sites.apply.pending', { version: apply.version })
                : t('admin.sites.apply.none')}
        </span>
        <button type="button" className="link" onClick={onClose} data-testid="zone-editor-close">
          {t('admin.sites.editor.close')}
        </button>
      </header>
      {apply.kind === 'rejected' && apply.errors.length ? (
        <ul className="field-error apply-errors" data-testid="config-rejected-reasons">
          {apply.errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      ) : null}
      {notice ? (
        <p
          className={notice.kind === 'ok' ? 'notice-ok' : 'field-error'}
          role={notice.kind === 'ok' ? 'status' : 'alert'}
          data-testid="zone-editor-notice"
        >
          {notice.text}
        </p>
      ) : null}
      {loose.length ? (
        <ul className="field-error" data-testid="config-issues">
          {loose.map((i, k) => (
            <li key={k}>
              <span className="mono">{i.path}</span> {i.message}
            </li>
          ))}
        </ul>
      ) : null}

      <div className="zone-editor-body">
        <div className="zone-stage-wrap">
          {canRules ? (
            <div className="zone-tools" role="toolbar" aria-label={t('admin.sites.editor.tools')}>
              {(['select', 'zone', 'line'] as const).map((k) => (
                <button
                  key={k}
                  type="button"
                  aria-pressed={tool === k}
                  data-testid={`tool-${k}`}
                  onClick={() => {
                    if (drawing) finishZone();
                    setTool(k);
                  }}
                >
                  {t(`admin.sites.tool.${k}`)}
                </button>
              ))}
              <button
                type="button"
                data-testid="finish-zone"
                disabled={drawing?.kind !== 'zone' || (cam?.zones[drawing.index]?.polygon.length ?? 0) < 3}
                onClick={finishZone}
              >
                {t('admin.sites.editor.finishZone')}
              </button>
              <span className="muted small" data-testid="tool-hint">
                {tool === 'zone'
                  ? t('admin.sites.hint.zone')
                  : tool === 'line'
                    ? t('admin.sites.hint.line')
                    : t('admin.sites.hint.select')}
              </span>
            </div>
          ) : null}
          <div className="zone-stage" style={frame ? { aspectRatio: `${frame.width} / ${frame.height}` } : undefined}>
            {snapshotUrl ? (
              <img
                src={snapshotUrl}
                alt={t('admin.sites.editor.snapshotAlt', { camera })}
                data-testid="zone-snapshot"
                onLoad={(e) =>
                  setFrame({
                    width: e.currentTarget.naturalWidth,
                    height: e.currentTarget.naturalHeight,
                    url: snapshotUrl,
                  })
                }
                onError={() => setFrame({ ...(blankSize ?? DEFAULT_FRAME), url: null })}
              />
            ) : null}
            {frame ? (
              <svg
                ref={svgRef}
                className={`zone-canvas tool-${tool}`}
                viewBox={`0 0 ${frame.width} ${frame.height}`}
                preserveAspectRatio="none"
                data-testid="zone-canvas"
                data-frame-width={frame.width}
                data-frame-height={frame.height}
                tabIndex={0}
                role="application"
                aria-label={t('admin.sites.editor.canvasLabel', { camera, width: frame.width, height: frame.height })}
                onPointerMove={onMove}
                onPointerUp={onUp}
                onKeyDown={onKey}
              >
                <defs>
                  <marker
                    id="in-arrow"
                    viewBox="0 0 10 10"
                    refX="8"
                    refY="5"
                    markerWidth="6"
                    markerHeight="6"
                    orient="auto-start-reverse"
                  >
                    <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
                  </marker>
                </defs>
                <rect
                  className={frame.url ? 'hit' : 'hit blank'}
                  x={0}
                  y={0}
                  width={frame.width}
                  height={frame.height}
                  data-testid="zone-canvas-hit"
                  onPointerDown={onCanvasDown}
                />
                {cam?.zones.map((z, i) => {
                  const ref: RuleRef = { kind: 'zone', index: i };
                  return (
                    <g
                      key={`z${i}`}
                      className={isSel(ref) ? 'rule zone selected' : 'rule zone'}
                      data-testid={`zone-shape-${z.id}`}
                    >
                      <polygon
                        points={z.polygon.map((p) => p.join(',')).join(' ')}
                        onPointerDown={(e) => {
                          if (tool !== 'select') return;
                          e.stopPropagation();
                          setSelected({ ref, vertex: null });
                        }}
                      />
                      {z.polygon[0] ? (
                        <text x={z.polygon[0][0] + pointR * 1.5} y={z.polygon[0][1] - pointR} className="rule-label">
                          {z.id}
                        </text>
                      ) : null}
                      {z.polygon.map((p, k) => (
                        <circle
                          key={k}
                          cx={p[0]}
                          cy={p[1]}
                          r={pointR}
                          className={isSel(ref) && selected?.vertex === k ? 'vertex selected' : 'vertex'}
                          onPointerDown={(e) => onPointDown(e, ref, k)}
                        />
                      ))}
                    </g>
                  );
                })}
                {cam?.lines.map((l, i) => {
                  const ref: RuleRef = { kind: 'line', index: i };
                  const arrow = inArrow(l, pointR * 6);
                  return (
                    <g
                      key={`l${i}`}
                      className={isSel(ref) ? 'rule line selected' : 'rule line'}
                      data-testid={`line-shape-${l.id}`}
                    >
                      <line
                        x1={l.from[0]}
                        y1={l.from[1]}
                        x2={l.to[0]}
                        y2={l.to[1]}
                        onPointerDown={(e) => {
                          if (tool !== 'select') return;
                          e.stopPropagation();
                          setSelected({ ref, vertex: null });
                        }}
                      />
                      <line
                        className="in-arrow"
                        x1={arrow.from[0]}
                        y1={arrow.from[1]}
                        x2={arrow.to[0]}
                        y2={arrow.to[1]}
                        markerEnd="url(#in-arrow)"
                      />
                      <text x={arrow.to[0] + pointR} y={arrow.to[1]} className="rule-label">
                        {t('admin.sites.line.inSide')}
                      </text>
                      <text x={l.from[0] + pointR * 1.5} y={l.from[1] - pointR} className="rule-label">
                        {l.id}
                      </text>
                      {[l.from, l.to].map((p, k) => (
                        <circle
                          key={k}
                          cx={p[0]}
                          cy={p[1]}
                          r={pointR}
                          className={isSel(ref) && selected?.vertex === k ? 'vertex selected' : 'vertex'}
                          onPointerDown={(e) => onPointDown(e, ref, k)}
                        />
                      ))}
                    </g>
                  );
                })}
                {drawing?.kind === 'line' ? (
                  <circle cx={drawing.from[0]} cy={drawing.from[1]} r={pointR} className="vertex drawing" />
                ) : null}
              </svg>
            ) : (
              <p className="muted">{t('admin.sites.editor.loadingFrame')}</p>
            )}
          </div>
          {frame && !frame.url ? (
            <p className="muted small" data-testid="blank-canvas-note">
              {t('admin.sites.editor.blankCanvas', { width: frame.width, height: frame.height })}
            </p>
          ) : null}
        </div>

        <div className="zone-side">
          {cam ? (
            <fieldset className="camera-fields" disabled={!canCameras}>
              <legend>{t('admin.sites.editor.camera')}</legend>
              <label className="field">
                <span>{t('admin.sites.camera.locationType')}</span>
                <select
                  value={cam.locationType}
                  data-testid="cfg-location-type"
                  onChange={(e) =>
                    edit((d) => updateCamera(d, camera, { locationType: e.target.value as LocationType }))
                  }
                >
                  {LOCATION_TYPES.map((l) => (
                    <option key={l} value={l}>
                      {t(LOCATION_KEYS[l])}
                    </option>
                  ))}
                </select>
              </label>
              <FieldErrors messages={issuesAt(issues, `${camPath}.locationType`)} />
              <label className="inline">
                <input
                  type="checkbox"
                  checked={cam.trackingEnabled}
                  data-testid="cfg-tracking"
                  onChange={(e) => edit((d) => updateCamera(d, camera, { trackingEnabled: e.target.checked }))}
                />{' '}
                {t('admin.sites.camera.tracking')}
              </label>
              {!TRACKABLE.includes(cam.locationType) ? (
                <p className="muted small">{t('admin.sites.camera.trackingRefused')}</p>
              ) : null}
              <FieldErrors messages={issuesAt(issues, `${camPath}.trackingEnabled`)} />
            </fieldset>
          ) : null}

          <h4>{t('admin.sites.editor.rules')}</h4>
          {cam && cam.zones.length + cam.lines.length === 0 ? (
            <p className="muted">{t('admin.sites.editor.noRules')}</p>
          ) : null}
          {cam?.zones.map((z, i) => {
            const ref: RuleRef = { kind: 'zone', index: i };
            const path = `${camPath}.zones.${i}`;
            return (
              <fieldset
                key={`z${i}`}
                className={isSel(ref) ? 'rule-fields selected' : 'rule-fields'}
                data-testid={`zone-fields-${i}`}
                disabled={!canRules}
              >
                <legend>
                  <button type="button" className="link" onClick={() => setSelected({ ref, vertex: null })}>
                    {t('admin.sites.zone.title', { points: z.polygon.length })}
                  </button>
                </legend>
                <label className="field">
                  <span>{t('admin.sites.rule.name')}</span>
                  <input
                    value={z.id}
                    data-testid={`zone-name-${i}`}
                    onChange={(e) => edit((d) => updateRule(d, camera, ref, { id: e.target.value }))}
                  />
                </label>
                <FieldErrors messages={issuesAt(issues, `${path}.id`)} />
                <FieldErrors messages={issuesAt(issues, `${path}.polygon`)} />
                <ScheduleEditor
                  value={z.schedule}
                  idPrefix={`zone-${i}`}
                  errors={issuesAt(issues, `${path}.schedule`)}
                  onChange={(s) => edit((d) => updateRule(d, camera, ref, { schedule: s }))}
                />
                <button type="button" className="danger" onClick={() => edit((d) => deleteRule(d, camera, ref))}>
                  {t('admin.sites.rule.delete')}
                </button>
              </fieldset>
            );
          })}
          {cam?.lines.map((l, i) => {
            const ref: RuleRef = { kind: 'line', index: i };
            const path = `${camPath}.lines.${i}`;
            return (
              <fieldset
                key={`l${i}`}
                className={isSel(ref) ? 'rule-fields selected' : 'rule-fields'}
                data-testid={`line-fields-${i}`}
                disabled={!canRules}
              >
                <legend>
                  <button type="button" className="link" onClick={() => setSelected({ ref, vertex: null })}>
                    {t('admin.sites.line.title')}
                  </button>
                </legend>
                <label className="field">
                  <span>{t('admin.sites.rule.name')}</span>
                  <input
                    value={l.id}
                    data-testid={`line-name-${i}`}
                    onChange={(e) => edit((d) => updateRule(d, camera, ref, { id: e.target.value }))}
                  />
                </label>
                <FieldErrors messages={issuesAt(issues, `${path}.id`)} />
                <label className="field">
                  <span>{t('admin.sites.line.allowed')}</span>
                  <select
                    value={l.allowedDirection}
                    onChange={(e) =>
                      edit((d) => updateRule(d, camera, ref, { allowedDirection: e.target.value as Direction }))
                    }
                  >
                    {(['both', 'in', 'out'] as const).map((dir) => (
                      <option key={dir} value={dir}>
                        {t(DIRECTION_KEYS[dir])}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" onClick={() => edit((d) => reverseLine(d, camera, i))}>
                  {t('admin.sites.line.reverse')}
                </button>
                <FieldErrors
                  messages={[
                    ...issuesAt(issues, `${path}.from`),
                    ...issuesAt(issues, `${path}.to`),
                    ...issuesAt(issues, `${path}.allowedDirection`),
                  ]}
                />
                <ScheduleEditor
                  value={l.schedule}
                  idPrefix={`line-${i}`}
                  errors={issuesAt(issues, `${path}.schedule`)}
                  onChange={(s) => edit((d) => updateRule(d, camera, ref, { schedule: s }))}
                />
                <button type="button" className="danger" onClick={() => edit((d) => deleteRule(d, camera, ref))}>
                  {t('admin.sites.rule.delete')}
                </button>
              </fieldset>
            );
          })}
          <FieldErrors
            messages={issues
              .filter((i) => i.path === `${camPath}.zones` || i.path === `${camPath}.lines`)
              .map((i) => i.message)}
          />

          {draft ? (
            <fieldset className="thresholds" disabled={!canCameras} data-testid="thresholds-form">
              <legend>{t('admin.sites.thresholds.title')}</legend>
              {(['faceScore', 'personScore'] as const).map((k) => (
                <div key={k}>
                  <label className="field">
                    <span>{t(`admin.sites.thresholds.${k}`)}</span>
                    <input
                      type="number"
                      min={0}
                      max={1}
                      step={0.05}
                      placeholder={t('admin.sites.thresholds.default')}
                      value={draft.thresholds[k] ?? ''}
                      data-testid={`threshold-${k}`}
                      onChange={(e) =>
                        edit((d) => {
                          const thresholds = { ...d.thresholds };
                          if (e.target.value === '') delete thresholds[k];
                          else thresholds[k] = Number(e.target.value);
                          return { ...d, thresholds };
                        })
                      }
                    />
                  </label>
                  <FieldErrors messages={issuesAt(issues, `thresholds.${k}`)} />
                </div>
              ))}
              <p className="muted small">{t('admin.sites.thresholds.hint')}</p>
            </fieldset>
          ) : null}

          <div className="zone-save">
            <button
              type="button"
              className="primary"
              disabled={!draft || saving || (!canRules && !canCameras)}
              onClick={() => void save()}
              data-testid="config-save"
            >
              {saving
                ? t('admin.sites.editor.saving')
                : t('admin.sites.editor.save', { version: (baseVersion ?? 0) + 1 })}
            </button>
            <button type="button" onClick={() => void load()} data-testid="config-reload">
              {t('admin.sites.editor.reload')}
            </button>
          </div>
          {view?.current ? (
            <p className="muted small" data-testid="config-current">
              {t('admin.sites.editor.current', {
                version: view.current.version,
                who: view.current.source === 'imported' ? t('admin.sites.editor.imported') : view.current.createdBy,
                when: formatDateTime(view.current.createdAt, lang) ?? '',
              })}
            </p>
          ) : null}
        </div>
      </div>
    </section>
  );
}

function FieldErrors({ messages }: { messages: readonly string[] }) {
  if (!messages.length) return null;
  return (
    <>
      {messages.map((m, i) => (
        <p key={i} className="field-error" role="alert">
          {m}
        </p>
      ))}
    </>
  );
}
