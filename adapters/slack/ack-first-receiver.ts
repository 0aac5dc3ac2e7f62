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
 */
export function createAckFirstReceiver(options: { signingSecret: string; path: string; log: Logger }): Receiver & { requestListener(req: IncomingMessage, res: ServerResponse): void } {
  let app: App | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== options.path) return http.buildNoBodyResponse(res, 404);
    let body: Record<string, unknown>;
    try {
      const buffered = await http.parseAndVerifyHTTPRequest({ signingSecret: options.signingSecret, enabled: true }, req);
      body = http.parseHTTPRequestBody(buffered) as Record<string, unknown>;
    } catch {
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
