import { z } from 'zod';
import { NotFoundError, UserError } from '../../domain/errors.js';
import * as s from '../schemas.js';
import { BEARER_SECURITY, type JwtAuth, type RouteContext, type ZodApp } from '../server.js';
import { accountOut, assistanceOut, configOut, movementOut } from '../views.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An account id from a path: a UUID of the caller's company (the services also take names; the API takes ids only). */
export function accountIdOf(raw: string): string {
  if (!UUID.test(raw)) throw new NotFoundError('Account not found');
  return raw.toLowerCase();
}

const ACCOUNT_NOT_FOUND = { messages: { notFound: 'Account not found' } };

/** /accounts: list, create, detail, delete, config, scrape/restart/kill/reactivate, OTP, movements. */
export function accountRoutes(app: ZodApp, ctx: RouteContext): void {
  const { accounts, sessions, banks, webhooks } = ctx.services;
  const tags = ['accounts'];
  const userOf = (request: { auth: JwtAuth | null }) => (request.auth as JwtAuth).userId;
  const show = (request: { auth: JwtAuth | null; params: { id: string } }) => accounts.show(userOf(request), accountIdOf(request.params.id));

  app.get('/accounts', { preHandler: ctx.guard('viewer'), schema: { tags, summary: 'The accounts of this company', security: BEARER_SECURITY, response: s.jwtResponses({ 200: z.array(s.account) }) } }, async (request) =>
    (await accounts.list(userOf(request))).map(accountOut),
  );

  app.post(
    '/accounts',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { invalid: 'bankId and name are required' } },
      schema: { tags, summary: 'Add an account (credentials and settings follow with PUT /accounts/:id/config)', security: BEARER_SECURITY, body: s.createAccountBody, response: s.jwtResponses({ 201: s.createdAccount }) },
    },
    async (request, reply) => {
      const bank = banks.find(request.body.bankId);
      if (!bank) throw new UserError('Bank not found');
      const created = await accounts.create(userOf(request), { name: request.body.name, bank: bank.code });
      return reply.code(201).send({ ...accountOut(created), webhook_signing_secret: created.signingSecret });
    },
  );

  app.get('/accounts/:id', { preHandler: ctx.guard('viewer'), config: ACCOUNT_NOT_FOUND, schema: { tags, summary: 'One account', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.account }) } }, async (request) =>
    accountOut(await show(request)),
  );

  app.delete(
    '/accounts/:id',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { invalid: 'confirmation_name is required', notFound: 'Account not found' } },
      schema: { tags, summary: "Delete an account; the body repeats the account's name", security: BEARER_SECURITY, params: s.idParams, body: s.deleteAccountBody, response: s.jwtResponses({ 204: s.noContent }) },
    },
    async (request, reply) => {
      await accounts.remove(userOf(request), accountIdOf(request.params.id), request.body.confirmation_name);
      return reply.code(204).send(null);
    },
  );

  app.get('/accounts/:id/config', { preHandler: ctx.guard('viewer'), config: ACCOUNT_NOT_FOUND, schema: { tags, summary: 'Settings (secrets masked)', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.accountConfig }) } }, async (request) =>
    configOut(await show(request)),
  );

  app.put(
    '/accounts/:id/config',
    {
      preHandler: ctx.guard('admin'),
      config: { messages: { invalid: 'The body is an object of settings', notFound: 'Account not found' } },
      schema: { tags, summary: 'Change settings (any subset); writing the mask back keeps a stored secret', security: BEARER_SECURITY, params: s.idParams, body: s.configBody, response: s.jwtResponses({ 200: s.accountConfig }) },
    },
    async (request) => {
      const patch: Record<string, unknown> = { ...request.body };
      // The docs allow the extra fields as an object written out as JSON text.
      if (typeof patch.webhook_extra_fields === 'string' && patch.webhook_extra_fields.trim().startsWith('{')) {
        try {
          patch.webhook_extra_fields = JSON.parse(patch.webhook_extra_fields) as unknown;
        } catch {
          throw new UserError('Invalid setting: webhook_extra_fields must be a JSON object.');
        }
      }
      const { account } = await accounts.configure(userOf(request), accountIdOf(request.params.id), patch);
      return configOut(account);
    },
  );

  const queuedAnswer = s.jwtResponses({ 202: s.queued });

  app.post('/accounts/:id/scrape', { preHandler: ctx.guard('operator'), config: ACCOUNT_NOT_FOUND, schema: { tags, summary: 'Read the bank now (a one-shot session is queued)', security: BEARER_SECURITY, params: s.idParams, response: queuedAnswer } }, async (request, reply) => {
    const view = await show(request);
    if (banks.find(view.bank)?.source === 'statement') throw new UserError(`"${view.name}" reads statement files, not a bank portal: upload one with POST /accounts/${view.id}/statements.`);
    await sessions.control.requestScrape(userOf(request), view.id);
    return reply.code(202).send({ queued: true as const });
  });

  app.post('/accounts/:id/restart', { preHandler: ctx.guard('admin'), config: ACCOUNT_NOT_FOUND, schema: { tags, summary: 'Restart scraping after a fatal failure (clears scrapeBlockedAt)', security: BEARER_SECURITY, params: s.idParams, response: queuedAnswer } }, async (request, reply) => {
    await sessions.control.restart(userOf(request), accountIdOf(request.params.id));
    return reply.code(202).send({ queued: true as const });
  });

  for (const verb of ['kill', 'reactivate'] as const) {
    app.post(
      `/accounts/:id/${verb}`,
      {
        preHandler: ctx.guard('operator'),
        config: ACCOUNT_NOT_FOUND,
        schema: { tags, summary: verb === 'kill' ? 'Stop a persistent session (its browser closes) until reactivated' : 'Start a stopped or parked persistent session again', security: BEARER_SECURITY, params: s.idParams, response: queuedAnswer },
      },
      async (request, reply) => {
        const auth = request.auth as JwtAuth;
        await sessions.control.setSessionState(auth.userId, accountIdOf(request.params.id), verb === 'kill' ? 'stopped' : 'running', verb === 'kill' ? `stopped by ${auth.name}` : null);
        return reply.code(202).send({ queued: true as const });
      },
    );
  }

  app.get(
    '/accounts/:id/otp',
    { preHandler: ctx.guard('viewer'), config: ACCOUNT_NOT_FOUND, schema: { tags: ['otp'], summary: 'The pending assistance request (a bank code being waited for), or null', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.assistance.nullable() }) } },
    async (request) => {
      const pending = await sessions.assistance.pending((await show(request)).id);
      return pending ? assistanceOut(pending) : null;
    },
  );

  app.post(
    '/accounts/:id/otp',
    {
      preHandler: ctx.guard('operator'),
      config: { messages: { invalid: 'code is required (1 to 32 characters)', notFound: 'Account not found' } },
      schema: { tags: ['otp'], summary: 'Give the bank code a login waits for (at most 5 per 10 minutes per account, chat included)', security: BEARER_SECURITY, params: s.idParams, body: s.otpBody, response: s.jwtResponses({ 202: s.submitted }) },
    },
    async (request, reply) => {
      const view = await show(request);
      await sessions.assistance.submit(view.id, request.body.code, `api:${(request.auth as JwtAuth).memberId}`);
      return reply.code(202).send({ submitted: true as const });
    },
  );

  app.get(
    '/accounts/:id/movements',
    { preHandler: ctx.guard('viewer'), config: ACCOUNT_NOT_FOUND, schema: { tags: ['movements'], summary: 'Bank transactions read, newest first', security: BEARER_SECURITY, params: s.idParams, querystring: s.pageQuery(100), response: s.jwtResponses({ 200: z.array(s.movement) }) } },
    async (request) => {
      const view = await show(request);
      return (await sessions.transactions.recent(view.id, { limit: request.query.limit, offset: request.query.offset })).map(movementOut);
    },
  );

  app.post(
    '/accounts/:id/movements/:mid/notify',
    {
      preHandler: ctx.guard('operator'),
      config: { messages: { notFound: 'Not found' } },
      schema: { tags: ['movements'], summary: 'Resend the bank movement webhook (passthrough), same event id', security: BEARER_SECURITY, params: s.movementParams, response: queuedAnswer },
    },
    async (request, reply) => {
      const view = await accounts.show(userOf(request), accountIdOf(request.params.id));
      if (!UUID_LIKE.test(request.params.mid)) throw new NotFoundError('Not found');
      await webhooks.resend(userOf(request), { accountId: view.id, transactionId: request.params.mid });
      return reply.code(202).send({ queued: true as const });
    },
  );
}

const UUID_LIKE = UUID;
