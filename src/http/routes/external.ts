import type { FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../../access/api-keys.js';
import { NotFoundError } from '../../domain/errors.js';
import { HttpError } from '../errors.js';
import * as s from '../schemas.js';
import { API_KEY_SECURITY, type KeyAuth, type RouteContext, type ZodApp } from '../server.js';
import { assistanceOut } from '../views.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The key a request presents: `Authorization: Api-Key <key>` or `x-api-key: <key>` (never a Bearer token). */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const authorization = request.headers.authorization;
  const match = typeof authorization === 'string' ? /^Api-Key\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

/**
 * The External API (/v1): API keys only. Errors `{ "error": { "code", "message" } }`:
 * UNAUTHORIZED (no key), INVALID_API_KEY (unknown, malformed or revoked), FORBIDDEN (scope or
 * an account outside the key's list), NOT_FOUND (no such account of the key's user).
 */
export function externalRoutes(app: ZodApp, ctx: RouteContext): void {
  const { access, accounts, sessions } = ctx.services;
  const tags = ['external'];

  /** `ownedInHandler`: the handler's service call checks the account belongs to the key's user (one read fewer). */
  function keyGuard(scope: ApiKeyScope, ownedInHandler = false) {
    return async (request: FastifyRequest<{ Params: { accountId: string } }>) => {
      const raw = presentedKey(request);
      if (!raw) throw new HttpError(401, 'Unauthorized', 'UNAUTHORIZED');
      const key = raw.length <= 200 ? await access.apiKeys.verify(raw) : null;
      if (!key) throw new HttpError(401, 'Invalid API key', 'INVALID_API_KEY');
      request.apiKey = { userId: key.userId, keyId: key.id, prefix: key.prefix, scopes: key.scopes, accountIds: key.accountIds };
      if (!key.scopes.includes(scope)) throw new HttpError(403, 'Forbidden', 'FORBIDDEN');
      const accountId = request.params.accountId;
      if (!UUID.test(accountId)) throw new HttpError(404, 'Not found', 'NOT_FOUND');
      const listed = key.accountIds === null || key.accountIds.includes(accountId.toLowerCase());
      if (listed && ownedInHandler) return;
      // Owned first (another user's account is simply not there), then the key's own list.
      await accounts.show(key.userId, accountId.toLowerCase()).catch((error: unknown) => {
        throw error instanceof NotFoundError ? new HttpError(404, 'Not found', 'NOT_FOUND') : error;
      });
      if (!listed) throw new HttpError(403, 'Forbidden', 'FORBIDDEN');
    };
  }

  app.post(
    '/v1/accounts/:accountId/otp',
    {
      preHandler: keyGuard('otp:write'),
      config: { messages: { invalid: 'code is required (1 to 32 characters)' } },
      schema: {
        tags,
        summary: 'Submit the bank code a login waits for (scope otp:write; at most 5 per 10 minutes per account, chat included)',
        security: API_KEY_SECURITY,
        params: s.accountParams,
        body: s.otpBody,
        response: s.externalResponses({ 202: s.submitted }),
      },
    },
    async (request, reply) => {
      const key = request.apiKey as KeyAuth;
      await sessions.assistance.submit(request.params.accountId.toLowerCase(), request.body.code, `api:key:${key.prefix}`);
      return reply.code(202).send({ submitted: true as const });
    },
  );

  app.get(
    '/v1/accounts/:accountId/status',
    {
      preHandler: keyGuard('status:read', true),
      schema: { tags, summary: 'Session state and any pending assistance request (scope status:read)', security: API_KEY_SECURITY, params: s.accountParams, response: s.externalResponses({ 200: s.accountStatus }) },
    },
    async (request) => {
      const key = request.apiKey as KeyAuth;
      const id = request.params.accountId.toLowerCase();
      const [status, pending] = await Promise.all([sessions.control.status(key.userId, id), sessions.assistance.pending(id)]);
      const settings = status.view.settings as { session_type: 'one-shot' | 'persistent'; login_mode: 'simple' | 'assisted' };
      const persistentState = status.session?.state ?? 'running';
      const state = pending
        ? 'waiting_for_code'
        : status.view.scrapeBlockedAt
          ? 'blocked'
          : settings.session_type === 'persistent' && persistentState !== 'running'
            ? persistentState
            : status.activeSession
              ? 'running'
              : 'idle';
      const run = status.lastRun;
      return {
        account_id: status.view.id,
        name: status.view.name,
        bank: status.view.bank,
        status: status.view.status,
        session_type: settings.session_type,
        login_mode: settings.login_mode,
        session: {
          state,
          reason: settings.session_type === 'persistent' ? (status.session?.reason ?? null) : null,
          running: status.activeSession !== null,
          last_run: run ? { started_at: run.startedAt.toISOString(), ended_at: run.endedAt ? run.endedAt.toISOString() : null, status: run.status, outcome: run.outcome ?? null, stage: run.stage ?? null } : null,
          next_run_at: settings.session_type === 'persistent' ? null : status.scrape?.nextRunAt ? status.scrape.nextRunAt.toISOString() : null,
          consecutive_failures: status.scrape?.failures ?? 0,
        },
        scrapeBlockedAt: status.view.scrapeBlockedAt ? status.view.scrapeBlockedAt.toISOString() : null,
        scrapeBlockedReason: status.view.scrapeBlockedReason,
        assistance: pending ? assistanceOut(pending) : null,
      };
    },
  );
}
