import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../src/http/loopback.js';

export type RecordedRequest = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

/**
 * A real HTTP server on 127.0.0.1 standing in for a customer's endpoint: `respond` decides
 * each answer; every request is recorded.
 */
export async function startEndpoint(respond: (request: RecordedRequest, res: ServerResponse) => void) {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      respond(recorded, res);
    });
  });
  return { ...(await listenOnLoopback(server)), requests };
}
