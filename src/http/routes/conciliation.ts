import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.js';
import * as s from '../schemas.js';
import { BEARER_SECURITY, type JwtAuth, type RouteContext, type ZodApp } from '../server.js';
import { requestDetailOut, requestOut } from '../views.js';
import { accountIdOf } from './accounts.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NOT_FOUND = { messages: { notFound: 'Not found' } };

/** /conciliation: list, detail, re-run matching, resend the webhook, resolve an ambiguity, poll now. */
export function conciliationRoutes(app: ZodApp, ctx: RouteContext): void {
  const { reconcile, webhooks } = ctx.services;
  const tags = ['conciliation'];
  const userOf = (request: { auth: JwtAuth | null }) => (request.auth as JwtAuth).userId;

  async function refOf(userId: string, id: string) {
    if (!UUID.test(id)) throw new NotFoundError('Not found');
    return ctx.queries.requestRef(userId, id);
  }

  app.get(
    '/conciliation',
    {
      preHandler: ctx.guard('viewer'),
      schema: {
        tags,
        summary: 'Conciliation requests of every account, newest first (the total is in X-Total-Count)',
        security: BEARER_SECURITY,
        querystring: s.conciliationQuery,
        response: s.jwtResponses({ 200: z.array(s.conciliationItem) }),
      },
    },
    async (request, reply) => {
      const userId = userOf(request);
      const { limit, offset, status } = request.query;
      const { total, items } = await reconcile.requests.list(userId, { limit, offset, ...(status ? { status } : {}) });
      void reply.header('x-total-count', String(total));
      return items.map(requestOut);
    },
  );

  app.get('/conciliation/:id', { preHandler: ctx.guard('viewer'), config: NOT_FOUND, schema: { tags, summary: 'One request with its attempts, match and candidates', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.conciliationDetail }) } }, async (request) => {
    const userId = userOf(request);
    const ref = await refOf(userId, request.params.id);
    return requestDetailOut(await reconcile.requests.show(userId, ref.accountId, ref.externalId));
  });

  const queuedAnswer = s.jwtResponses({ 202: s.queued });

  app.post('/conciliation/:id/run', { preHandler: ctx.guard('operator'), config: NOT_FOUND, schema: { tags, summary: 'Run matching for this request now (an expired or failed one is registered again)', security: BEARER_SECURITY, params: s.idParams, response: queuedAnswer } }, async (request, reply) => {
    const userId = userOf(request);
    const ref = await refOf(userId, request.params.id);
    await reconcile.requests.rematch(userId, ref.accountId, ref.externalId);
    return reply.code(202).send({ queued: true as const });
  });

  app.post('/conciliation/:id/notify', { preHandler: ctx.guard('operator'), config: NOT_FOUND, schema: { tags, summary: 'Resend the result webhook of this request (same event id)', security: BEARER_SECURITY, params: s.idParams, response: queuedAnswer } }, async (request, reply) => {
    const userId = userOf(request);
    await refOf(userId, request.params.id);
    await webhooks.resend(userId, { requestId: request.params.id.toLowerCase() });
    return reply.code(202).send({ queued: true as const });
  });

  app.post(
    '/conciliation/:id/resolve',
    {
      preHandler: ctx.guard('operator'),
      config: { messages: { invalid: 'bank_transaction_id is required', notFound: 'Not found' } },
      schema: { tags, summary: 'Settle an open (e.g. ambiguous) request with the bank transaction you choose', security: BEARER_SECURITY, params: s.idParams, body: s.resolveBody, response: s.jwtResponses({ 200: s.conciliationDetail }) },
    },
    async (request) => {
      const auth = request.auth as JwtAuth;
      const ref = await refOf(auth.userId, request.params.id);
      return requestDetailOut(await reconcile.requests.resolve(auth.userId, ref.accountId, ref.externalId, request.body.bank_transaction_id, auth.name));
    },
  );

  app.post(
    '/conciliation/poll/:accountId',
    { preHandler: ctx.guard('operator'), config: { messages: { notFound: 'Account not found' } }, schema: { tags, summary: 'Poll the pending-orders endpoint of an account now', security: BEARER_SECURITY, params: s.pollParams, response: queuedAnswer } },
    async (request, reply) => {
      await reconcile.poller.requestPoll(userOf(request), accountIdOf(request.params.accountId));
      return reply.code(202).send({ queued: true as const });
    },
  );
}
