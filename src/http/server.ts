import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiKeyScope } from '../access/api-keys.js';
import { hasRole, type Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import type { Services } from '../services.js';
import { createErrorHandler, HttpError, sendError } from './errors.js';
import { createApiQueries, type ApiQueries } from './queries.js';
import type { Models } from '../store/models.js';
import { accountRoutes } from './routes/accounts.js';
import { authRoutes } from './routes/auth.js';
import { bankRoutes } from './routes/banks.js';
import { conciliationRoutes } from './routes/conciliation.js';
import { externalRoutes } from './routes/external.js';
import { meRoutes } from './routes/me.js';
import { statementRoutes } from './routes/statements.js';
import { LOGIN_TTL_SECONDS, type TokenSigner } from './tokens.js';

/**
 * The HTTP API (SPEC §6) on Fastify with zod: the dashboard API (`Authorization: Bearer <jwt>`),
 * the External API under /v1 (API keys only) and the OpenAPI document generated from the same
 * zod schemas the routes validate with (/openapi.json). Routes validate, check who asks, call
 * the services chat commands call, and shape the answer; nothing more.
 */

export type ZodApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** Who a dashboard request acts as: a person (member) of a user (company), with their role. */
export type JwtAuth = { userId: string; memberId: string; role: Role; loginId: string; email: string; name: string };
/** Who an External API request acts as: a key of a user, with its scopes and accounts. */
export type KeyAuth = { userId: string; keyId: string; prefix: string; scopes: ApiKeyScope[]; accountIds: string[] | null };

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler for routes of other plugins: answers 401 unless a valid login token is sent, then sets `request.auth`. */
    authenticateJwt(request: FastifyRequest, reply?: FastifyReply): Promise<void>;
  }
  interface FastifyRequest {
    auth: JwtAuth | null;
    apiKey: KeyAuth | null;
  }
}

export type HttpSettings = {
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  corsOrigins: string[];
  trustProxy: boolean;
  mutationsPerMinute: number;
  loginAttemptsPerAddress: number;
  loginAttemptsPerEmail: number;
  /** Largest statement upload (STATEMENT_MAX_MB). */
  statementMaxBytes: number;
};

/** What another module's plugin (operations, realtime) receives: the same login check, the token signer, the services. */
export type HttpPluginOptions = {
  authenticate: (request: FastifyRequest, reply?: FastifyReply) => Promise<void>;
  tokens: TokenSigner;
  services: Services;
};
export type HttpPlugin = FastifyPluginAsync<HttpPluginOptions>;

export type HttpApiDeps = {
  services: Services;
  /** For the few read-only lookups by id the services do not offer (queries.ts). */
  models: Models;
  log: Logger;
  tokens: TokenSigner;
  settings: HttpSettings;
  /** Plugins of other modules (health, metrics, realtime), registered beside the API's routes. */
  plugins?: HttpPlugin[];
  version?: string;
};

/** What route modules get: the services, and guards that check the caller before a handler runs. */
export type RouteContext = {
  services: Services;
  queries: ApiQueries;
  tokens: TokenSigner;
  settings: HttpSettings;
  /** preHandlers: a valid login token, the role (as chat commands require), and for changes the per-person limit. */
  guard(role: Role): ((request: FastifyRequest, reply: FastifyReply) => Promise<void>)[];
  /** A counted hit on a limit shared by every process; 429 with Retry-After past it. */
  limit(key: string, max: number, windowMs: number, message: string): Promise<void>;
  loginTtlSeconds: number;
};

export const BEARER_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }];
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ apiKeyHeader: [] }, { apiKeyAuthorization: [] }];

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function createHttpApi(deps: HttpApiDeps): ZodApp {
  const { services, log, settings, tokens } = deps;
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // Fastify's own per-request lines are off: the onResponse hook writes one line without headers or bodies.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimitBytes,
    requestTimeout: settings.requestTimeoutMs,
    connectionTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: 10_000,
    trustProxy: settings.trustProxy,
    return503OnClosing: true,
    // A long path parameter reaches the route's own validation (400 in the documented shape), not the router's 414.
    routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: false },
    // The router's own refusals (a malformed URL) in the documented shape too.
    frameworkErrors: (error, request, reply) => sendError(request, reply, 400, error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'Bad request'),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(createErrorHandler(log));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, 404, 'Not found'));
  app.decorateRequest('auth', null);
  app.decorateRequest('apiKey', null);

  // One access line per request: method, route, status, time, who. Never a header or a body.
  app.addHook('onResponse', async (request, reply) => {
    log.info(
      {
        http: {
          reqId: request.id,
          method: request.method,
          route: request.routeOptions.url ?? null,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          ip: request.ip,
          ...(request.auth ? { userId: request.auth.userId, memberId: request.auth.memberId } : {}),
          ...(request.apiKey ? { userId: request.apiKey.userId, keyPrefix: request.apiKey.prefix } : {}),
        },
      },
      'http request',
    );
  });

  if (settings.corsOrigins.length > 0) void app.register(fastifyCors, { origin: settings.corsOrigins, methods: ['GET', 'POST', 'PUT', 'DELETE'], allowedHeaders: ['authorization', 'content-type', 'x-api-key'], maxAge: 600 });

  async function limit(key: string, max: number, windowMs: number, message: string): Promise<void> {
    const verdict = await services.access.limiter.hit(key, max, windowMs);
    if (!verdict.allowed) throw new HttpError(429, message, 'RATE_LIMITED', verdict.retryAfterMs);
  }

  async function authenticateJwt(request: FastifyRequest): Promise<void> {
    const token = bearerToken(request);
    if (!token) throw new HttpError(401, 'Unauthorized');
    const claims = await tokens.verify(token, 'api');
    const version = typeof claims?.tv === 'number' ? claims.tv : -1;
    const principal = claims ? await services.access.logins.resolve(claims.sub, version) : null;
    if (!principal) throw new HttpError(401, 'Invalid or expired token');
    request.auth = {
      userId: principal.member.userId,
      memberId: principal.member.id,
      role: principal.member.role,
      loginId: principal.login.id,
      email: principal.login.email,
      name: principal.member.displayName,
    };
  }
  app.decorate('authenticateJwt', async (request: FastifyRequest) => authenticateJwt(request));

  function guard(role: Role) {
    return [
      async (request: FastifyRequest) => authenticateJwt(request),
      async (request: FastifyRequest) => {
        const auth = request.auth as JwtAuth;
        if (!hasRole(auth.role, role)) throw new HttpError(403, `This needs the ${role} role; you are ${auth.role}.`);
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          await limit(`mutations:${auth.memberId}`, settings.mutationsPerMinute, 60_000, `Too many changes (at most ${settings.mutationsPerMinute} a minute); try again shortly.`);
        }
      },
    ];
  }

  const context: RouteContext = { services, queries: createApiQueries(deps.models), tokens, settings, guard, limit, loginTtlSeconds: LOGIN_TTL_SECONDS };

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Reconbanker API',
        version: deps.version ?? '0.1.0',
        description:
          'The dashboard API (Authorization: Bearer <jwt> from POST /auth/login) and the External API under /v1 (API keys only: Authorization: Api-Key <key> or x-api-key). Errors: {"error": "message"} on the dashboard API, {"error": {"code", "message"}} on /v1.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          apiKeyAuthorization: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Api-Key rbk_…' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => {
      const document = jsonSchemaTransformObject(input) as { paths?: Record<string, Record<string, Record<string, unknown>>> };
      // The statement upload takes bytes, not JSON: its body is described here rather than by a zod schema.
      const upload = document.paths?.['/accounts/{id}/statements']?.post;
      if (upload) {
        upload.requestBody = {
          required: true,
          description: 'The statement file: the raw bytes (name in ?filename=), or a multipart form with one file',
          content: {
            'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
            'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } }, required: ['file'] } },
          },
        };
      }
      return document as ReturnType<typeof jsonSchemaTransformObject>;
    },
  });

  void app.register(async (api) => {
    const zapi = api.withTypeProvider<ZodTypeProvider>();
    authRoutes(zapi, context);
    meRoutes(zapi, context);
    bankRoutes(zapi, context);
    accountRoutes(zapi, context);
    conciliationRoutes(zapi, context);
    externalRoutes(zapi, context);
  });
  // Statement uploads take raw bytes or multipart, in a context of their own (no other route parses those).
  void app.register(async (api) => statementRoutes(api.withTypeProvider<ZodTypeProvider>(), context));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Plugins of other modules: the operations endpoints and the realtime socket register here.
  for (const plugin of deps.plugins ?? []) void app.register(plugin, { authenticate: app.authenticateJwt, tokens, services });

  return app;
}
