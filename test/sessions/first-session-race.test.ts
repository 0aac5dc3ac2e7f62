import { expect } from 'chai';
import { systemClock } from '../../src/domain/clock.js';
import type { ScrapeJobData } from '../../src/sessions/index.js';
import { useTestDatabase } from '../helpers/database.js';
import { buildServices } from '../helpers/services.js';

/**
 * Saving bank credentials schedules the first session FIRST_SESSION_DELAY_SECONDS later. The
 * credentials and that schedule used to be two writes: a scrape tick landing between them found
 * an account with credentials and no next run, i.e. due now, and queued a session at once (seen
 * as "A scrape … is already queued or running" for a scrape asked right after `account add`).
 */
describe('first session after the credentials are saved: never due at once (real database)', () => {
  const test = useTestDatabase('firstsession');

  it('a scrape tick between the writes of a credentials save queues nothing', async () => {
    const queued: ScrapeJobData[] = [];
    const services = buildServices(test.db, { clock: systemClock, enqueue: async (data) => void queued.push(data), sessionSettings: { firstSessionDelayMs: 60_000 } });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'race', displayName: 'Race' }, 'Race');
    const account = await services.accounts.create(owner.userId, { name: 'Racy', bank: 'sandbox' });
    const Account = test.db.models.Account;
    const original = Account.updateOne.bind(Account);
    let ticks = 0;
    // Every write of the save is followed by a scheduler tick, as a tick in another process could be.
    Account.updateOne = (async (...args: Parameters<typeof original>) => {
      const result = await original(...args);
      ticks += 1;
      await services.sessions.control.queueDue();
      return result;
    }) as unknown as typeof Account.updateOne;
    try {
      await services.accounts.configure(owner.userId, account.id, { bank_username: 'ana', bank_password: 'pw-race-1' });
    } finally {
      Account.updateOne = original;
    }
    expect(ticks).to.be.greaterThan(0);
    expect(queued).to.deep.equal([]);
    const doc = await Account.findById(account.id).lean();
    expect(doc?.scrape.nextRunAt?.getTime()).to.be.greaterThan(Date.now() + 50_000);
  });
});
