import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { SCRAPE_JOB } from '../../src/sessions/index.js';
import type { Services } from '../../src/services.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { listeningPorts } from '../helpers/listening.js';
import { startFakeTelegram } from '../helpers/fake-telegram.js';
import { connectRealtime, realtimeApp, ticketFor } from '../helpers/realtime-client.js';
import { sharedDatabaseEnv, startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';
import { buildServices, TEST_KEY } from '../helpers/services.js';

/**
 * ROLES with real processes on one database: a worker-only process runs the bank sessions and
 * listens on nothing; the realtime API (here, a Fastify app in the test process, as an
 * API-only process would serve it) streams what the worker's sessions record; an API-only
 * process runs no job.
 */
describe('process roles: separate processes on one database', function () {
  this.timeout(180_000);
  let bank: SandboxBank;
  let db: Database;
  let uri: string;
  let core: Services;
  let userId: string;
  let ownerId: string;
  const processes: ServiceProcess[] = [];
  const fakes: { close(): Promise<void> }[] = [];
  let api: { app: FastifyInstance; url: string; wsUrl: string } | undefined;

  const env = () => ({
    ...sharedDatabaseEnv(uri, bank.url, TEST_KEY),
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-roles-')),
  });
  function start(extra: Record<string, string>): ServiceProcess {
    const service = startServiceProcess({ ...env(), ...extra });
    processes.push(service);
    return service;
  }
  async function stop(service: ServiceProcess): Promise<void> {
    service.child.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);
  }

  before(async () => {
    bank = createSandboxBank();
    await bank.start();
    uri = freshDatabaseUri('roles');
    db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
    core = buildServices(db);
    const owner = await core.users.createTenant({ platform: 'console', teamId: 'local', userId: 'x', displayName: 'X' }, 'Roles');
    userId = owner.userId;
    ownerId = owner.id;
  });

  // A test that failed half-way leaves no process behind to take the next test's jobs.
  afterEach(() => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });

  after(async () => {
    await api?.app.close();
    for (const fake of fakes) await fake.close();
    await db?.connection.dropDatabase();
    await db?.close();
    await bank?.stop();
  });

  const jobs = () => db.connection.db!.collection('jobs');

  async function account(name: string, settings: Record<string, unknown> = {}, otp: { length: number; type: 'numeric' } | null = null): Promise<string> {
    bank.addUser({ username: name, password: 'pw-roles', otp });
    const created = await core.accounts.create(userId, { name, bank: 'sandbox' });
    await core.accounts.configure(userId, created.id, { bank_username: name, bank_password: 'pw-roles', ...settings });
    // Not due until the test says so.
    await db.models.Account.updateOne({ _id: created.id }, { $set: { 'scrape.nextRunAt': new Date(Date.now() + 3_600_000) } });
    return created.id;
  }

  it("a worker-only process runs an assisted login and prompts on Telegram without polling it; a realtime socket served elsewhere sees session.started, assistance.requested, assistance.fulfilled and scrape.finished; the worker listens on no port", async () => {
    const TOKEN = '4242:worker-only-token';
    const telegram = await startFakeTelegram(TOKEN);
    fakes.push(telegram);
    await core.users.rememberDm(ownerId, 'telegram:4242');
    const accountId = await account('assisted', { login_mode: 'assisted' }, { length: 6, type: 'numeric' });
    bank.addMovements('assisted', [{ at: new Date(Date.now() - 60_000).toISOString(), amount: '120.00', sender: 'Ana' }]);
    // Another tenant's account: none of its events may reach this user's socket.
    const other = (await core.users.createTenant({ platform: 'console', teamId: 'local', userId: 'y', displayName: 'Y' }, 'Other')).userId;
    bank.addUser({ username: 'other', password: 'pw-other' });
    const otherAccount = await core.accounts.create(other, { name: 'other', bank: 'sandbox' });
    await core.accounts.configure(other, otherAccount.id, { bank_username: 'other', bank_password: 'pw-other' });

    api = await realtimeApp(buildServices(db));
    const socket = await connectRealtime(api.wsUrl, ['realtime.v1', await ticketFor(api.url, userId)]);
    const otherSocket = await connectRealtime(api.wsUrl, ['realtime.v1', await ticketFor(api.url, other)]);

    const worker = start({ ROLES: 'worker', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: telegram.apiRoot });
    await worker.waitForLog(/"roles":"worker".*"msg":"Reconbanker is ready"/, 60_000);
    await db.models.Account.updateMany({ _id: { $in: [accountId, otherAccount.id] } }, { $set: { 'scrape.nextRunAt': new Date(), 'scrape.queuedAt': null } });

    const requested = await socket.waitFor((m) => m.type === 'assistance.requested', 60_000, 'assistance.requested from the worker');
    expect(requested).to.deep.include({ userId, accountId });
    expect(requested.data.descriptor).to.deep.equal({ length: 6, type: 'numeric', purpose: 'login' });
    // The prompt went out through the Bot API; the gateway (getMe, commands, long polling) is the chat role's.
    await eventually(() => telegram.calls.find((c) => c.method === 'sendMessage' && String(c.params.chat_id) === '4242' && /Bank code needed for account "assisted"/.test(String(c.params.text))), 30_000, 'the OTP prompt on Telegram');
    expect(telegram.calls.map((c) => c.method).filter((m) => m === 'getMe' || m === 'setMyCommands')).to.deep.equal([]);
    expect(telegram.confirmations, 'no getUpdates').to.deep.equal([]);
    // The code, as an SMS relay or a person would give it through the API.
    const code = bank.currentOtp('assisted');
    if (!code) throw new Error('the bank has no code');
    await core.sessions.assistance.submit(accountId, code, 'api:relay');
    await socket.waitFor((m) => m.type === 'scrape.finished', 60_000, 'scrape.finished');
    expect(socket.messages.map((m) => m.type)).to.deep.equal(['session.started', 'assistance.requested', 'assistance.fulfilled', 'scrape.finished']);
    expect(socket.messages[3]?.data).to.deep.equal({ found: 1, inserted: 1 });
    expect(socket.raw.join('\n')).not.to.include(code);
    expect(socket.raw.join('\n')).not.to.include('pw-roles');

    await otherSocket.waitFor((m) => m.type === 'scrape.finished', 60_000, "the other tenant's scrape");
    expect(otherSocket.messages.every((m) => m.accountId === otherAccount.id)).to.equal(true);
    expect(socket.messages.some((m) => m.accountId === otherAccount.id)).to.equal(false);

    expect(listeningPorts(process.pid), 'the probe sees a listening socket (the API here)').to.include(Number(new URL(api.url).port));
    expect(listeningPorts(worker.child.pid as number), 'a worker-only process listens on nothing').to.deep.equal([]);
    await socket.close();
    await otherSocket.close();
    await stop(worker);
  });

  it('an api-only process runs no job: it schedules none, and a queued scrape waits until a worker takes it', async () => {
    const accountId = await account('queued');
    await jobs().deleteMany({});
    const apiOnly = start({ ROLES: 'api' });
    await apiOnly.waitForLog(/"roles":"api".*"msg":"Reconbanker is ready"/, 60_000);
    expect(await jobs().countDocuments({}), 'no recurring job was scheduled').to.equal(0);

    // A scrape queued as the API queues one (a scheduler that is not started: it only writes the job).
    const queue = createScheduler({ db: db.connection.db!, log: pino({ level: 'silent' }), jobs: [] });
    await queue.now(SCRAPE_JOB, { accountId, trigger: 'manual' });
    await db.models.Account.updateOne({ _id: accountId }, { $set: { 'scrape.nextRunAt': new Date() } });
    // Absence can only be observed over a window: ten of the process's job polls (200 ms).
    const until = Date.now() + 2_000;
    await eventually(() => Date.now() > until, 5_000, 'the observation window');
    const job = await jobs().findOne({ name: SCRAPE_JOB });
    expect(job?.lockedAt ?? null, 'not taken by the api-only process').to.equal(null);
    expect(job?.lastRunAt ?? null).to.equal(null);
    expect(bank.stats('queued').logins).to.equal(0);

    const worker = start({ ROLES: 'worker' });
    await eventually(() => bank.stats('queued').logins >= 1, 60_000, 'the worker runs the queued scrape');
    await eventually(async () => (await db.models.SessionRun.countDocuments({ accountId, status: 'ok' })) >= 1, 60_000, 'the run to end');
    await stop(worker);
    await stop(apiOnly);
  });
});
