import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../src/paths.js';
import { useTestDatabase } from '../helpers/database.js';
import { client, startTestApi, type RunningApi } from '../helpers/http-api.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
import { connectRealtime, type RealtimeClient } from '../helpers/realtime-client.js';
import { standardPlugins } from '../../src/http/plugins.js';
import { pino } from 'pino';

/**
 * The "Automate OTP submission" guide end to end: an assisted login on the sandbox bank in real
 * Chromium waits for a code; an SMS relay (tools/sms-relay.mjs, a separate process with plain
 * fetch and an API key) sees it on GET /v1/accounts/:id/status, reads the code from the bank's
 * phone URL, posts it to /v1/accounts/:id/otp, and the login completes; a dashboard client on the
 * realtime socket (ticket from its login token) sees assistance.requested then assistance.fulfilled.
 */
describe('end to end: an SMS relay completes an assisted login through the External API', function () {
  this.timeout(120_000);
  const test = useTestDatabase('smsrelay');
  const f = useSandboxSessions(test, { otpTimeoutMs: 60_000, otpMaxRejected: 3 });
  let api: RunningApi;

  before(async () => {
    const db = test.db.connection.db;
    if (!db) throw new Error('no database handle');
    api = await startTestApi(test.db, f.services, { plugins: standardPlugins({ models: test.db.models, db, checks: { database: async () => undefined }, log: pino({ level: 'silent' }), realtimePollMs: 100 }) });
  });
  after(async () => api?.close());

  it('relays the code the bank sent and the session reads the bank', async () => {
    const { id, username } = await f.account('Relayed', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    f.bank.addMovements(username, [{ at: new Date(Date.now() - 60_000).toISOString(), amount: '1500.00', sender: 'José Pérez' }]);
    // The owner logs in to the API (a one-time password from chat would do the same) and makes the relay's key.
    const login = await f.services.access.logins.forMember(f.owner, 'owner@relay.example');
    await f.services.access.logins.setPassword(login.id, 'relay owner password');
    const c = client(api.url);
    const token = ((await c.post('/auth/login', { body: { email: 'owner@relay.example', password: 'relay owner password' } })).body as { token: string }).token;
    const created = await c.post('/me/api-keys', { token, body: { name: 'SMS relay', scopes: ['otp:write', 'status:read'], account_ids: [id] } });
    expect(created.status).to.equal(201);
    const key = (created.body as { key: string }).key;
    // A key never opens the socket; the login token gets a ticket.
    expect((await c.post('/realtime/ticket', { apiKey: key, keyHeader: 'authorization' })).status).to.equal(401);
    const ticketAnswer = await c.post('/realtime/ticket', { token });
    expect(ticketAnswer.status).to.equal(200);
    expect(ticketAnswer.body).to.deep.include({ ttl_seconds: 30 });
    const live: RealtimeClient = await connectRealtime(`${api.url.replace(/^http/, 'ws')}/realtime`, ['realtime.v1', (ticketAnswer.body as { ticket: string }).ticket]);

    const relay = spawn(process.execPath, [path.join(projectRoot, 'tools/sms-relay.mjs'), '--api', api.url, '--account', id, '--phone', `${f.bank.url}/sandbox/users/${username}/otp`, '--once', '--timeout', '90'], {
      env: { PATH: process.env.PATH ?? '', RECONBANKER_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    relay.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    relay.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const relayed = new Promise<number | null>((resolve) => relay.once('exit', resolve));

    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(await relayed, output).to.equal(0);
    expect(output).to.match(/submitted a 6-character code/);
    expect(result).to.deep.include({ status: 'ok', inserted: 1 });
    const request = await test.db.models.AssistanceRequest.findOne({ accountId: id }).lean();
    expect(request).to.deep.include({ status: 'fulfilled', submittedBy: `api:key:${key.slice(4, 12)}` });
    const status = (await c.get(`/v1/accounts/${id}/status`, { apiKey: key })).body as { assistance: unknown; session: { state: string; last_run: { status: string } } };
    expect(status.assistance).to.equal(null);
    expect(status.session.last_run.status).to.equal('ok');

    const requested = await live.waitFor((m) => m.type === 'assistance.requested' && m.accountId === id, 10_000, 'assistance.requested on the socket');
    expect(requested.data.descriptor).to.deep.include({ length: 6, type: 'numeric' });
    const fulfilled = await live.waitFor((m) => m.type === 'assistance.fulfilled' && m.accountId === id, 10_000, 'assistance.fulfilled on the socket');
    expect(live.messages.indexOf(requested)).to.be.lessThan(live.messages.indexOf(fulfilled));
    expect(JSON.stringify(live.raw)).not.to.contain(key);
    await live.close();
  });
});
