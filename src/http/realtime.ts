import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { RealtimeEvent } from '../realtime/events.js';
import type { RealtimeFeed } from '../realtime/feed.js';
import type { RealtimeTickets } from '../realtime/tickets.js';

/**
 * The realtime API (SPEC §6; the docs' "Realtime" page): `POST /realtime/ticket` (signed in)
 * gives a ticket valid 30 seconds, for one socket; `GET /realtime` upgrades to a WebSocket when
 * the client offers the subprotocols `realtime.v1, <ticket>` (the server answers `realtime.v1`,
 * never the ticket), then streams `{type, userId, accountId, data, occurredAt}` for the user's
 * accounts. Events come from the stored stream (src/realtime/feed.ts), so sockets on an API-only
 * process see what worker processes record. The client sends nothing; what it sends is ignored.
 */

export const REALTIME_PATH = '/realtime';
export const REALTIME_PROTOCOL = 'realtime.v1';

export type RealtimeDeps = {
  /** The signed-in user of a request (the API's JWT check); throws (with statusCode 401) when there is none. */
  authenticate(request: FastifyRequest): Promise<{ userId: string }>;
  feed: RealtimeFeed;
  tickets: RealtimeTickets;
  log: Logger;
  /** How often the stored stream is read (default 250 ms). */
  pollMs?: number;
  /** Pings keep the socket open through proxies; a client that misses one is closed (default 30 s). */
  heartbeatMs?: number;
  /** Sockets open at once per user (default 20); more are refused. */
  maxSocketsPerUser?: number;
  /** A client that reads slower than events arrive is closed past this many unsent bytes (default 1 MiB). */
  maxBufferedBytes?: number;
};

type Client = { socket: WebSocket; userId: string; alive: boolean };

function refuse(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** The offered subprotocols, as the header lists them (`realtime.v1, <ticket>`). */
export function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .slice(0, 4);
}

export async function registerRealtime(app: FastifyInstance, deps: RealtimeDeps): Promise<void> {
  const log = deps.log.child({ component: 'realtime' });
  const heartbeatMs = deps.heartbeatMs ?? 30_000;
  const maxSocketsPerUser = deps.maxSocketsPerUser ?? 20;
  const maxBufferedBytes = deps.maxBufferedBytes ?? 1024 * 1024;
  const tail = deps.feed.tail({ pollMs: deps.pollMs ?? 250 });
  const clients = new Map<string, Set<Client>>();
  // Clients send nothing: a tiny frame limit keeps a hostile one from costing memory.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024, handleProtocols: () => REALTIME_PROTOCOL, clientTracking: false });

  app.post(REALTIME_PATH + '/ticket', async (request) => {
    const { userId } = await deps.authenticate(request);
    return deps.tickets.issue(userId);
  });

  // A plain GET (no upgrade) is told how to connect.
  app.get(REALTIME_PATH, async (_request, reply) => reply.code(426).header('upgrade', 'websocket').send({ error: `Connect with a WebSocket offering the subprotocols ${REALTIME_PROTOCOL}, <ticket>` }));

  function send(client: Client, event: RealtimeEvent): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.socket.bufferedAmount > maxBufferedBytes) {
      log.warn({ userId: client.userId }, 'realtime client too slow; closing its socket');
      client.socket.terminate();
      return;
    }
    client.socket.send(JSON.stringify({ type: event.type, userId: event.userId, accountId: event.accountId, data: event.data, occurredAt: event.occurredAt }));
  }

  // Tenant isolation: an event goes to the sockets of the user who owns its account, only.
  tail.subscribe((event) => {
    for (const client of clients.get(event.userId) ?? []) send(client, event);
  });

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const protocols = offeredProtocols(request);
    if (!protocols.includes(REALTIME_PROTOCOL)) return refuse(socket, 400, 'Bad Request', `Offer the subprotocols ${REALTIME_PROTOCOL}, <ticket>`);
    const tickets = protocols.filter((p) => p !== REALTIME_PROTOCOL);
    const redeemed = tickets.length === 1 ? await deps.tickets.redeem(tickets[0] as string) : null;
    if (!redeemed) return refuse(socket, 401, 'Unauthorized', 'Invalid or expired ticket');
    const open = clients.get(redeemed.userId);
    if ((open?.size ?? 0) >= maxSocketsPerUser) return refuse(socket, 429, 'Too Many Requests', `At most ${maxSocketsPerUser} realtime connections per user`);
    wss.handleUpgrade(request, socket, head, (ws) => {
      const client: Client = { socket: ws, userId: redeemed.userId, alive: true };
      const set = clients.get(client.userId) ?? new Set<Client>();
      set.add(client);
      clients.set(client.userId, set);
      ws.on('pong', () => (client.alive = true));
      ws.on('error', (error) => log.debug({ err: error }, 'realtime socket error'));
      ws.on('close', () => {
        set.delete(client);
        if (set.size === 0 && clients.get(client.userId) === set) clients.delete(client.userId);
      });
      log.debug({ userId: client.userId }, 'realtime socket opened');
    });
  }

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== REALTIME_PATH) {
      // Nobody else takes upgrades here: an unanswered one would hang.
      if (app.server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found', 'Not found');
      return;
    }
    socket.on('error', () => undefined);
    upgrade(request, socket, head).catch((error: unknown) => {
      log.error({ err: error }, 'could not open a realtime socket');
      refuse(socket, 503, 'Service Unavailable', 'Temporarily unavailable');
    });
  };

  const heartbeat = setInterval(() => {
    for (const set of clients.values()) {
      for (const client of set) {
        if (!client.alive) {
          client.socket.terminate();
          continue;
        }
        client.alive = false;
        client.socket.ping();
      }
    }
  }, heartbeatMs);
  heartbeat.unref();

  app.addHook('onReady', async () => {
    await tail.start();
    app.server.on('upgrade', onUpgrade);
  });
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    app.server.off('upgrade', onUpgrade);
    for (const set of clients.values()) {
      for (const client of set) {
        client.socket.close(1001, 'server shutting down');
        // A client that does not answer the close is cut off.
        setTimeout(() => client.socket.terminate(), 1_000).unref();
      }
    }
    clients.clear();
    await tail.stop();
  });
}
