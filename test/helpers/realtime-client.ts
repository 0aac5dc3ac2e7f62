import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { pino } from 'pino';
import WebSocket from 'ws';
import { registerRealtime } from '../../src/http/realtime.js';
import type { Services } from '../../src/services.js';
import { eventually } from './eventually.js';

/** A test authenticator: the user named in `x-test-user`, or a 401 (as the API's JWT check answers). */
export async function testAuthenticate(request: FastifyRequest): Promise<{ userId: string }> {
  const user = request.headers['x-test-user'];
  if (typeof user !== 'string' || user === '') throw Object.assign(new Error('Unauthorized'), { statusCode: 401 });
  return { userId: user };
}

/** A Fastify app with the realtime plugin on these services' stream, listening on 127.0.0.1. */
export async function realtimeApp(services: Services, options: { pollMs?: number } = {}): Promise<{ app: FastifyInstance; url: string; wsUrl: string }> {
  const app = Fastify({ logger: false });
  await registerRealtime(app, { authenticate: testAuthenticate, feed: services.realtime.feed, tickets: services.realtime.tickets, log: pino({ level: 'silent' }), pollMs: options.pollMs ?? 100 });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, wsUrl: `${url.replace(/^http/, 'ws')}/realtime` };
}

export type RealtimeMessage = { type: string; userId: string; accountId: string; data: Record<string, unknown>; occurredAt: string };

export type RealtimeClient = {
  socket: WebSocket;
  messages: RealtimeMessage[];
  /** Raw frames as received (to check that no secret was sent). */
  raw: string[];
  waitFor(predicate: (m: RealtimeMessage) => boolean, timeoutMs: number, what: string): Promise<RealtimeMessage>;
  close(): Promise<void>;
};

export async function ticketFor(url: string, userId: string): Promise<string> {
  const response = await fetch(`${url}/realtime/ticket`, { method: 'POST', headers: { 'x-test-user': userId } });
  if (response.status !== 200) throw new Error(`ticket: HTTP ${response.status}`);
  return ((await response.json()) as { ticket: string }).ticket;
}

/** Opens a socket with these subprotocols; rejects with the HTTP status when the server refuses the upgrade. */
export function connectRealtime(wsUrl: string, protocols: string[]): Promise<RealtimeClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, protocols);
    const messages: RealtimeMessage[] = [];
    const raw: string[] = [];
    socket.on('message', (data) => {
      const text = String(data);
      raw.push(text);
      messages.push(JSON.parse(text) as RealtimeMessage);
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject(Object.assign(new Error(`refused: HTTP ${response.statusCode} ${body}`), { status: response.statusCode, body })));
    });
    socket.once('error', (error) => reject(error));
    socket.once('open', () =>
      resolve({
        socket,
        messages,
        raw,
        waitFor: (predicate, timeoutMs, what) => eventually(() => messages.find(predicate), timeoutMs, what, 50),
        close: () =>
          new Promise<void>((done) => {
            if (socket.readyState === WebSocket.CLOSED) return done();
            socket.once('close', () => done());
            socket.close();
          }),
      }),
    );
  });
}
