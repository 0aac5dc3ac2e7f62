import { expect } from 'chai';
import { SESSION_FAILURES } from '../../src/domain/session-outcome.js';
import type { AccountDoc, SessionRunDoc } from '../../src/store/models.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';

/**
 * An account is scheduled only once it has bank credentials (issue 13, item 10). Real
 * database, real Agenda (a scrape tick every second), real Chromium on the sandbox bank.
 */
describe('scheduling accounts by their credentials (real database, Agenda and sandbox bank)', function () {
  this.timeout(120_000);
  const test = useTestDatabase('credsched');
  const f = useSandboxSessions(test, { scrapeTickSeconds: 1 }, { scheduler: { processEveryMs: 100 } });

  const account = (id: string) => test.db.models.Account.findById(id).lean<AccountDoc>();
  const runsOf = (id: string) => test.db.models.SessionRun.find({ accountId: id }).lean<SessionRunDoc[]>();

  /** Resolves once the scrape tick has finished a run that started after `since`. */
  async function tickAfter(since: Date): Promise<Date> {
    return eventually(
      async () => {
        const job = await test.db.connection.db!.collection('jobs').findOne({ name: 'scrape-tick' });
        const started = job?.lastRunAt as Date | undefined;
        const finished = job?.lastFinishedAt as Date | undefined;
        return started && finished && started > since && finished >= started ? finished : undefined;
      },
      20_000,
      'a scrape tick',
    );
  }

  /** Two whole ticks after now, and no scrape of the account queued or running. */
  async function afterTwoTicks(id: string): Promise<void> {
    await tickAfter(await tickAfter(new Date()));
    await eventually(async () => (await account(id))?.scrape?.queuedAt === null, 60_000, 'no scrape queued or running');
  }

  it('an account whose credentials are not typed yet is not scheduled, nor blocked; saving them schedules it', async () => {
    const { id, username, password } = await f.account('SlowTyper', { withoutCredentials: true });
    f.bank.addMovements(username, [{ at: new Date(Date.now() - 30 * 60_000).toISOString(), amount: '12.00', sender: 'Ana' }]);
    await afterTwoTicks(id);
    expect(await runsOf(id), 'no session was started').to.have.length(0);
    expect((await account(id))?.scrapeBlockedAt ?? null, 'not blocked').to.equal(null);

    // The username alone is not enough.
    await f.services.accounts.configure(f.userId, id, { bank_username: username });
    await afterTwoTicks(id);
    expect(await runsOf(id)).to.have.length(0);

    await f.services.accounts.configure(f.userId, id, { bank_password: password });
    const run = await eventually(async () => (await runsOf(id)).find((r) => r.status === 'ok'), 60_000, 'a scheduled session');
    expect(run).to.deep.include({ trigger: 'schedule', found: 1, inserted: 1 });
    expect(await f.services.sessions.transactions.count(id)).to.equal(1);
  });

  it('an account left blocked for missing credentials (before this fix) is unblocked and scheduled when they are saved', async () => {
    const { id, username, password } = await f.account('Cancelled', { withoutCredentials: true });
    await test.db.models.Account.updateOne({ _id: id }, { $set: { scrapeBlockedAt: new Date(), scrapeBlockedReason: SESSION_FAILURES.missing_credentials.sentence } });
    await f.services.accounts.configure(f.userId, id, { bank_username: username, bank_password: password });
    expect((await f.services.accounts.show(f.userId, id)).scrapeBlockedAt).to.equal(null);
    await eventually(async () => (await runsOf(id)).find((r) => r.status === 'ok'), 60_000, 'a scheduled session');
  });

  it('a block for another reason stays until "restart", even when credentials are saved', async () => {
    const { id, username, password } = await f.account('Locked', { withoutCredentials: true });
    await test.db.models.Account.updateOne({ _id: id }, { $set: { scrapeBlockedAt: new Date(), scrapeBlockedReason: SESSION_FAILURES.account_blocked.sentence } });
    await f.services.accounts.configure(f.userId, id, { bank_username: username, bank_password: password });
    await afterTwoTicks(id);
    expect((await account(id))?.scrapeBlockedReason).to.equal(SESSION_FAILURES.account_blocked.sentence);
    expect(await runsOf(id)).to.have.length(0);
  });

  it('"scrape now" without credentials says what is missing instead of starting a session', async () => {
    await f.account('NoCreds', { withoutCredentials: true });
    try {
      await f.services.sessions.control.requestScrape(f.userId, 'NoCreds');
      expect.fail('should refuse');
    } catch (error) {
      expect((error as Error).message).to.equal('"NoCreds" has no bank credentials yet; set them in private: /recon account set "NoCreds" bank_username bank_password');
    }
  });

  it('a persistent account without credentials starts no session and is not blocked', async () => {
    const { id } = await f.account('PersistentNoCreds', { withoutCredentials: true, settings: { session_type: 'persistent' } });
    await f.services.sessions.monitors.tick();
    expect(f.services.sessions.monitors.running).not.to.include(id);
    expect(await runsOf(id)).to.have.length(0);
    expect((await account(id))?.scrapeBlockedAt ?? null).to.equal(null);
  });
});
