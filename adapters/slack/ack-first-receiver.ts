import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions as http, type App, type Receiver } from '@slack/bolt';
import type { Logger } from '../../src/log.js';

/**
 * Slack's HTTP requests, acknowledged at the door: the signature and timestamp are checked
 * (401 otherwise), the 200 goes out at once, and only then does Bolt run its middleware and
 * our listeners. Bolt's own HTTPReceiver answers when a listener calls ack(), after that
 * chain; under a burst of commands on one core the chain's work queued in front of the acks
 * (p99 near Slack's limit in bench/chat-ack.ts). Reconbanker never answers in the ack body
 * (answers go by response_url or a message), so nothing is lost by acking first.
 *
 * Before anything is verified, a request is small (BODY_LIMIT_BYTES: a declared length over it
 * is refused unread, a longer body cut off at the limit) and on time: a timestamp more than 5
 * minutes from now, in the past or in the future, is refused (Bolt refuses only the past).
 */
export const BODY_LIMIT_BYTES = 256 * 1024;
const MAX_SKEW_SECONDS = 5 * 60;

export function createAckFirstReceiver(options: { signingSecret: string; path: string; log: Logger; bodyLimitBytes?: number }): Receiver & { requestListener(req: IncomingMessage, res: ServerResponse): void } {
  let app: App | undefined;
  const bodyLimit = options.bodyLimitBytes ?? BODY_LIMIT_BYTES;

  function tooLarge(res: ServerResponse): void {
    // The rest of the body is not read: the connection closes after the answer.
    res.writeHead(413, { connection: 'close' }).end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== options.path) return http.buildNoBodyResponse(res, 404);
    if (Number(req.headers['content-length'] ?? 0) > bodyLimit) return tooLarge(res);
    const stamp = req.headers['x-slack-request-timestamp'];
    if (typeof stamp === 'string' && !(Math.abs(Date.now() / 1000 - Number(stamp)) <= MAX_SKEW_SECONDS)) return http.buildNoBodyResponse(res, 401);
    let body: Record<string, unknown>;
    try {
      const buffered = await http.parseAndVerifyHTTPRequest({ signingSecret: options.signingSecret, enabled: true, bodyLimit }, req);
      body = http.parseHTTPRequestBody(buffered) as Record<string, unknown>;
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') return tooLarge(res);
      return http.buildNoBodyResponse(res, 401);
    }
    if (body.ssl_check) return http.buildSSLCheckResponse(res);
    if (body.type === 'url_verification') return http.buildUrlVerificationResponse(res, body);
    http.buildNoBodyResponse(res, 200);
    if (!app) return;
    const event = { body, ack: async () => undefined, retryNum: http.extractRetryNumFromHTTPRequest(req), retryReason: http.extractRetryReasonFromHTTPRequest(req) };
    const bolt = app;
    // After the I/O already waiting: other requests of a burst are read and acked before this one is processed.
    setImmediate(() => void bolt.processEvent(event).catch((error: unknown) => options.log.error({ err: error }, 'Slack event failed')));
  }

  return {
    init(bolt: App) {
      app = bolt;
    },
    // The adapter owns the HTTP server (its port, its shutdown).
    start: async () => undefined,
    stop: async () => undefined,
    requestListener(req, res) {
      void handle(req, res);
    },
  };
}
