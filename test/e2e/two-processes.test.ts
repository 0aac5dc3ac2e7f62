import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { sharedDatabaseEnv, startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';
import { buildServices, TEST_KEY } from '../helpers/services.js';

describe('two service processes on one database', function () {
  this.timeout(180_000);
  let bank: SandboxBank;
  let db: Database;
  let uri: string;
  const services: ServiceProcess[] = [];

  before(async () => {
    bank = createSandboxBank({ config: { latencyMs: 100 } });
    await bank.start();
    uri = freshDatabaseUri('twoproc');
    db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
  });

  after(async () => {
    for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await db?.connection.dropDatabase();
    await db?.close();
    await bank?.stop();
  });

  it('never run the same account at once (one-shot schedule and a persistent session)', async () => {
    const core = buildServices(db);
    const owner = await core.users.createTenant({ platform: 'console', teamId: 'local', userId: 'x', displayName: 'X' }, 'Two');
    for (const [name, persistent] of [['oneshot', false], ['live', true]] as const) {
      bank.addUser({ username: name, password: 'pw-two' });
      const account = await core.accounts.create(owner.userId, { name, bank: 'sandbox' });
      await core.accounts.configure(owner.userId, account.id, { bank_username: name, bank_password: 'pw-two', ...(persistent ? { session_type: 'persistent' } : {}) });
    }
    const env = {
      ...sharedDatabaseEnv(uri, bank.url, TEST_KEY),
      PERSISTENT_POLL_SECONDS: '1',
    };
    for (let i = 0; i < 2; i++) services.push(startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), `rb-two-${i}-`)) }));
    await Promise.all(services.map((s) => s.waitForLog(/"msg":"Reconbanker is ready"/, 60_000)));

    // Make the one-shot account due again and again; both processes' schedulers race for it.
    for (let round = 1; round <= 3; round++) {
      await db.models.Account.updateOne({ name: 'oneshot' }, { $set: { 'scrape.nextRunAt': new Date(), 'scrape.queuedAt': null } });
      await eventually(() => bank.stats('oneshot').logins >= round, 60_000, `one-shot login ${round}`);
      // The run is over once its account is rescheduled (its last write): only then is "due now" ours to set.
      await eventually(async () => {
        const account = await db.models.Account.findOne({ name: 'oneshot' }).lean();
        return (await db.models.SessionRun.countDocuments({ accountId: account?._id, status: 'ok' })) >= round && account?.scrape?.queuedAt === null && (account.scrape.nextRunAt?.getTime() ?? 0) > Date.now();
      }, 60_000, `run ${round} to end`);
    }
    await eventually(() => bank.stats('live').logins >= 1, 60_000, 'the persistent login');
    await eventually(async () => (await db.models.SessionRun.countDocuments({ kind: 'one-shot', status: 'ok' })) >= 3, 30_000, 'three finished runs');

    expect(bank.stats('oneshot').maxConcurrentSessions).to.equal(1);
    expect(bank.stats('live').maxConcurrentSessions).to.equal(1);
    expect(bank.stats('live').logins, 'one process holds the persistent session').to.equal(1);
    const holders = await db.models.Lease.find({}).lean();
    expect(holders.filter((l) => l.purpose === 'persistent')).to.have.length(1);

    for (const s of services) s.child.kill('SIGTERM');
    const exits = await Promise.all(services.map((s) => s.exited));
    expect(exits.map((e) => e.code)).to.deep.equal([0, 0]);
    expect(bank.stats('live').activeSessions, 'the persistent session logged out at shutdown').to.equal(0);
  });
});
