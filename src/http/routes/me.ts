import { API_KEY_SCOPES } from '../../access/api-keys.js';
import * as s from '../schemas.js';
import { BEARER_SECURITY, type JwtAuth, type RouteContext, type ZodApp } from '../server.js';
import { apiKeyOut } from '../views.js';

/** GET /me, PUT /me/operation-mode, PUT /me/password, POST /me/link-code, /me/api-keys. */
export function meRoutes(app: ZodApp, ctx: RouteContext): void {
  const { users, access } = ctx.services;
  const tags = ['me'];

  app.get('/me', { preHandler: ctx.guard('viewer'), schema: { tags, summary: 'The person logged in and their company', security: BEARER_SECURITY, response: s.jwtResponses({ 200: s.me }) } }, async (request) => {
    const auth = request.auth as JwtAuth;
    const tenant = await users.getTenant(auth.userId);
    return { id: auth.userId, email: auth.email, name: auth.name, operation_mode: tenant.operation_mode, role: auth.role, member_id: auth.memberId, company: tenant.name };
  });

  app.put(
    '/me/operation-mode',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { invalid: 'mode must be reconcile or passthrough' } },
      schema: { tags, summary: 'Switch the operation mode of every account', security: BEARER_SECURITY, body: s.modeBody, response: s.jwtResponses({ 200: s.modeAnswer }) },
    },
    async (request) => {
      const tenant = await users.setOperationMode((request.auth as JwtAuth).userId, request.body.mode);
      return { operation_mode: tenant.operation_mode ?? request.body.mode };
    },
  );

  app.put(
    '/me/password',
    {
      preHandler: ctx.guard('viewer'),
      config: { messages: { invalid: 'password required' } },
      schema: { tags, summary: 'Set a new password; tokens issued before stop working', security: BEARER_SECURITY, body: s.passwordBody, response: s.jwtResponses({ 204: s.noContent }) },
    },
    async (request, reply) => {
      await access.logins.setPassword((request.auth as JwtAuth).loginId, request.body.password);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/link-code',
    {
      preHandler: ctx.guard('viewer'),
      schema: { tags, summary: 'A one-time code that joins a chat identity to this login (type it in chat: api link <code>)', security: BEARER_SECURITY, response: s.jwtResponses({ 201: s.linkCode }) },
    },
    async (request, reply) => {
      const link = await access.logins.linkCode((request.auth as JwtAuth).loginId);
      return reply.code(201).send({ code: link.code, expires_at: link.expiresAt.toISOString(), how: `In a private chat with the bot: /recon api link ${link.code}` });
    },
  );

  app.get('/me/api-keys', { preHandler: ctx.guard('admin'), schema: { tags: ['api-keys'], summary: 'The API keys of this company (secrets never included)', security: BEARER_SECURITY, response: s.jwtResponses({ 200: s.apiKeyList }) } }, async (request) => {
    const keys = await access.apiKeys.list((request.auth as JwtAuth).userId);
    return { keys: keys.map(apiKeyOut), available_scopes: [...API_KEY_SCOPES] };
  });

  app.post(
    '/me/api-keys',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { invalid: 'name, scopes (at least one) and account_ids (a list or null) are required' } },
      schema: { tags: ['api-keys'], summary: 'Create an API key for the External API; the key is shown this once', security: BEARER_SECURITY, body: s.createKeyBody, response: s.jwtResponses({ 201: s.createdKey }) },
    },
    async (request, reply) => {
      const auth = request.auth as JwtAuth;
      const { key, record } = await access.apiKeys.create({ userId: auth.userId, memberId: auth.memberId }, { name: request.body.name, scopes: request.body.scopes, accountIds: request.body.account_ids });
      return reply.code(201).send({ ...apiKeyOut(record), key });
    },
  );

  app.delete(
    '/me/api-keys/:id',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { notFound: 'API key not found' } },
      schema: { tags: ['api-keys'], summary: 'Revoke an API key (at once, for good)', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.apiKey }) },
    },
    async (request) => apiKeyOut(await access.apiKeys.revoke((request.auth as JwtAuth).userId, request.params.id)),
  );
}
