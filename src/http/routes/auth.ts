import { normalEmail } from '../../access/logins.js';
import { HttpError } from '../errors.js';
import * as s from '../schemas.js';
import type { RouteContext, ZodApp } from '../server.js';

const WINDOW_MS = 15 * 60_000;

/** POST /auth/register, POST /auth/login (public; limited per client address and per email). */
export function authRoutes(app: ZodApp, ctx: RouteContext): void {
  const { logins } = ctx.services.access;

  async function limitAttempts(ip: string, email: string): Promise<void> {
    const message = 'Too many attempts; try again later.';
    await ctx.limit(`login-ip:${ip}`, ctx.settings.loginAttemptsPerAddress, WINDOW_MS, message);
    await ctx.limit(`login-email:${normalEmail(email).slice(0, 254)}`, ctx.settings.loginAttemptsPerEmail, WINDOW_MS, message);
  }

  app.post(
    '/auth/register',
    {
      config: { messages: { invalid: 'email and password required' } },
      schema: {
        tags: ['auth'],
        summary: 'Register a person and a new company with them as owner (SETUP_ALLOWED applies)',
        body: s.registerBody,
        response: s.publicResponses({ 201: s.registered }),
      },
    },
    async (request, reply) => {
      const { email, password, name } = request.body;
      if (!email.trim() || !password) throw new HttpError(400, 'email and password required');
      await limitAttempts(request.ip, email);
      const principal = await logins.register({ email, password, name });
      return reply.code(201).send({ id: principal.member.userId, email: principal.login.email });
    },
  );

  app.post(
    '/auth/login',
    {
      config: { messages: { invalid: 'email and password required' } },
      schema: {
        tags: ['auth'],
        summary: 'Log in: a token valid 7 days (the password, or a one-time password from chat: api login)',
        body: s.credentials,
        response: s.publicResponses({ 200: s.loginAnswer }),
      },
    },
    async (request) => {
      const { email, password } = request.body;
      if (!email.trim() || !password) throw new HttpError(400, 'email and password required');
      await limitAttempts(request.ip, email);
      const principal = await logins.authenticate(email, password);
      const token = await ctx.tokens.sign({ sub: principal.login.id, tv: principal.login.tokenVersion }, { audience: 'api', ttlSeconds: ctx.loginTtlSeconds });
      return { token, user: { id: principal.member.userId, email: principal.login.email, name: principal.member.displayName } };
    },
  );
}
