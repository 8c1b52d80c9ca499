import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { SITE_ID_PATTERN } from '../../auth/permissions.js';
import { OVERRIDE_DECISIONS, type OverrideDecision } from '../../gate/passage-actions.js';
import type { GateErrorCode, GateService, Passage } from '../../gate/gate-service.js';
import { ID_DOCUMENT_TYPES, type IdDocumentType } from '../../people/visitors.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';

/**
 * The gate view's routes (reception): who is behind each passage, its ID photo, acknowledgement and
 * manual override of a verdict, and the visitor desk. Every read of a name or a photo and every
 * action is audited; acknowledgements and overrides are pushed to the other gate consoles of the
 * site over /ws (`passage_action`). Payloads: docs/api.md, "Gate view".
 */

const SITE = { type: 'string', pattern: SITE_ID_PATTERN.source } as const;
const EVENT_ID = { type: 'string', pattern: '^[0-9A-Za-z-]{1,64}$' } as const;

const siteParams = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: SITE },
} as const;
const passageParams = {
  type: 'object',
  required: ['site', 'eventId'],
  additionalProperties: false,
  properties: { site: SITE, eventId: EVENT_ID },
} as const;
const visitorParams = {
  type: 'object',
  required: ['site', 'visitorId'],
  additionalProperties: false,
  properties: { site: SITE, visitorId: { type: 'integer', minimum: 1 } },
} as const;

/** at most this many passages per request (and ids in `ids`) */
export const MAX_PASSAGES = 200;

interface PassagesQuery {
  since?: string;
  ids?: string;
  pending?: '0' | '1';
  limit?: number;
}

const ERROR_STATUS: Record<GateErrorCode, number> = {
  GATE_ERR_NOT_FOUND: 404,
  GATE_ERR_NO_PHOTO: 404,
  GATE_ERR_INPUT: 400,
  VISITOR_ERR_INPUT: 400,
  VISITOR_ERR_ID_NUMBER: 400,
  VISITOR_ERR_NOT_FOUND: 404,
  VISITOR_ERR_SIGNING_KEY: 503,
  VISITOR_ERR_PASS: 409,
};

function service(app: { deps: { gate?: GateService } }, reply: FastifyReply): GateService | null {
  if (app.deps.gate) return app.deps.gate;
  void reply
    .code(503)
    .send({ error: 'GATE_UNAVAILABLE', message: 'the gate service is not configured on this server' });
  return null;
}

function failure(reply: FastifyReply, e: { code: GateErrorCode; message: string }): FastifyReply {
  return reply.code(ERROR_STATUS[e.code]).send({ error: e.code, message: e.message });
}

/** What the browser gets: `holder.ref` (a record id, for the audit log) stays on the server. */
function publicPassage(p: Passage) {
  const { ref: _ref, ...holder } = p.holder ?? { ref: '' };
  return { event: p.event, holder: p.holder ? holder : null, ack: p.ack, override: p.override };
}

export const gateRoutes: FastifyPluginAsync = async (app) => {
  const broadcast = (site: string, p: Passage): void =>
    app.deps.bus.publish({ type: 'passage_action', site, eventId: p.event.id, ack: p.ack, override: p.override });

  app.get<{ Params: { site: string }; Querystring: PassagesQuery }>(
    '/api/sites/:site/passages',
    {
      // whoever may see who passed: reception (overrides) and site admins (photos)
      config: { permission: ['photos:read', 'overrides:write'] },
      schema: {
        params: siteParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', minLength: 10, maxLength: 30 },
            ids: {
              type: 'string',
              maxLength: MAX_PASSAGES * 65,
              pattern: '^[0-9A-Za-z-]{1,64}(,[0-9A-Za-z-]{1,64})*$',
            },
            pending: { type: 'string', enum: ['0', '1'] },
            limit: { type: 'integer', minimum: 1, maximum: MAX_PASSAGES, default: 50 },
          },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site } = req.params;
      const q = req.query;
      let since: string | undefined;
      if (q.since !== undefined) {
        const t = Date.parse(q.since);
        if (Number.isNaN(t)) return reply.code(400).send({ error: 'BAD_SINCE', message: 'since: an ISO 8601 time' });
        since = new Date(t).toISOString();
      }
      const ids = q.ids === undefined ? undefined : [...new Set(q.ids.split(','))];
      if (ids && ids.length > MAX_PASSAGES) {
        return reply.code(400).send({ error: 'TOO_MANY_IDS', message: `at most ${MAX_PASSAGES} ids` });
      }
      const passages = gate.passages(site, {
        limit: q.limit ?? 50,
        ...(since ? { since } : {}),
        ...(ids ? { ids } : {}),
        pending: q.pending === '1',
      });
      // one audit row per request, naming every passage and person shown: a console asks for the
      // passages that arrived together in one request, so the log grows with the traffic, not with a row per card
      if (passages.length > 0) {
        auditRequest(app.deps.audit, req, {
          action: 'gate.passages.read',
          outcome: 'ok',
          site,
          target: passages.length === 1 ? `event:${passages[0]!.event.id}` : `events:${passages.length}`,
          details: {
            events: passages.map((p) => p.event.id),
            holders: [...new Set(passages.flatMap((p) => (p.holder ? [p.holder.ref] : [])))],
          },
        });
      }
      void reply.header('cache-control', 'no-store');
      return { passages: passages.map(publicPassage) };
    },
  );

  app.get<{ Params: { site: string; eventId: string } }>(
    '/api/sites/:site/passages/:eventId/photo',
    { config: { permission: 'photos:read' }, schema: { params: passageParams } },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site, eventId } = req.params;
      const r = gate.photo(site, eventId);
      if (!r.ok) return failure(reply, r.error);
      auditRequest(app.deps.audit, req, {
        action: 'gate.photo.read',
        outcome: 'ok',
        site,
        target: r.value.ref,
        details: { event: eventId },
      });
      const body = Buffer.from(r.value.jpeg);
      r.value.jpeg.fill(0);
      // a photo of a person: never kept by a browser cache or a proxy
      return reply.header('cache-control', 'no-store').type('image/jpeg').send(body);
    },
  );

  app.post<{ Params: { site: string; eventId: string }; Body: { note?: string } | undefined }>(
    '/api/sites/:site/passages/:eventId/ack',
    {
      config: { permission: 'overrides:write' },
      schema: {
        params: passageParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { note: { type: 'string', maxLength: 500 } },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site, eventId } = req.params;
      const note = req.body?.note?.trim() || null;
      const r = gate.ack(site, eventId, { note, actor: auditActor(req.principal) });
      if (!r.ok) return failure(reply, r.error);
      const { passage, already } = r.value;
      auditRequest(app.deps.audit, req, {
        action: 'gate.passage.ack',
        outcome: 'ok',
        site,
        target: `event:${eventId}`,
        details: {
          decision: passage.event.payload.decision,
          already,
          // the note's length only: the note itself may name someone, and it lives with the
          // passage (purged with it), while the audit log is kept longer and cannot be edited
          ...(note && !already ? { noteChars: note.length } : {}),
        },
      });
      if (!already) broadcast(site, passage);
      return { passage: publicPassage(passage), already };
    },
  );

  app.post<{ Params: { site: string; eventId: string }; Body: { decision: OverrideDecision; reason: string } }>(
    '/api/sites/:site/passages/:eventId/override',
    {
      config: { permission: 'overrides:write' },
      schema: {
        params: passageParams,
        body: {
          type: 'object',
          required: ['decision', 'reason'],
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: [...OVERRIDE_DECISIONS] },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site, eventId } = req.params;
      const r = gate.override(site, eventId, {
        decision: req.body.decision,
        reason: req.body.reason,
        actor: auditActor(req.principal),
      });
      if (!r.ok) return failure(reply, r.error);
      const { passage } = r.value;
      auditRequest(app.deps.audit, req, {
        action: 'gate.passage.override',
        outcome: 'ok',
        site,
        target: `event:${eventId}`,
        details: {
          verdict: passage.event.payload.decision,
          decision: req.body.decision,
          // the reason's length only (as for notes); the reason stays with the passage
          reasonChars: passage.override!.reason.length,
          ...(passage.holder ? { holder: passage.holder.ref } : {}),
        },
      });
      broadcast(site, passage);
      return { passage: publicPassage(passage) };
    },
  );

  app.post<{
    Params: { site: string };
    Body: {
      lastName: string;
      firstName: string;
      purpose: string;
      host: string;
      idDocumentType: IdDocumentType;
      idDocumentNumber?: string;
    };
  }>(
    '/api/sites/:site/visitors',
    {
      config: { permission: 'visitors:write' },
      schema: {
        params: siteParams,
        body: {
          type: 'object',
          required: ['lastName', 'firstName', 'purpose', 'host', 'idDocumentType'],
          additionalProperties: false,
          properties: {
            lastName: { type: 'string', maxLength: 120 },
            firstName: { type: 'string', maxLength: 120 },
            purpose: { type: 'string', maxLength: 120 },
            host: { type: 'string', maxLength: 120 },
            idDocumentType: { type: 'string', enum: [...ID_DOCUMENT_TYPES] },
            idDocumentNumber: { type: 'string', maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site } = req.params;
      const r = gate.registerVisitor({ site, ...req.body, actor: auditActor(req.principal) });
      if (!r.ok) {
        auditRequest(app.deps.audit, req, {
          action: 'visitor.register',
          outcome: 'failed',
          site,
          target: null,
          details: { error: r.error.code },
        });
        return failure(reply, r.error);
      }
      auditRequest(app.deps.audit, req, {
        action: 'visitor.register',
        outcome: 'ok',
        site,
        target: `visitor:${r.value.visitor.id}`,
        details: {
          credential: r.value.pass?.credentialId ?? null,
          idDocumentType: r.value.visitor.idDocumentType,
          idNumberRecorded: r.value.visitor.idDocumentNumber !== null,
        },
      });
      return reply.code(201).send(r.value);
    },
  );

  app.get<{ Params: { site: string }; Querystring: { day?: string } }>(
    '/api/sites/:site/visitors',
    {
      config: { permission: 'visitors:write' },
      schema: {
        params: siteParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site } = req.params;
      const list = gate.visitorsOf(site, req.query.day);
      if (list.visitors.length > 0) {
        auditRequest(app.deps.audit, req, {
          action: 'visitors.read',
          outcome: 'ok',
          site,
          target: `visitors:${list.day}`,
          details: { visitors: list.visitors.map((v) => v.visitor.id) },
        });
      }
      void reply.header('cache-control', 'no-store');
      return list;
    },
  );

  app.get<{ Params: { site: string; visitorId: number }; Querystring: { format?: 'card' | 'qr' } }>(
    '/api/sites/:site/visitors/:visitorId/pass',
    {
      config: { permission: 'visitors:write' },
      schema: {
        params: visitorParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['card', 'qr'], default: 'card' } },
        },
      },
    },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site, visitorId } = req.params;
      const format = req.query.format ?? 'card';
      const r = await gate.visitorPass(site, visitorId, format);
      if (!r.ok) return failure(reply, r.error);
      auditRequest(app.deps.audit, req, {
        action: 'visitor.pass.print',
        outcome: 'ok',
        site,
        target: `visitor:${visitorId}`,
        details: { credential: r.value.credentialId, format },
      });
      // the image carries a valid pass for today: not for any cache
      return reply.header('cache-control', 'no-store').type('image/png').send(r.value.png);
    },
  );

  app.post<{ Params: { site: string; visitorId: number } }>(
    '/api/sites/:site/visitors/:visitorId/end',
    { config: { permission: 'visitors:write' }, schema: { params: visitorParams } },
    async (req, reply) => {
      const gate = service(app, reply);
      if (!gate) return reply;
      const { site, visitorId } = req.params;
      const r = gate.endVisit(site, visitorId, { actor: auditActor(req.principal) });
      if (!r.ok) return failure(reply, r.error);
      auditRequest(app.deps.audit, req, {
        action: 'visitor.end',
        outcome: 'ok',
        site,
        target: `visitor:${visitorId}`,
        details: { revoked: r.value.revoked },
      });
      return r.value;
    },
  );
};
