import { expect } from 'chai';
import { insertNewRequests, newRequestDocument, type NewRequest } from '../../src/store/new-requests.js';
import { useTestDatabase } from '../helpers/database.js';

/**
 * A poll inserts new requests as plain documents through the driver (new-requests.ts), not as
 * mongoose documents: what it stores must stay what the schema would have made (every path
 * and default), or a field added to the schema later would be missing from polled requests.
 */
describe('new requests inserted through the driver match the schema (real database)', () => {
  const holder = useTestDatabase('newrequests');
  const input = (externalId: string): NewRequest => ({
    accountId: 'acct-1',
    userId: 'user-1',
    externalId,
    externalIdType: 'number',
    amountMinor: 61_100,
    currency: 'UYU',
    name: 'José Pérez',
    registeredAt: new Date('2026-11-26T14:05:00Z'),
    status: 'pending',
    statusChangedAt: new Date('2026-11-26T14:05:00Z'),
    listedLastPoll: true,
  });

  it('has every path of the schema, with its default, and nothing else', () => {
    const { ConciliationRequest } = holder.db.models;
    const now = new Date('2026-11-26T14:06:00Z');
    const ours = newRequestDocument(input('108'), now) as Record<string, unknown>;
    const theirs = new ConciliationRequest(input('108')).toObject({ depopulate: true }) as Record<string, unknown>;
    const keyed = ['listSeq', 'listKey', 'listedAt'];
    const stamped = ['createdAt', 'updatedAt'];
    expect(Object.keys(ours).sort()).to.deep.equal(Object.keys(theirs).filter((k) => !keyed.includes(k)).concat(stamped).sort());
    for (const [key, value] of Object.entries(theirs)) if (key !== '_id' && !keyed.includes(key)) expect(ours[key], key).to.deep.equal(value);
    expect(ours._id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ours.createdAt).to.equal(now);
  });

  it('stores them with list keys, in order, readable and valid through the model', async () => {
    const { ConciliationRequest } = holder.db.models;
    const ids = await insertNewRequests(ConciliationRequest, [input('1'), input('2'), input('3')]);
    expect(ids).to.have.length(3);
    expect([...ids].sort(), 'ids made in order sort in order').to.deep.equal(ids);
    const stored = await ConciliationRequest.find({ _id: { $in: ids } }).sort({ listSeq: 1 });
    expect(stored.map((r) => r._id)).to.deep.equal(ids);
    expect(stored.map((r) => r.listKey)).to.deep.equal(stored.map((r) => `acct-1:${r.listSeq}`));
    for (const r of stored) await r.validate();
    // A second insert of the same order is refused by the unique index (another worker's poll).
    let refused: unknown;
    await insertNewRequests(ConciliationRequest, [input('2'), input('4')]).catch((error: unknown) => (refused = error));
    expect((refused as { code?: number } | undefined)?.code).to.equal(11000);
    expect(await ConciliationRequest.countDocuments({ accountId: 'acct-1' })).to.equal(4);
  });
});
