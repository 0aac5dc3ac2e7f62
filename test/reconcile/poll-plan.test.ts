import { expect } from 'chai';
import type { RequestStatus } from '../../src/domain/request-status.js';
import { planPoll, type KnownRequest } from '../../src/reconcile/poll-plan.js';

const order = (externalId: string, amountMinor = 100, name = 'Ana') => ({ externalId, externalIdType: 'string' as const, amountMinor, currency: 'UYU', name });
const known = (externalId: string, status: RequestStatus, over: Partial<KnownRequest> = {}): KnownRequest => ({
  id: `id-${externalId}`,
  externalId,
  status,
  amountMinor: 100,
  currency: 'UYU',
  name: 'Ana',
  listedLastPoll: true,
  ...over,
});
const fresh = { lastCount: null, emptyHeld: false };

describe('poll planner (pure)', () => {
  it('new external ids are created; listed ones already known change nothing', () => {
    const plan = planPoll([known('A', 'not_found')], [order('A'), order('B')], fresh);
    expect(plan.create.map((o) => o.externalId)).to.deep.equal(['B']);
    expect(plan).to.deep.include({ update: [], cancel: [], reopen: [], heldEmpty: false, listed: ['id-A'] });
    expect(plan.memory).to.deep.equal({ lastCount: 2, emptyHeld: false });
  });

  it('an open request absent from the poll is cancelled; settled ones are left alone', () => {
    const plan = planPoll([known('A', 'pending'), known('B', 'ambiguous'), known('C', 'matched'), known('D', 'failed'), known('E', 'processing')], [order('X')], { lastCount: 5, emptyHeld: false });
    expect(plan.cancel).to.deep.equal(['id-A', 'id-B', 'id-E']);
  });

  it('a changed amount, currency or name of an open request is an update; of a matched one, nothing', () => {
    const plan = planPoll(
      [known('A', 'not_found'), known('B', 'pending'), known('C', 'matched'), known('D', 'ambiguous')],
      [order('A', 200), { ...order('B'), currency: 'USD' }, order('C', 999), order('D', 100, 'Ana María')],
      fresh,
    );
    expect(plan.update.map((u) => u.id)).to.deep.equal(['id-A', 'id-B', 'id-D']);
  });

  it('an empty list after orders is held once, then believed', () => {
    const open = [known('A', 'not_found')];
    const first = planPoll(open, [], { lastCount: 3, emptyHeld: false });
    expect(first).to.deep.include({ heldEmpty: true, cancel: [], listed: ['id-A'] });
    expect(first.memory).to.deep.equal({ lastCount: 3, emptyHeld: true });
    const second = planPoll(open, [], first.memory);
    expect(second).to.deep.include({ heldEmpty: false, cancel: ['id-A'] });
    expect(second.memory).to.deep.equal({ lastCount: 0, emptyHeld: false });
  });

  it('an empty list from an endpoint that never listed anything is not suspicious', () => {
    expect(planPoll([], [], fresh)).to.deep.include({ heldEmpty: false });
    expect(planPoll([], [], { lastCount: 0, emptyHeld: false })).to.deep.include({ heldEmpty: false });
  });

  it('a cancelled or expired order that comes back after being absent is reopened; one still listed is not', () => {
    const plan = planPoll(
      [known('A', 'cancelled', { listedLastPoll: false }), known('B', 'expired', { listedLastPoll: false }), known('C', 'expired', { listedLastPoll: true })],
      [order('A'), order('B'), order('C')],
      fresh,
    );
    expect(plan.reopen.map((r) => r.id)).to.deep.equal(['id-A', 'id-B']);
    expect(plan.create).to.deep.equal([]);
  });

  it('an open request listed in an item the poll could not read is not cancelled, and counts as listed', () => {
    const plan = planPoll([known('A', 'not_found'), known('B', 'ambiguous')], [order('A')], { lastCount: 2, emptyHeld: false }, ['B']);
    expect(plan).to.deep.include({ cancel: [], heldEmpty: false });
    expect(plan.listed.sort()).to.deep.equal(['id-A', 'id-B']);
    const onlyUnreadable = planPoll([known('A', 'not_found')], [], { lastCount: 1, emptyHeld: false }, ['A']);
    expect(onlyUnreadable).to.deep.include({ cancel: [], heldEmpty: false, listed: ['id-A'] });
  });
});
