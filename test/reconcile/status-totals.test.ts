import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createStatusTotals, FRESH_MS, STALE_MS } from '../../src/reconcile/status-totals.js';
import { manualClock } from '../helpers/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

/** Totals of status-filtered pages (src/reconcile/status-totals.ts) on the real database: counts, reuse, renewal, and no sharing between account sets. */
describe('status totals of the conciliation list', () => {
  const test = useTestDatabase('status_totals');
  const A = randomUUID();
  const B = randomUUID();
  const request = (accountId: string, n: number, status: string) => ({ accountId, userId: `u-${accountId}`, externalId: `x-${n}`, amountMinor: 100, currency: 'UYU', name: 'P', registeredAt: new Date(), status, statusChangedAt: new Date() });

  before(async () => {
    await test.db.models.ConciliationRequest.insertMany([request(A, 1, 'matched'), request(A, 2, 'matched'), request(A, 3, 'pending'), request(B, 1, 'matched')]);
  });

  it('counts per status of the given accounts; reused while fresh, renewed in the background once stale, read again when older', async () => {
    const clock = manualClock();
    const totals = createStatusTotals({ models: test.db.models, clock });
    expect(await totals([A], 'matched')).to.equal(2);
    expect(await totals([A], 'pending')).to.equal(1);
    expect(await totals([A], 'expired')).to.equal(0);
    expect(await totals([B], 'matched'), 'another account set').to.equal(1);
    expect(await totals([B, A], 'matched')).to.equal(3);

    await test.db.models.ConciliationRequest.updateOne({ accountId: A, externalId: 'x-3' }, { $set: { status: 'matched' } });
    expect(await totals([A], 'matched'), 'fresh: reused').to.equal(2);
    clock.advance(FRESH_MS);
    expect(await totals([A], 'matched'), 'stale: answered at once, renewed meanwhile').to.equal(2);
    await eventually(async () => (await totals([A], 'matched')) === 3, 10_000, 'the renewed count');
    expect(await totals([A], 'pending')).to.equal(0);

    await test.db.models.ConciliationRequest.insertMany([request(A, 4, 'matched')]);
    clock.advance(STALE_MS);
    expect(await totals([A], 'matched'), 'too old: read again before answering').to.equal(4);
  });
});
