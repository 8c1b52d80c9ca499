import { LOCATION_TYPES, type LocationType } from '@portail/protocol';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { can, SITE_ID_PATTERN } from '../../auth/permissions.js';
import type { CameraRef } from '../../cameras/camera-secret.js';
import { CAMERA_ROLES, type CameraRole, type RegisteredCamera } from '../../cameras/camera-registry.js';
import type { CameraServices } from '../../cameras/camera-services.js';
import type { PeopleError } from '../../people/result.js';
import { auditActor, auditRequest, isOriginAllowed } from '../auth/auth-plugin.js';

/**
 * Cameras of a site (cameras/): the registry (declared cameras merged with those the agents report),
 * a privacy-safe snapshot (faces pixelated), the live preview relay (a WebSocket of MJPEG frames,
 * faces visible: supervisors and site admins, each viewing audited and time-limited), and the
 * enrolment of a student from a gate camera. Source URLs are secrets: they go in, never out (only
 * `hasUrl`, and the redacted form to those who may change it).
 */

const ID = { type: 'string', pattern: SITE_ID_PATTERN.source } as const;

const siteParams = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: ID },
} as const;

const cameraParams = {
  type: 'object',
  required: ['site', 'agent', 'camera'],
  additionalProperties: false,
  properties: { site: ID, agent: ID, camera: ID },
} as const;

const cameraBody = {
  type: 'object',
  required: ['name', 'role', 'locationType', 'trackingEnabled'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    role: { type: 'string', enum: [...CAMERA_ROLES] },
    locationType: { type: 'string', enum: [...LOCATION_TYPES] },
    trackingEnabled: { type: 'boolean' },
    // absent: keep the stored URL; null: remove it
    rtspUrl: { type: ['string', 'null'], maxLength: 2048 },
  },
} as const;

const captureParams = {
  type: 'object',
  required: ['site', 'studentId'],
  additionalProperties: false,
  properties: { site: ID, studentId: { type: 'integer', minimum: 1 } },
} as const;

const captureBody = {
  type: 'object',
  required: ['agent', 'camera'],
  additionalProperties: false,
  properties: { agent: ID, camera: ID },
} as const;

const previewQuery = {
  type: 'object',
  required: ['site', 'agent', 'camera'],
  additionalProperties: false,
  properties: { site: ID, agent: ID, camera: ID },
} as const;

interface CameraBody {
  name: string;
  role: CameraRole;
  locationType: LocationType;
  trackingEnabled: boolean;
  rtspUrl?: string | null;
}

/** One camera of a site as the API shows it: declared, reported by its agent, or both. */
export interface CameraView {
  site: string;
  agent: string;
  camera: string;
  registered: boolean;
  name: string | null;
  role: string | null;
  locationType: LocationType | null;
  trackingEnabled: boolean | null;
  hasUrl: boolean;
  /** redacted (password as ***), only to callers holding cameras:write */
  url?: string | null;
  /** what the agent reports (status), null when it does not run this camera */
  reported: { role: string; state: string } | null;
  updatedAt: string | null;
  updatedBy: string | null;
}

const HTTP_STATUS: Record<string, number> = {
  CAMERAS_UNAVAILABLE: 503,
  CAMERA_ERR_INVALID: 400,
  CAMERA_ERR_URL: 400,
  CAMERA_ERR_UNKNOWN: 404,
  CAMERA_ERR_NO_URL: 409,
  CAMERA_ERR_UNREACHABLE: 502,
  CAMERA_ERR_TIMEOUT: 504,
  CAMERA_ERR_FFMPEG_MISSING: 503,
  CAMERA_ERR_VISION: 503,
  PEOPLE_UNAVAILABLE: 503,
  ENROL_ERR_STUDENT: 404,
  ENROL_ERR_CONSENT: 409,
  ENROL_ERR_MODELS: 503,
};

export function cameraHttpStatus(code: string): number {
  return HTTP_STATUS[code] ?? (code.startsWith('ENROL_ERR_') ? 422 : 400);
}

function sendError(reply: FastifyReply, e: PeopleError): FastifyReply {
  return reply
    .code(cameraHttpStatus(e.code))
    .send({ error: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
}

function camerasOf(app: { deps: { cameras?: CameraServices } }, reply: FastifyReply): CameraServices | null {
  if (app.deps.cameras) return app.deps.cameras;
  void sendError(reply, {
    code: 'CAMERAS_UNAVAILABLE',
    message: 'the camera service is not configured on this server',
  });
  return null;
}

function viewOf(c: RegisteredCamera, reported: CameraView['reported'], showUrl: boolean): CameraView {
  return {
    site: c.site,
    agent: c.agent,
    camera: c.camera,
    registered: true,
    name: c.name,
    role: c.role,
    locationType: c.locationType,
    trackingEnabled: c.trackingEnabled,
    hasUrl: c.hasUrl,
    ...(showUrl ? { url: c.url } : {}),
    reported,
    updatedAt: c.updatedAt,
    updatedBy: c.updatedBy,
  };
}

/** WebSocket close codes of the preview (4000–4999 are the application's). */
export const PREVIEW_CLOSE = {
  maxDuration: 4000,
  sessionEnded: 4001,
  unknownCamera: 4004,
  noUrl: 4009,
  cameraLost: 4502,
  unavailable: 4503,
} as const;

/** a viewer this far behind skips frames (newest-frame policy) rather than buffer them */
const PREVIEW_MAX_BUFFERED_BYTES = 512 * 1024;
const PREVIEW_SESSION_CHECK_MS = 15_000;

export interface CameraRoutesOptions {
  /** origins allowed besides the page's own to open the preview socket (as for /ws) */
  allowedOrigins: readonly string[];
}

export const cameraRoutes: FastifyPluginAsync<CameraRoutesOptions> = async (app, opts) => {
  app.get<{ Params: { site: string } }>(
    '/api/sites/:site/cameras',
    { config: { permission: 'agents:read' }, schema: { params: siteParams } },
    async (req, reply) => {
      const cameras = camerasOf(app, reply);
      if (!cameras) return reply;
      const { site } = req.params;
      const showUrl = can(req.principal!, 'cameras:write', site);
      const agents = app.deps.agents.list().filter((a) => a.site === site);
      const reportedOf = (agent: string, camera: string): CameraView['reported'] => {
        const c = agents.find((a) => a.agent === agent)?.status?.cameras?.find((x) => x.id === camera);
        return c ? { role: c.role, state: c.state } : null;
      };
      const out: CameraView[] = cameras.registry
        .list(site)
        .map((c) => viewOf(c, reportedOf(c.agent, c.camera), showUrl));
      for (const a of agents) {
        for (const c of a.status?.cameras ?? []) {
          if (out.some((v) => v.agent === a.agent && v.camera === c.id)) continue;
          out.push({
            site,
            agent: a.agent,
            camera: c.id,
            registered: false,
            name: null,
            role: c.role,
            locationType: null,
            trackingEnabled: null,
            hasUrl: false,
            ...(showUrl ? { url: null } : {}),
            reported: { role: c.role, state: c.state },
            updatedAt: null,
            updatedBy: null,
          });
        }
      }
      out.sort((x, y) => x.agent.localeCompare(y.agent) || x.camera.localeCompare(y.camera));
      return { cameras: out };
    },
  );

  app.put<{ Params: CameraRef; Body: CameraBody }>(
    '/api/sites/:site/agents/:agent/cameras/:camera',
    { config: { permission: 'cameras:write' }, schema: { params: cameraParams, body: cameraBody } },
    async (req, reply) => {
      const cameras = camerasOf(app, reply);
      if (!cameras) return reply;
      const ref: CameraRef = { site: req.params.site, agent: req.params.agent, camera: req.params.camera };
      const r = cameras.registry.put(ref, req.body, { actor: auditActor(req.principal) });
      // never the URL in the audit log, not even redacted: whether it changed is what matters
      const details = {
        name: req.body.name,
        role: req.body.role,
        locationType: req.body.locationType,
        trackingEnabled: req.body.trackingEnabled,
        url: req.body.rtspUrl === undefined ? 'kept' : req.body.rtspUrl === null ? 'removed' : 'set',
      };
      const target = `camera:${ref.agent}/${ref.camera}`;
      if (!r.ok) {
        auditRequest(app.deps.audit, req, {
          action: 'camera.put',
          outcome: 'failed',
          site: ref.site,
          target,
          details: { ...details, code: r.error.code },
        });
        return sendError(reply, r.error);
      }
      auditRequest(app.deps.audit, req, {
        action: 'camera.put',
        outcome: 'ok',
        site: ref.site,
        target,
        details: { ...details, created: r.value.created },
      });
      const reported = app.deps.agents.get(ref.site, ref.agent)?.status?.cameras?.find((c) => c.id === ref.camera);
      return reply
        .code(r.value.created ? 201 : 200)
        .send({
          camera: viewOf(r.value.camera, reported ? { role: reported.role, state: reported.state } : null, true),
        });
    },
  );

  app.delete<{ Params: CameraRef }>(
    '/api/sites/:site/agents/:agent/cameras/:camera',
    { config: { permission: 'cameras:write' }, schema: { params: cameraParams } },
    async (req, reply) => {
      const cameras = camerasOf(app, reply);
      if (!cameras) return reply;
      const ref: CameraRef = { site: req.params.site, agent: req.params.agent, camera: req.params.camera };
      const removed = cameras.registry.remove(ref);
      if (!removed) {
        return sendError(reply, {
          code: 'CAMERA_ERR_UNKNOWN',
          message: `camera ${ref.agent}/${ref.camera} is not registered at site ${ref.site}`,
        });
      }
      auditRequest(app.deps.audit, req, {
        action: 'camera.delete',
        outcome: 'ok',
        site: ref.site,
        target: `camera:${ref.agent}/${ref.camera}`,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: CameraRef }>(
    '/api/sites/:site/agents/:agent/cameras/:camera/snapshot',
    {
      // the zone editor (cameras:write, zones:write) and the supervisors' camera tiles (snapshots:read)
      config: { permission: ['snapshots:read', 'cameras:write', 'zones:write'] },
      schema: { params: cameraParams },
    },
    async (req, reply) => {
      const cameras = camerasOf(app, reply);
      if (!cameras) return reply;
      const ref: CameraRef = { site: req.params.site, agent: req.params.agent, camera: req.params.camera };
      const r = await cameras.snapshots.snapshot(ref);
      const target = `camera:${ref.agent}/${ref.camera}`;
      if (!r.ok) {
        auditRequest(app.deps.audit, req, {
          action: 'camera.snapshot',
          outcome: 'failed',
          site: ref.site,
          target,
          details: { code: r.error.code },
        });
        return sendError(reply, r.error);
      }
      auditRequest(app.deps.audit, req, {
        action: 'camera.snapshot',
        outcome: 'ok',
        site: ref.site,
        target,
        details: {
          width: r.value.width,
          height: r.value.height,
          facesMasked: r.value.faces,
          personsMasked: r.value.persons,
        },
      });
      return reply
        .header('cache-control', 'no-store')
        .header('x-portail-faces-masked', String(r.value.faces))
        .header('x-portail-frame-size', `${r.value.width}x${r.value.height}`)
        .type('image/jpeg')
        .send(r.value.jpeg);
    },
  );

  app.post<{ Params: { site: string; studentId: number }; Body: { agent: string; camera: string } }>(
    '/api/sites/:site/students/:studentId/enrolment/capture',
    { config: { permission: 'enrolment:write' }, schema: { params: captureParams, body: captureBody } },
    async (req, reply) => {
      const cameras = camerasOf(app, reply);
      if (!cameras) return reply;
      const people = app.deps.people;
      if (!people)
        return sendError(reply, {
          code: 'PEOPLE_UNAVAILABLE',
          message: 'the people service is not configured on this server',
        });
      const { site, studentId } = req.params;
      const camera = { agent: req.body.agent, camera: req.body.camera };
      const audit = (outcome: 'ok' | 'failed', details: Record<string, unknown>) =>
        auditRequest(app.deps.audit, req, {
          action: 'people.enrol.capture',
          outcome,
          site,
          target: `student:${studentId}`,
          details: { camera: `${camera.agent}/${camera.camera}`, ...details },
        });
      const run = () =>
        cameras.capture.capture({ site, studentId, camera, actor: auditActor(req.principal) }, (s, id, photo, actor) =>
          people.enrol(s, id, photo, actor),
        );
      let r: Awaited<ReturnType<typeof run>>;
      try {
        r = await run();
      } catch (err) {
        // the models could not be opened or failed: nothing was written (the service writes last)
        req.log.error({ err }, 'enrolment capture failed');
        audit('failed', { code: 'ENROL_ERR_MODELS' });
        return sendError(reply, {
          code: 'ENROL_ERR_MODELS',
          message: 'the face models are not available on this server',
        });
      }
      if (!r.ok) {
        audit('failed', { code: r.error.code });
        return sendError(reply, r.error);
      }
      const { enrolment, ...capture } = r.value;
      const c = enrolment.credential;
      audit('ok', { credentialId: c.id, revoked: enrolment.revoked, model: enrolment.model.id, ...capture });
      const base = `/api/sites/${site}/credentials/${c.id}`;
      return reply.code(201).send({
        ...enrolment,
        capture,
        downloads: {
          card: `${base}/card.png`,
          pdf: `${base}/card.pdf`,
          qr: `${base}/qr.png`,
          until: c.downloadableUntil,
        },
      });
    },
  );

  app.get<{ Querystring: CameraRef }>(
    '/ws/preview',
    {
      websocket: true,
      config: { permission: 'preview:view' },
      schema: { querystring: previewQuery },
      preValidation: async (req, reply) => {
        // cross-site WebSocket hijacking guard, as for /ws: a page of another origin must not watch a camera
        if (!isOriginAllowed(req, opts.allowedOrigins)) {
          req.log.warn({ origin: req.headers.origin }, 'preview websocket origin refused');
          return reply.code(403).send({ error: 'ORIGIN_NOT_ALLOWED' });
        }
        return undefined;
      },
    },
    (socket, req) => previewViewing(app, socket, req),
  );
};

/** One viewing of the live preview: from the socket's opening to its closing, audited at both ends. */
function previewViewing(
  app: FastifyInstance,
  socket: WebSocket,
  req: FastifyRequest<{ Querystring: CameraRef }>,
): void {
  const ref: CameraRef = { site: req.query.site, agent: req.query.agent, camera: req.query.camera };
  const target = `camera:${ref.agent}/${ref.camera}`;
  const cameras = app.deps.cameras;
  const closeWith = (code: number, error: string, message: string) => {
    socket.send(JSON.stringify({ type: 'error', error, message }));
    socket.close(code, error);
  };
  if (!cameras)
    return closeWith(PREVIEW_CLOSE.unavailable, 'CAMERAS_UNAVAILABLE', 'the camera service is not configured');
  const src = cameras.registry.sourceOf(ref);
  if (!src)
    return closeWith(
      PREVIEW_CLOSE.unknownCamera,
      'CAMERA_ERR_UNKNOWN',
      `camera ${ref.agent}/${ref.camera} is not registered`,
    );
  if (!src.source)
    return closeWith(
      PREVIEW_CLOSE.noUrl,
      'CAMERA_ERR_NO_URL',
      `camera ${ref.agent}/${ref.camera} has no usable source URL`,
    );

  const startedMs = Date.now();
  let frames = 0;
  let dropped = 0;
  let ended = false;
  auditRequest(app.deps.audit, req, {
    action: 'camera.preview.start',
    outcome: 'ok',
    site: ref.site,
    target,
    details: { maxDurationMs: cameras.previewMaxMs },
  });
  socket.send(
    JSON.stringify({
      type: 'preview',
      ...ref,
      maxDurationMs: cameras.previewMaxMs,
      startedAt: new Date(startedMs).toISOString(),
    }),
  );

  const viewing = cameras.preview.join(`${ref.site}/${ref.agent}/${ref.camera}`, src.source, src.url, {
    frame(jpeg) {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > PREVIEW_MAX_BUFFERED_BYTES) {
        dropped++;
        return;
      }
      frames++;
      socket.send(jpeg, { binary: true });
    },
    end(reason) {
      if (socket.readyState === socket.OPEN) {
        closeWith(reason.code === 'SERVER_CLOSING' ? 1001 : PREVIEW_CLOSE.cameraLost, reason.code, reason.message);
      }
      finish(reason.code);
    },
  });
  // the viewing ends at its maximum duration (a new one can be started, and is audited again)
  const maxTimer = setTimeout(() => {
    if (socket.readyState === socket.OPEN)
      closeWith(PREVIEW_CLOSE.maxDuration, 'PREVIEW_MAX_DURATION', 'maximum viewing duration reached');
    finish('max-duration');
  }, cameras.previewMaxMs);
  // a logout, an expiry or a disabled account ends the viewing too
  const sessionKey = req.authSession?.idHash ?? null;
  const sessionTimer =
    sessionKey === null
      ? null
      : setInterval(() => {
          if (app.deps.auth.revalidate(sessionKey)) return;
          if (socket.readyState === socket.OPEN)
            closeWith(PREVIEW_CLOSE.sessionEnded, 'SESSION_ENDED', 'the session ended');
          finish('session-ended');
        }, PREVIEW_SESSION_CHECK_MS);

  function finish(reason: string): void {
    if (ended) return;
    ended = true;
    clearTimeout(maxTimer);
    if (sessionTimer) clearInterval(sessionTimer);
    viewing.leave();
    auditRequest(app.deps.audit, req, {
      action: 'camera.preview.stop',
      outcome: 'ok',
      site: ref.site,
      target,
      details: { reason, durationMs: Date.now() - startedMs, frames, dropped },
    });
  }
  socket.on('close', () => finish('viewer-left'));
  socket.on('error', () => finish('socket-error'));
  // the viewer sends nothing: anything it sends is ignored
}
