import type { FastifyPluginAsync } from 'fastify';
import { ROLES, type RoleGrant } from '../../auth/permissions.js';
import { auditRequest } from '../auth/auth-plugin.js';
import { publicUser } from './auth-routes.js';

const grantSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['role', 'site'],
  properties: {
    role: { type: 'string', enum: [...ROLES] },
    site: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

/**
 * Operator accounts, managed by regional IT (any site) and site admins (their sites):
 * GET /api/users, GET /api/sites/:site/users, POST /api/users.
 * A site admin sees only the grants at its sites and can grant reception, supervisor and site_admin
 * there; only regional IT grants regional_it, and only a global regional IT grants `*`.
 */
export const userRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/users', { config: { permission: 'users:read' } }, async (req) => {
    const users = app.deps.auth.listUsers(req.principal!);
    auditRequest(app.deps.audit, req, {
      action: 'users.read',
      outcome: 'ok',
      site: null,
      target: `users:${users.length}`,
      details: {},
    });
    return { users: users.map(publicUser) };
  });

  app.get<{ Params: { site: string } }>(
    '/api/sites/:site/users',
    {
      config: { permission: 'users:read' },
      schema: {
        params: {
          type: 'object',
          required: ['site'],
          properties: { site: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (req) => {
      const users = app.deps.auth.listUsers(req.principal!, req.params.site);
      auditRequest(app.deps.audit, req, {
        action: 'users.read',
        outcome: 'ok',
        site: req.params.site,
        target: `users:${users.length}`,
        details: {},
      });
      return { users: users.map(publicUser) };
    },
  );

  app.post<{ Body: { username: string; password: string; roles: RoleGrant[] } }>(
    '/api/users',
    {
      config: { permission: 'users:write' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password', 'roles'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            roles: { type: 'array', minItems: 1, maxItems: 64, items: grantSchema },
          },
        },
      },
    },
    async (req, reply) => {
      const res = await app.deps.auth.createUser(req.principal!, req.body, req.ip);
      if (res.ok) return reply.code(201).send({ user: publicUser(res.value) });
      const status = res.error.code === 'FORBIDDEN_GRANT' ? 403 : res.error.code === 'USERNAME_TAKEN' ? 409 : 400;
      return reply.code(status).send({ error: res.error.code, message: res.error.message });
    },
  );
};
