import type { FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Operations endpoints (SPEC §6), public and without business data:
 * - `GET /health`: liveness, `{"ok": true}` while the process serves HTTP.
 * - `GET /ready`: readiness, 200 `{"ok": true, "checks": {…}}` when every check passes (the
 *   database answers a ping, the job queue answers), 503 with the failing checks otherwise.
 *   The Docker health check of API processes uses it.
 * - `GET /metrics`: Prometheus text (src/metrics/metrics.ts).
 */

/** A named probe: resolves when fine, rejects with a sentence when not. */
export type ReadinessCheck = () => Promise<void>;

export type OperationsDeps = {
  /** E.g. `{ database: ping, scheduler: queue check }`; each has `timeoutMs` to answer. */
  checks: Record<string, ReadinessCheck>;
  metrics: Metrics;
  log: Logger;
  timeoutMs?: number;
};

async function within(check: ReadinessCheck, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${Math.round(timeoutMs / 100) / 10} s`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sentence for the readiness answer: the first line of the error, without what may be an address or a credential. */
function sentence(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? 'failed').replace(/mongodb(\+srv)?:\/\/\S+/g, 'mongodb://…').slice(0, 200);
}

export async function registerOperations(app: FastifyInstance, deps: OperationsDeps): Promise<void> {
  const log = deps.log.child({ component: 'operations' });
  const timeoutMs = deps.timeoutMs ?? 3_000;

  app.get('/health', async () => ({ ok: true }));

  let wasReady: boolean | undefined;
  app.get('/ready', async (_request, reply) => {
    const names = Object.keys(deps.checks);
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          await within(deps.checks[name] as ReadinessCheck, timeoutMs);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, sentence(error)] as const;
        }
      }),
    );
    const ok = results.every(([, result]) => result === 'ok');
    if (ok !== wasReady) (ok ? log.info.bind(log) : log.warn.bind(log))({ checks: Object.fromEntries(results) }, ok ? 'ready' : 'not ready');
    wasReady = ok;
    return reply
      .code(ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ok, checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_request, reply) => {
    try {
      const text = await deps.metrics.render();
      return reply.header('content-type', deps.metrics.contentType).header('cache-control', 'no-store').send(text);
    } catch (error) {
      log.warn({ err: error }, 'metrics could not be read');
      return reply.code(503).send({ error: 'Metrics are temporarily unavailable' });
    }
  });
}
