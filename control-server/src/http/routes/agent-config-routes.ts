import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { can, SITE_ID_PATTERN } from '../../auth/permissions.js';
import {
  classifyChange,
  validateConfigBody,
  type AgentCameraInfo,
  type AgentConfigService,
  type AgentConfigVersion,
} from '../../agent-config/agent-config-service.js';
import type { AgentRecord } from '../../repositories/agent-repository.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';

/**
 * The configuration the server publishes to each agent (agent-config/): read it with the agent's
 * answer (`agents:read`), change it (a new version; rules need `zones:write`, cameras and thresholds
 * `cameras:write`, at the agent's site; audited), and its history of versions.
 */

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const agentParams = {
  type: 'object',
  required: ['site', 'agent'],
  additionalProperties: false,
  properties: {
    site: { type: 'string', pattern: SITE_ID_PATTERN.source },
    agent: { type: 'string', pattern: AGENT_ID.source },
  },
} as const;

interface AgentParams {
  site: string;
  agent: string;
}

interface PutBody {
  baseVersion?: number | null;
  cameras: unknown[];
  thresholds?: Record<string, unknown>;
}

function service(app: { deps: { agentConfig?: AgentConfigService } }, reply: FastifyReply): AgentConfigService | null {
  if (app.deps.agentConfig) return app.deps.agentConfig;
  void reply.code(503).send({ error: 'AGENT_CONFIG_UNAVAILABLE', message: 'agent configuration is not configured on this server' });
  return null;
}

/** The cameras an agent reported in its status, for checks the agent would otherwise make later. */
export function agentCameras(record: AgentRecord | null): AgentCameraInfo[] | null {
  const cams = record?.status?.cameras;
  return cams && cams.length ? cams.map((c) => ({ id: c.id, role: c.role })) : null;
}

const versionView = (v: AgentConfigVersion) => ({
  version: v.version,
  cameras: v.body.cameras,
  thresholds: v.body.thresholds,
  source: v.source,
  createdBy: v.createdBy,
  createdAt: v.createdAt,
});

export const agentConfigRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: AgentParams }>(
    '/api/sites/:site/agents/:agent/config',
    { config: { permission: 'agents:read' }, schema: { params: agentParams } },
    async (req, reply) => {
      const svc = service(app, reply);
      if (!svc) return reply;
      const { site, agent } = req.params;
      const record = app.deps.agents.get(site, agent);
      const current = svc.current(site, agent);
      if (!record && !current) return reply.code(404).send({ error: 'AGENT_NOT_FOUND', message: `no agent ${site}/${agent}` });
      return {
        site,
        agent,
        current: current ? versionView(current) : null,
        publication: svc.publication(site, agent),
        brokerVersion: svc.brokerVersion(site, agent),
        // the agent's answer (retained config/state) and the version its status says is in force
        state: record?.configState ?? null,
        appliedVersion: record?.status?.configVersion ?? record?.configState?.appliedVersion ?? null,
        agentState: record?.state ?? 'unknown',
        cameras: record?.status?.cameras ?? [],
      };
    },
  );

  app.get<{ Params: AgentParams; Querystring: { limit?: number } }>(
    '/api/sites/:site/agents/:agent/config/history',
    {
      config: { permission: 'agents:read' },
      schema: {
        params: agentParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 200 } },
        },
      },
    },
    async (req, reply) => {
      const svc = service(app, reply);
      if (!svc) return reply;
      const { site, agent } = req.params;
      return { site, agent, versions: svc.history(site, agent, req.query.limit ?? 50).map(versionView) };
    },
  );

  app.put<{ Params: AgentParams; Body: PutBody }>(
    '/api/sites/:site/agents/:agent/config',
    {
      config: { permission: ['zones:write', 'cameras:write'] },
      // 64 cameras of 32 polygons are larger than a login: the MQTT payload limit (256 KiB) is the real bound
      bodyLimit: 512 * 1024,
      schema: {
        params: agentParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['cameras'],
          properties: {
            baseVersion: { type: ['integer', 'null'], minimum: 0 },
            cameras: { type: 'array', maxItems: 64 },
            thresholds: { type: 'object' },
          },
        },
      },
    },
    async (req, reply) => {
      const svc = service(app, reply);
      if (!svc) return reply;
      const { site, agent } = req.params;
      const p = req.principal!;
      const record = app.deps.agents.get(site, agent);
      const cameras = agentCameras(record);
      const before = svc.current(site, agent);
      // validate first: the permission a change needs depends on what it changes
      const checked = validateConfigBody(site, agent, (before?.version ?? 0) + 1, req.body, cameras, new Date());
      if (!checked.ok) {
        return reply.code(400).send({
          error: 'CONFIG_INVALID',
          message: checked.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
          issues: checked.issues,
        });
      }
      const change = classifyChange(before?.body ?? null, checked.value);
      const missing = [
        ...(change.rules && !can(p, 'zones:write', site) ? ['zones:write'] : []),
        ...(change.cameras && !can(p, 'cameras:write', site) ? ['cameras:write'] : []),
      ];
      if (missing.length) {
        auditRequest(app.deps.audit, req, {
          action: 'agent_config.set',
          outcome: 'denied',
          site,
          target: `agent:${site}/${agent}`,
          details: { permission: missing },
        });
        return reply.code(403).send({ error: 'FORBIDDEN', permission: missing, site });
      }
      const r = svc.save(site, agent, req.body, auditActor(p), cameras);
      if (!r.ok) {
        if (r.error.code === 'CONFIG_CONFLICT') return reply.code(409).send(r.error);
        return reply.code(400).send(r.error);
      }
      if (!r.value.unchanged) {
        auditRequest(app.deps.audit, req, {
          action: 'agent_config.set',
          outcome: 'ok',
          site,
          target: `agent:${site}/${agent}`,
          details: {
            version: r.value.version,
            previousVersion: r.value.before?.version ?? null,
            rulesChanged: change.rules,
            camerasChanged: change.cameras,
            cameras: r.value.after.body.cameras.map((c) => ({
              id: c.id,
              trackingEnabled: c.trackingEnabled,
              zones: c.zones.length,
              lines: c.lines.length,
              tailgating: c.tailgating.length,
            })),
          },
        });
      }
      return { site, agent, version: r.value.version, unchanged: r.value.unchanged, current: versionView(r.value.after) };
    },
  );
};
