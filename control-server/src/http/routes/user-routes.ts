import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ROLES, type RoleGrant } from '../../auth/permissions.js';
import type { UserRecord } from '../../repositories/user-repository.js';
import type { Result, UserInputError } from '../../services/auth-service.js';
import { auditRequest } from '../auth/auth-plugin.js';
import { publicUser } from './auth-routes.js';

const STATUS_OF: Record<UserInputError['code'], number> = {
  INVALID_USERNAME: 400,
  WEAK_PASSWORD: 400,
  INVALID_ROLE: 400,
  FORBIDDEN_GRANT: 403,
  NOT_FOUND: 404,
  USERNAME_TAKEN: 409,
  EMAIL_TAKEN: 409,
  SELF: 409,
};

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const;

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
  /** the record, with what an administrator needs to see of it (e-mail, lock, second factor) */
  const shown = (u: UserRecord) => {
    const d = app.deps.auth.details(u);
    return {
      ...publicUser(u),
      email: d.email,
      lockedUntil: d.lockedUntil,
      recoveryCodesLeft: d.recoveryCodesLeft,
      totpEnrolmentRequired: d.totpEnrolmentRequired,
      oidcIdentities: d.oidcIdentities,
    };
  };
  const answer = (reply: FastifyReply, res: Result<UserRecord, UserInputError>, created = false) =>
    res.ok
      ? reply.code(created ? 201 : 200).send({ user: shown(res.value) })
      : reply.code(STATUS_OF[res.error.code]).send({ error: res.error.code, message: res.error.message });

  app.get('/api/users', { config: { permission: 'users:read' } }, async (req) => {
    const users = app.deps.auth.listUsers(req.principal!);
    auditRequest(app.deps.audit, req, {
      action: 'users.read',
      outcome: 'ok',
      site: null,
      target: `users:${users.length}`,
      details: {},
    });
    return { users: users.map(shown) };
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
      return { users: users.map(shown) };
    },
  );

  app.post<{ Body: { username: string; password: string; roles: RoleGrant[]; email?: string | null } }>(
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
            email: { type: ['string', 'null'], maxLength: 254 },
          },
        },
      },
    },
    async (req, reply) => answer(reply, await app.deps.auth.createUser(req.principal!, req.body, req.ip), true),
  );

  // an administrator's changes to an account it administers (all its grants, not its own account)
  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: { id: number } }>(
      `/api/users/:id/${action}`,
      { config: { permission: 'users:write' }, schema: { params: idParams } },
      async (req, reply) =>
        answer(reply, app.deps.auth.setDisabled(req.principal!, req.params.id, action === 'disable', req.ip)),
    );
  }

  app.post<{ Params: { id: number }; Body: { password: string } }>(
    '/api/users/:id/password',
    {
      config: { permission: 'users:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: { password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
    },
    async (req, reply) =>
      answer(reply, await app.deps.auth.resetPassword(req.principal!, req.params.id, req.body.password, req.ip)),
  );

  app.post<{ Params: { id: number } }>(
    '/api/users/:id/totp/reset',
    { config: { permission: 'users:write' }, schema: { params: idParams } },
    async (req, reply) => answer(reply, app.deps.auth.resetTotp(req.principal!, req.params.id, req.ip)),
  );

  app.put<{ Params: { id: number }; Body: { roles: RoleGrant[] } }>(
    '/api/users/:id/roles',
    {
      config: { permission: 'users:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['roles'],
          properties: { roles: { type: 'array', minItems: 0, maxItems: 64, items: grantSchema } },
        },
      },
    },
    async (req, reply) => answer(reply, app.deps.auth.setRoles(req.principal!, req.params.id, req.body.roles, req.ip)),
  );

  app.put<{ Params: { id: number }; Body: { email: string | null } }>(
    '/api/users/:id/email',
    {
      config: { permission: 'users:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email'],
          properties: { email: { type: ['string', 'null'], maxLength: 254 } },
        },
      },
    },
    async (req, reply) => answer(reply, app.deps.auth.setEmail(req.principal!, req.params.id, req.body.email, req.ip)),
  );
};
