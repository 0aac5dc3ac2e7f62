import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { manualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import { buildServices } from '../helpers/services.js';
import { connectRealtime, realtimeApp, ticketFor, type RealtimeClient } from '../helpers/realtime-client.js';

describe('realtime API: tickets and the event socket', function () {
  this.timeout(60_000);
  const test = useTestDatabase('realtime');
  const clock = manualClock(new Date());
  /** The process that produces events (a worker) and the one serving sockets: two service instances on one database. */
  let worker: Services;
  let api: Services;
  let server: { app: FastifyInstance; url: string; wsUrl: string };
  let alice: { userId: string; accountId: string };
  let bob: { userId: string; accountId: string };
  const open: RealtimeClient[] = [];

  before(async () => {
    worker = buildServices(test.db);
    api = buildServices(test.db, { clock });
    const tenant = async (who: string) => {
      const owner = await worker.users.createTenant({ platform: 'console', teamId: 'local', userId: who, displayName: who }, who);
      const account = await worker.accounts.create(owner.userId, { name: `${who}-bank`, bank: 'sandbox' });
      return { userId: owner.userId, accountId: account.id };
    };
    alice = await tenant('alice');
    bob = await tenant('bob');
    server = await realtimeApp(api);
  });

  after(async () => {
    for (const client of open) await client.close();
    await server?.app.close();
  });

  async function connect(userId: string): Promise<RealtimeClient> {
    const client = await connectRealtime(server.wsUrl, ['realtime.v1', await ticketFor(server.url, userId)]);
    open.push(client);
    return client;
  }

  /** An OTP round on the worker's assistance service, as a login runs it: asked, then answered and accepted. */
  async function assistedRound(account: { userId: string; accountId: string }, name: string, code: string): Promise<void> {
    const requester = worker.sessions.assistance.requester({ id: account.accountId, name, bank: 'sandbox', userId: account.userId });
    const waiting = requester.request({ length: 6, type: 'numeric', purpose: 'login' }, false);
    // The request is stored before the login waits on it; the code comes from "the API".
    const pending = await eventually(() => api.sessions.assistance.pending(account.accountId), 10_000, 'the pending code request');
    expect(pending.descriptor.length).to.equal(6);
    await api.sessions.assistance.submit(account.accountId, code, 'api:test');
    expect(await waiting).to.equal(code);
    await requester.accepted();
  }

  it('a ticket needs a signed-in user, and is an opaque string valid 30 seconds', async () => {
    const refused = await fetch(`${server.url}/realtime/ticket`, { method: 'POST' });
    expect(refused.status).to.equal(401);
    const response = await fetch(`${server.url}/realtime/ticket`, { method: 'POST', headers: { 'x-test-user': alice.userId } });
    expect(response.status).to.equal(200);
    const body = (await response.json()) as { ticket: string; ttl_seconds: number };
    expect(body.ttl_seconds).to.equal(30);
    expect(body.ticket).to.match(/^[A-Za-z0-9_-]{43}$/);
    const stored = await test.db.models.RealtimeTicket.find({}).lean();
    expect(JSON.stringify(stored)).not.to.include(body.ticket);
  });

  it('streams assistance.requested (with the descriptor) then assistance.fulfilled to the account owner, never the code, never to another tenant', async () => {
    const aliceSocket = await connect(alice.userId);
    const bobSocket = await connect(bob.userId);
    expect(aliceSocket.socket.protocol).to.equal('realtime.v1');

    await assistedRound(bob, 'bob-bank', '424242');
    await assistedRound(alice, 'alice-bank', '135791');

    const requested = await aliceSocket.waitFor((m) => m.type === 'assistance.requested', 10_000, 'assistance.requested');
    const fulfilled = await aliceSocket.waitFor((m) => m.type === 'assistance.fulfilled', 10_000, 'assistance.fulfilled');
    expect(Object.keys(requested).sort()).to.deep.equal(['accountId', 'data', 'occurredAt', 'type', 'userId']);
    expect(requested).to.deep.include({ userId: alice.userId, accountId: alice.accountId });
    expect(requested.data).to.deep.include({ descriptor: { length: 6, type: 'numeric', purpose: 'login' }, attempts: 0 });
    expect(new Date(requested.occurredAt).toISOString()).to.equal(requested.occurredAt);
    expect(fulfilled.data).to.deep.include({ attempts: 0, answeredOn: 'api' });
    expect(aliceSocket.messages.map((m) => m.type)).to.deep.equal(['assistance.requested', 'assistance.fulfilled']);

    // Bob saw his own round, in order, and nothing of Alice's.
    await bobSocket.waitFor((m) => m.type === 'assistance.fulfilled', 10_000, "bob's assistance.fulfilled");
    expect(bobSocket.messages.map((m) => [m.type, m.accountId])).to.deep.equal([
      ['assistance.requested', bob.accountId],
      ['assistance.fulfilled', bob.accountId],
    ]);
    expect(aliceSocket.messages.every((m) => m.userId === alice.userId && m.accountId === alice.accountId)).to.equal(true);
    for (const frame of [...aliceSocket.raw, ...bobSocket.raw]) {
      expect(frame).not.to.include('135791');
      expect(frame).not.to.include('424242');
    }
    const stored = JSON.stringify(await test.db.models.RealtimeEvent.find({}).lean());
    expect(stored).not.to.include('135791');
  });

  it('a ticket opens one socket only', async () => {
    const ticket = await ticketFor(server.url, alice.userId);
    open.push(await connectRealtime(server.wsUrl, ['realtime.v1', ticket]));
    const again = await connectRealtime(server.wsUrl, ['realtime.v1', ticket]).then(() => 0, (error: { status?: number; body?: string }) => error);
    expect(again).to.deep.include({ status: 401, body: '{"error":"Invalid or expired ticket"}' });
  });

  it('refuses an expired ticket, an unknown one, none, and a socket without realtime.v1', async () => {
    const ticket = await ticketFor(server.url, alice.userId);
    clock.advance(31_000);
    const status = (protocols: string[]) => connectRealtime(server.wsUrl, protocols).then(() => 101, (error: { status?: number }) => error.status);
    expect(await status(['realtime.v1', ticket]), 'expired').to.equal(401);
    expect(await status(['realtime.v1', 'A'.repeat(43)]), 'unknown').to.equal(401);
    expect(await status(['realtime.v1']), 'no ticket').to.equal(401);
    const fresh = await ticketFor(server.url, alice.userId);
    expect(await status(['chat.v2', fresh]), 'not realtime.v1').to.equal(400);
    // Refused for its protocol before the ticket was looked at: still good.
    expect(await status(['realtime.v1', fresh])).to.equal(101);
  });

  it('a plain GET is told to upgrade', async () => {
    const response = await fetch(`${server.url}/realtime`);
    expect(response.status).to.equal(426);
  });
});
