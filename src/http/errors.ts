import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { InvalidCredentialsError } from '../access/logins.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, UnavailableError, UserError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import { isUnavailable } from '../store/database.js';

/**
 * One place turns every failure into the documented error shapes: `{ "error": "message" }` on
 * the dashboard API, `{ "error": { "code", "message" } }` on the External API (/v1). Domain
 * errors carry their plain sentence; anything else is a fault, logged with its request id and
 * answered without detail.
 */

export const EXTERNAL_ERROR_CODES = [
  'UNAUTHORIZED',
  'INVALID_API_KEY',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_ERROR',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ExternalErrorCode = (typeof EXTERNAL_ERROR_CODES)[number];

/** An answer decided by the HTTP layer itself (auth, a documented message). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: ExternalErrorCode,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const CODE_BY_STATUS: Record<number, ExternalErrorCode> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/** Per-route words for what the docs fix: a body that fails validation, a 404. */
export type RouteMessages = { invalid?: string; notFound?: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    messages?: RouteMessages;
  }
}

export function isExternal(request: FastifyRequest): boolean {
  return request.url === '/v1' || request.url.startsWith('/v1/');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string, code?: ExternalErrorCode, retryAfterMs?: number): FastifyReply {
  if (retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  const body = isExternal(request) ? { error: { code: code ?? CODE_BY_STATUS[status] ?? 'INTERNAL', message } } : { error: message };
  return reply.code(status).send(body);
}

/** A sentence about what failed validation, without echoing the values sent. */
function describeIssues(error: FastifyError): string {
  const issues = (error.validation ?? []).slice(0, 5).map((issue) => {
    const where = String(issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const context = error.validationContext ?? 'body';
    return `${where ? `${context === 'body' ? '' : `${context} `}${where}` : context}: ${issue.message ?? 'is invalid'}`;
  });
  return issues.length > 0 ? `Invalid request: ${issues.join('; ')}` : 'Invalid request';
}

export function createErrorHandler(log: Logger) {
  return function handle(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const messages = request.routeOptions.config?.messages;
    if (error instanceof HttpError) return sendError(request, reply, error.status, error.message, error.code, error.retryAfterMs);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const bodyProblem = error.validationContext === 'body' && messages?.invalid;
      return sendError(request, reply, 400, bodyProblem ? (messages.invalid as string) : describeIssues(error));
    }
    if (isResponseSerializationError(error)) {
      log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, 'a response did not match its schema (a bug)');
      return sendError(request, reply, 500, 'Internal server error', 'INTERNAL');
    }
    if (error instanceof RateLimitedError) return sendError(request, reply, 429, error.message, 'RATE_LIMITED', error.retryAfterMs);
    if (error instanceof InvalidCredentialsError) return sendError(request, reply, 401, error.message);
    if (error instanceof NotFoundError) return sendError(request, reply, 404, messages?.notFound ?? 'Not found');
    if (error instanceof ForbiddenError) return sendError(request, reply, 403, error.message);
    if (error instanceof ConflictError) return sendError(request, reply, 409, error.message);
    if (error instanceof UserError) return sendError(request, reply, 400, error.message);
    if (error instanceof UnavailableError || isUnavailable(error)) return sendError(request, reply, 503, new UnavailableError().message);
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status === 413) return sendError(request, reply, 413, 'Request body too large');
    if (status === 415) return sendError(request, reply, 415, 'Unsupported content type');
    if (status >= 400 && status < 500) {
      // Fastify's own refusals (malformed JSON, an empty JSON body, a bad header): said plainly.
      const message = error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'The JSON body is empty' : error.code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError ? 'The body is not valid JSON' : 'Bad request';
      return sendError(request, reply, status, message);
    }
    log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, 'HTTP request failed');
    return sendError(request, reply, 500, 'Internal server error', 'INTERNAL');
  };
}
