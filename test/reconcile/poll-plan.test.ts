import { expect } from 'chai';
import type { PendingOrder } from '../../src/reconcile/pending-orders.js';
import { planPoll, type KnownRequest, type PollMemory } from '../../src/reconcile/poll-plan.js';

const order = (externalId: string, over: Partial<PendingOrder> = {}): PendingOrder => ({ externalId, amountMinor: 1000, currency: 'UYU', name: 'Ana', ...over });
const known = (id: string, status: KnownRequest['status'], over: Partial<KnownRequest> = {}): KnownRequest => ({ id, externalId: `E-${id}`, status, amountMinor: 1000, currency: 'UYU', name: 'Ana', listedLastPoll: true, ...over });
const fresh: PollMemory = { lastCount: null, emptyHeld: false };

describe('poll planning (pure)', () => {
  it('registers new orders and leaves known ones alone', () => {
    const plan = planPoll([known('1', 'pending')], [order('E-1'), order('E-2')], fresh);
    expect(plan.create.map((o) => o.externalId)).to.deep.equal(['E-2']);
    expect(plan).to.deep.include({ update: [], cancel: [], reopen: [], listed: ['1'], heldEmpty: false });
  });

  it('updates an open request whose amount, currency or name changed; never a matched one', () => {
    const plan = planPoll([known('1', 'not_found'), known('2', 'matched'), known('3', 'ambiguous')], [order('E-1', { amountMinor: 1200 }), order('E-2', { name: 'Otro' }), order('E-3', { currency: 'USD' })], fresh);
    expect(plan.update.map((u) => u.id)).to.deep.equal(['1', '3']);
  });

  it('cancels open requests missing from a successful poll, not settled ones', () => {
    const plan = planPoll([known('1', 'pending'), known('2', 'processing'), known('3', 'matched'), known('4', 'expired'), known('5', 'not_found')], [order('E-9')], { lastCount: 5, emptyHeld: false });
    expect(plan.cancel).to.deep.equal(['1', '2', '5']);
  });

  it('an empty list after orders is held once, believed the second time', () => {
    const requests = [known('1', 'pending'), known('2', 'ambiguous')];
    const first = planPoll(requests, [], { lastCount: 2, emptyHeld: false });
    expect(first).to.deep.include({ heldEmpty: true, cancel: [], create: [] });
    expect(first.listed).to.deep.equal(['1', '2']);
    const second = planPoll(requests, [], first.memory);
    expect(second.heldEmpty).to.equal(false);
    expect(second.cancel).to.deep.equal(['1', '2']);
    expect(second.memory).to.deep.equal({ lastCount: 0, emptyHeld: false });
  });

  it('an empty list from an endpoint that never returned orders is simply empty', () => {
    expect(planPoll([], [], fresh)).to.deep.include({ heldEmpty: false, cancel: [], create: [] });
  });

  it('reopens a cancelled or expired order that comes back after being absent; not one that stayed listed', () => {
    const plan = planPoll(
      [known('1', 'cancelled', { listedLastPoll: false }), known('2', 'expired', { listedLastPoll: false }), known('3', 'expired', { listedLastPoll: true })],
      [order('E-1'), order('E-2'), order('E-3')],
      { lastCount: 1, emptyHeld: false },
    );
    expect(plan.reopen.map((r) => r.id)).to.deep.equal(['1', '2']);
  });
});
