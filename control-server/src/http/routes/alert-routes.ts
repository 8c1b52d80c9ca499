import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  ALERT_KINDS,
  ALERT_SOURCE,
  MAX_NOTE_CHARS,
  type AlertKind,
  type AlertService,
} from '../../alerts/alert-service.js';
import { can, SITE_ID_PATTERN, type Permission, type Principal } from '../../auth/permissions.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';
import { EVENT_READ_PERMISSION } from '../auth/scope.js';
import { auditAccessEventReads } from './event-routes.js';

/**
 * The supervisors' alert queue of a site (alerts/): `GET /api/sites/:site/alerts?open=1` lists what
 * nobody has acknowledged yet (so the queue survives a reload), `POST …/alerts/:alertId/ack` records
 * who handled an alert, with an optional note, audits it, and tells every console of the site.
 */

const siteParam = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: { type: 'string', pattern: SITE_ID_PATTERN.source } },
} as const;

const ackParams = {
  type: 'object',
  required: ['site', 'alertId'],
  additionalProperties: false,
  properties: {
    site: { type: 'string', pattern: SITE_ID_PATTERN.source },
    // an event id (UUIDv7) or agent-offline.{agent}.{sinceMs}
    alertId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,127}$' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    open: { type: 'string', enum: ['1', 'true'] },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 200 },
  },
} as const;

// no body at all is an acknowledgement without a note
const ackBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { note: { type: 'string', maxLength: MAX_NOTE_CHARS } },
} as const;

/** Acknowledgements listed with the open alerts: the last day's, for the "recently handled" list. */
const RECENT_ACKS_MS = 24 * 3_600_000;

/** The alert kinds `p` may see at `site`: those whose source (event kind, or agents) it may read. */
export function visibleAlertKinds(p: Principal, site: string): AlertKind[] {
  return ALERT_KINDS.filter((k) => {
    const source = ALERT_SOURCE[k];
    const perm: Permission = source === 'agent' ? 'agents:read' : EVENT_READ_PERMISSION[source];
    return can(p, perm, site);
  });
}

function service(alerts: AlertService | undefined, reply: FastifyReply): AlertService | null {
  if (alerts) return alerts;
  void reply.code(503).send({ error: 'ALERTS_UNAVAILABLE', message: 'the alert service is not configured' });
  return null;
}

export const alertRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { site: string }; Querystring: { open?: string; limit: number } }>(
    '/api/sites/:site/alerts',
    {
      config: { permission: ['alerts:ack', 'events.movement:read'] },
      schema: { params: siteParam, querystring: listQuery },
    },
    async (req, reply) => {
      const alerts = service(app.deps.alerts, reply);
      if (!alerts) return reply;
      const site = req.params.site;
      const kinds = visibleAlertKinds(req.principal!, site);
      const open = alerts.listOpen({ site, kinds, limit: req.query.limit });
      const acks = alerts
        .listAcks(site, new Date(Date.now() - RECENT_ACKS_MS).toISOString())
        .filter((a) => kinds.includes(a.kind));
      // mismatch and spoof alerts are access events (pseudonymous credential ids): reading them is audited
      auditAccessEventReads(
        open.flatMap((a) => (a.event ? [a.event] : [])),
        (s, ids) =>
          auditRequest(app.deps.audit, req, {
            action: 'events.read',
            outcome: 'ok',
            site: s,
            target: `events:${ids.length}`,
            details: { kind: 'access', ids, via: 'alerts' },
          }),
      );
      return { site, alerts: open, acks };
    },
  );

  app.post<{ Params: { site: string; alertId: string }; Body: { note?: string } | null }>(
    '/api/sites/:site/alerts/:alertId/ack',
    { config: { permission: 'alerts:ack' }, schema: { params: ackParams, body: ackBody } },
    async (req, reply) => {
      const alerts = service(app.deps.alerts, reply);
      if (!alerts) return reply;
      const { site, alertId } = req.params;
      const note = req.body?.note ?? null;
      const r = alerts.ack(site, alertId, auditActor(req.principal), note, visibleAlertKinds(req.principal!, site));
      if (!r.ok) {
        const e = r.error;
        if (e.code === 'ALREADY_ACKNOWLEDGED')
          return reply.code(409).send({ error: e.code, message: e.message, ack: e.ack });
        return reply.code(e.code === 'UNKNOWN_ALERT' ? 404 : 400).send({ error: e.code, message: e.message });
      }
      const { ack } = r.value;
      auditRequest(app.deps.audit, req, {
        action: 'alert.ack',
        outcome: 'ok',
        site,
        target: `alert:${alertId}`,
        // the note is free text an operator typed: its length is enough for the record, the text stays in alert_acks
        details: {
          kind: ack.kind,
          agent: ack.agent,
          camera: ack.camera,
          alertTs: ack.alertTs,
          noteChars: ack.note?.length ?? 0,
        },
      });
      app.deps.bus.publish({ type: 'alert_ack', ack });
      return { ack };
    },
  );
};
