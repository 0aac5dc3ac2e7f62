import { createServer, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { listenOnLoopback } from '../../src/http/loopback.js';

export type Received = { id: string; timestamp: string; signature: string; authorization: string | undefined; body: string; json: unknown; receivedAt: number };

/**
 * A customer's webhook receiver on 127.0.0.1: records every delivery (headers and body);
 * `respond` decides the answer (a status, or 'hang' to never answer). `verify(secret)` checks
 * a delivery with the `standardwebhooks` package — a peer implementation, not ours.
 */
export async function startReceiver(respond: (delivery: Received, index: number) => number | 'hang' = () => 200, port = 0) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery: Received = {
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        authorization: req.headers.authorization,
        body,
        json: body ? (JSON.parse(body) as unknown) : undefined,
        receivedAt: performance.now(),
      };
      received.push(delivery);
      waiters.forEach((w) => w());
      const answer = respond(delivery, received.length - 1);
      if (answer === 'hang') hanging.push(res);
      else res.writeHead(answer, { 'content-type': 'application/json' }).end(answer >= 200 && answer < 300 ? '{"ok":true}' : '{"error":"nope"}');
    });
  });
  const listening = await listenOnLoopback(server, port);
  return {
    ...listening,
    received,
    verify(delivery: Received, secret: string): unknown {
      return new Webhook(secret).verify(delivery.body, { 'webhook-id': delivery.id, 'webhook-timestamp': delivery.timestamp, 'webhook-signature': delivery.signature });
    },
    async close() {
      for (const res of hanging) res.destroy();
      await listening.close();
    },
  };
}
