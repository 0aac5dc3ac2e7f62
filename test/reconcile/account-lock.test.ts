import { expect } from 'chai';
import { createAccountLock, type LockLease } from '../../src/reconcile/account-lock.js';
import { systemClock } from '../../src/domain/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

/**
 * The reconcile lease (account-lock.ts) on the real database: whether the holder before ended
 * its step with nothing left half done, which spares the next holder's recovery its read of
 * the account's requests. Only a step that succeeded under a live lease vouches for that.
 */
describe('reconcile lease: a clean end is vouched for, nothing else', function () {
  this.timeout(60_000);
  const test = useTestDatabase('accountlock');
  let account = 0;
  const lockFor = (ttlMs = 10_000) => createAccountLock({ models: test.db.models, clock: systemClock, ttlMs, waitMs: 20_000, retryMs: 20 });
  const seen = (lock: ReturnType<typeof lockFor>, accountId: string) => lock(accountId, async (lease) => ({ clean: lease.previousEndedClean, fence: lease.fence }));

  it('the first holder ever is not told the account is clean; after a step that succeeded the next one is', async () => {
    const id = `acct-${++account}`;
    const lock = lockFor();
    expect(await seen(lock, id)).to.deep.equal({ clean: false, fence: 1 });
    expect(await seen(lock, id)).to.deep.equal({ clean: true, fence: 2 });
    // Another process's lock on the same database reads the same lease.
    expect(await seen(lockFor(), id)).to.deep.equal({ clean: true, fence: 3 });
  });

  it('after a step that threw, the next holder is told to recover (and again clean after it succeeds)', async () => {
    const id = `acct-${++account}`;
    const lock = lockFor();
    await seen(lock, id);
    let thrown: unknown;
    await lock(id, async () => {
      throw new Error('the step failed half way');
    }).catch((error: unknown) => (thrown = error));
    expect(String(thrown)).to.include('half way');
    expect((await seen(lock, id)).clean).to.equal(false);
    expect((await seen(lock, id)).clean).to.equal(true);
  });

  it('a step that handled an error it cannot vouch for (taint) ends without vouching', async () => {
    const id = `acct-${++account}`;
    const lock = lockFor();
    await seen(lock, id);
    expect(await lock(id, async (lease) => (lease.taint(), 'returned normally'))).to.equal('returned normally');
    expect((await seen(lock, id)).clean).to.equal(false);
  });

  it('after a holder whose lease lapsed (a paused process), the next holder is told to recover, and the lapsed one cannot vouch later', async () => {
    const id = `acct-${++account}`;
    const lapsing = lockFor(300);
    await seen(lapsing, id);
    let release!: () => void;
    const resume = new Promise<void>((resolve) => (release = resolve));
    let held: LockLease | undefined;
    const first = lapsing(id, async (lease) => {
      held = lease;
      await resume;
      return 'finished late';
    });
    await eventually(() => held, 10_000, 'the first holder to start');
    // Its renewals stop landing (a paused or partitioned process): the lease lapses.
    await test.db.models.Lease.updateOne({ _id: `reconcile:${id}` }, { $set: { expiresAt: new Date(Date.now() - 1), holder: 'a renewal that never came' } });
    const second = await seen(lockFor(), id);
    expect(second.clean, 'the first holder never ended its step').to.equal(false);
    expect(second.fence).to.be.greaterThan(held!.fence);
    release();
    expect(await first).to.equal('finished late');
    // Its end is fenced: it vouches for nothing (the second one's clean end stands, then the next is clean).
    const lease = await test.db.models.Lease.findById(`reconcile:${id}`).lean<{ cleanThrough?: number }>();
    expect(lease?.cleanThrough).to.equal(second.fence);
    expect((await seen(lockFor(), id)).clean).to.equal(true);
  });
});
