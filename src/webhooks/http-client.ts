import { Agent, request } from 'undici';
import { guardedLookup, literalUrlProblem, PrivateAddressError } from './url-safety.js';

/**
 * One POST to a receiver, with everything a delivery needs and nothing it must not do: a
 * timeout for the whole exchange, no redirects (a 3xx is a failed attempt), private
 * addresses refused at connection time. The answer is its status and latency: the response
 * body is drained (up to a cap, so the connection can be reused) and dropped, never kept or
 * shown — a receiver that echoes the request would hand our token back to whoever reads it.
 * Every failure is a plain sentence; a token in the URL's query never reaches it.
 */

export type PostResult = { status: number | null; latencyMs: number; error: string | null };

export type HttpClient = { post(url: string, headers: Record<string, string>, body: string): Promise<PostResult>; close(): Promise<void> };

export function createHttpClient(options: { timeoutMs: number; maxResponseBytes: number; allowPrivate: boolean }): HttpClient {
  const agent = new Agent({
    connect: { lookup: guardedLookup(options.allowPrivate), timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 10_000,
  });

  return {
    async post(url, headers, body) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const problem = literalUrlProblem(url, options.allowPrivate);
      if (problem) return { status: null, latencyMs: 0, error: `the URL ${problem}` };
      try {
        const response = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: AbortSignal.timeout(options.timeoutMs) });
        let size = 0;
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size >= options.maxResponseBytes) {
            response.body.destroy();
            break;
          }
        }
        const status = response.statusCode;
        const error = status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? `the receiver answered ${status} (a redirect, not followed)` : `the receiver answered ${status}`;
        return { status, latencyMs: elapsed(), error };
      } catch (error) {
        return { status: null, latencyMs: elapsed(), error: describe(error, options.timeoutMs) };
      }
    },
    async close() {
      await agent.close();
    },
  };
}

function describe(error: unknown, timeoutMs: number): string {
  const err = error as NodeJS.ErrnoException & { cause?: unknown };
  if (err instanceof PrivateAddressError || err?.cause instanceof PrivateAddressError) return (err instanceof PrivateAddressError ? err : (err.cause as Error)).message;
  const name = err?.name ?? '';
  const code = err?.code ?? (err?.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (name === 'TimeoutError' || name === 'AbortError' || /TIMEOUT/.test(code)) return `no answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}`;
  if (code === 'ECONNREFUSED') return 'could not connect (connection refused)';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed before an answer';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return `the request failed (${err?.message ?? String(error)})`;
}
