import { expect } from 'chai';
import { pino } from 'pino';
import { createBankRegistry } from '../../src/banks/registry.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { createBrowserPool, type BrowserPool } from '../../src/sessions/browser-pool.js';
import { createLeaseManager } from '../../src/sessions/lease.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { testServerUri, useTestDatabase } from '../helpers/database.js';
import { manualClock } from '../helpers/clock.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
import { buildServices, CHROMIUM_PATH } from '../helpers/services.js';

describe('one bank login per account at a time (lease in MongoDB)', function () {
  this.timeout(120_000);
  const test = useTestDatabase('lease');
  const f = useSandboxSessions(test);

  it('a lease is exclusive until released or expired', async () => {
    const clock = manualClock();
    const a = createLeaseManager({ models: test.db.models, clock, holderPrefix: 'A' });
    const b = createLeaseManager({ models: test.db.models, clock, holderPrefix: 'B' });
    const held = await a.acquire('account:x', 'one-shot', 1_000);
    expect(held).to.not.equal(undefined);
    expect(await b.acquire('account:x', 'one-shot', 1_000)).to.equal(undefined);
    expect(await held!.renew()).to.equal(true);
    clock.advance(1_001); // the holder died and stopped renewing
    const taken = await b.acquire('account:x', 'one-shot', 1_000);
    expect(taken).to.not.equal(undefined);
    expect(await held!.renew(), 'the old holder lost it').to.equal(false);
    await held!.release(); // releasing a lost lease does not free the new holder's
    expect(await a.acquire('account:x', 'one-shot', 1_000)).to.equal(undefined);
    await taken!.release();
    expect(await a.acquire('account:x', 'one-shot', 1_000)).to.not.equal(undefined);
  });

  describe('two workers (own connections, own browsers) on one database', () => {
    let other: { db: Database; pool: BrowserPool; services: Services };

    before(async () => {
      const uri = new URL(testServerUri());
      uri.pathname = `/${test.db.connection.name}`;
      const log = pino({ level: 'silent' });
      const db = await connectDatabase({ uri: uri.toString(), timeoutMs: 10_000, log });
      const pool = createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 2, log });
      other = { db, pool, services: buildServices(db, { clock: systemClock, log, pool, banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: f.bank.url }]) }) };
    });

    after(async () => {
      await other.pool.close();
      await other.db.close();
    });

    it('never run the same account at once', async () => {
      const { id, username } = await f.account('Shared');
      f.bank.setConfig({ latencyMs: 150 }); // long enough sessions for the two to collide
      try {
        const results = [];
        for (let round = 0; round < 3; round++) {
          results.push(...(await Promise.all([f.services.sessions.runner.runOneShot(id, 'schedule'), other.services.sessions.runner.runOneShot(id, 'schedule')])));
        }
        const statuses = results.map((r) => (r.status === 'skipped' ? r.reason : r.status));
        expect(statuses.filter((s) => s === 'ok')).to.have.length(3);
        expect(statuses.filter((s) => s === 'busy')).to.have.length(3);
        expect(f.bank.stats(username).maxConcurrentSessions).to.equal(1);
        expect(f.bank.stats(username).logins).to.equal(3);
      } finally {
        f.bank.setConfig({ latencyMs: 0 });
      }
    });
  });
});
