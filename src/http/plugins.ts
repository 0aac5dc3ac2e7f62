import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Models } from '../store/models.js';
import { createMetrics } from '../metrics/metrics.js';
import { registerOperations, type ReadinessCheck } from './operations.js';
import { registerRealtime } from './realtime.js';
import type { HttpPlugin, JwtAuth } from './server.js';

/**
 * The plugins every API process serves beside the routes: operations (health, readiness,
 * metrics read from the shared database) and the realtime socket, whose tickets are given to
 * a request that passes the API's own login check (the same JWT as every dashboard route).
 */
export function standardPlugins(deps: { models: Models; db: Db; checks: Record<string, ReadinessCheck>; log: Logger; realtimePollMs?: number }): HttpPlugin[] {
  return [
    async (app, options) =>
      registerOperations(app, { checks: deps.checks, metrics: createMetrics({ models: deps.models, db: deps.db, clock: options.services.clock }), log: deps.log }),
    async (app, options) =>
      registerRealtime(app, {
        authenticate: async (request) => {
          await options.authenticate(request);
          return { userId: (request.auth as JwtAuth).userId };
        },
        feed: options.services.realtime.feed,
        tickets: options.services.realtime.tickets,
        log: deps.log,
        ...(deps.realtimePollMs !== undefined ? { pollMs: deps.realtimePollMs } : {}),
      }),
  ];
}
