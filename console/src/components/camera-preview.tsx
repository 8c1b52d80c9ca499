import { useEffect, useRef, useState } from 'react';
import { formatWait } from '../format.js';
import { useI18n } from '../i18n/i18n.js';

/**
 * On-demand live preview of one camera (supervisors, site admins): a WebSocket to the server's
 * relay (`/ws/preview`, same origin, behind the session and `preview:view`), which sends one JSON
 * hello then one JPEG per binary message; each is decoded with createImageBitmap and drawn on a
 * canvas (no blob: or data: URL, so the console's Content-Security-Policy stays as it is). Faces are
 * visible; the server audits every viewing and ends it after its maximum duration. Unmounting the
 * component, or "stop", closes the socket: the server stops the camera's ffmpeg with its last viewer.
 */

export interface CameraPreviewProps {
  site: string;
  agent: string;
  camera: string;
  /** shown in the title; the camera id by default */
  label?: string;
  /** called when the viewer presses stop */
  onClose?: () => void;
}

type PreviewState =
  { kind: 'connecting' } | { kind: 'live'; endsAtMs: number } | { kind: 'ended' } | { kind: 'error'; reason: string };

interface ServerText {
  type: 'preview' | 'error';
  maxDurationMs?: number;
  error?: string;
  message?: string;
}

export function previewUrl(
  loc: Pick<Location, 'protocol' | 'host'>,
  site: string,
  agent: string,
  camera: string,
): string {
  const q = new URLSearchParams({ site, agent, camera });
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws/preview?${q.toString()}`;
}

export function CameraPreview({ site, agent, camera, label, onClose }: CameraPreviewProps) {
  const { t, lang } = useI18n();
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const [state, setState] = useState<PreviewState>({ kind: 'connecting' });
  const [run, setRun] = useState(0);
  const [stopped, setStopped] = useState(false);
  const [nowMs, setNowMs] = useState(() => Date.now());

  useEffect(() => {
    if (stopped) return undefined;
    setState({ kind: 'connecting' });
    const ws = new WebSocket(previewUrl(window.location, site, agent, camera));
    ws.binaryType = 'arraybuffer';
    let decoding = false;
    let pending: ArrayBuffer | null = null;
    let failed = false;
    const draw = async (buf: ArrayBuffer) => {
      decoding = true;
      try {
        const bitmap = await createImageBitmap(new Blob([buf], { type: 'image/jpeg' }));
        const c = canvas.current;
        if (c) {
          if (c.width !== bitmap.width || c.height !== bitmap.height) {
            c.width = bitmap.width;
            c.height = bitmap.height;
          }
          c.getContext('2d')?.drawImage(bitmap, 0, 0);
        }
        bitmap.close();
      } catch {
        // a corrupt frame is skipped: the next one replaces it a fifth of a second later
      } finally {
        decoding = false;
      }
      // newest frame only: frames that arrived while decoding are dropped but the last
      if (pending) {
        const next = pending;
        pending = null;
        void draw(next);
      }
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (typeof ev.data === 'string') {
        let msg: ServerText;
        try {
          msg = JSON.parse(ev.data) as ServerText;
        } catch {
          // not ours: ignored
          return;
        }
        if (msg.type === 'preview') setState({ kind: 'live', endsAtMs: Date.now() + (msg.maxDurationMs ?? 0) });
        else {
          failed = true;
          setState({ kind: 'error', reason: msg.message ?? msg.error ?? '' });
        }
        return;
      }
      if (decoding) pending = ev.data;
      else void draw(ev.data);
    };
    ws.onclose = (ev) => {
      if (failed) return;
      // 4000: the maximum duration; 1000/1001: closed by us or the server stopping
      setState(ev.code > 4000 ? { kind: 'error', reason: ev.reason || String(ev.code) } : { kind: 'ended' });
    };
    return () => {
      ws.onmessage = null;
      ws.onclose = null;
      ws.close();
    };
  }, [site, agent, camera, run, stopped]);

  useEffect(() => {
    if (state.kind !== 'live') return undefined;
    const timer = setInterval(() => setNowMs(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state.kind]);

  const name = label ?? camera;
  return (
    <section className="camera-preview" data-testid="camera-preview" data-state={state.kind}>
      <h3>{t('fleet.preview.title', { camera: name })}</h3>
      <p className="muted small">{t('fleet.preview.notice')}</p>
      <canvas
        ref={canvas}
        className="camera-preview-canvas"
        style={{ maxWidth: '100%', background: '#000', display: state.kind === 'live' ? 'block' : 'none' }}
        aria-label={t('fleet.preview.canvas', { camera: name })}
        role="img"
        data-testid="camera-preview-canvas"
      />
      <p data-testid="camera-preview-status" role="status">
        {state.kind === 'connecting'
          ? t('fleet.preview.connecting')
          : state.kind === 'live'
            ? t('fleet.preview.live', { remaining: formatWait(Math.max(0, (state.endsAtMs - nowMs) / 1000), lang) })
            : state.kind === 'ended'
              ? t('fleet.preview.ended')
              : t('fleet.preview.error', { reason: state.reason })}
      </p>
      {stopped || state.kind === 'ended' || state.kind === 'error' ? (
        <button
          type="button"
          onClick={() => {
            setStopped(false);
            setRun((r) => r + 1);
          }}
        >
          {t('fleet.preview.restart')}
        </button>
      ) : (
        <button
          type="button"
          data-testid="camera-preview-stop"
          onClick={() => {
            setStopped(true);
            setState({ kind: 'ended' });
            onClose?.();
          }}
        >
          {t('fleet.preview.stop')}
        </button>
      )}
    </section>
  );
}
