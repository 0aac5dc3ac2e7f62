import { isOpen, type RequestStatus } from '../domain/request-status.js';
import type { ExternalIdType, PendingOrder } from './pending-orders.js';

/**
 * What a successful poll changes (SPEC §4 "Cancellation"), decided purely so the rules are
 * plain to test: new external ids become requests; an open request whose amount, currency or
 * name changed is updated (and evaluated again); an open request absent from the poll is
 * cancelled (one listed in an item the poll could not read is not absent: it stays as it
 * is), except that an empty list from an endpoint that returned orders before is held
 * once (cancel only if the next poll is empty too); a cancelled or expired order that comes
 * back after being absent is registered again. Matched requests are settled and never change.
 */

export type KnownRequest = {
  id: string;
  externalId: string;
  /** How the endpoint wrote the id last time (absent: a string, stored before it was kept). */
  externalIdType?: ExternalIdType;
  status: RequestStatus;
  amountMinor: number;
  currency: string;
  name: string;
  /** Whether the previous successful poll listed this order. */
  listedLastPoll: boolean;
};

export type PollMemory = { lastCount: number | null; emptyHeld: boolean };

export type PollPlan = {
  create: PendingOrder[];
  update: { id: string; order: PendingOrder }[];
  cancel: string[];
  reopen: { id: string; order: PendingOrder }[];
  /** Known orders the endpoint now writes the other way (108 ↔ "108"): same order, its webhooks follow. */
  retype: { id: string; externalIdType: ExternalIdType }[];
  /** Ids listed by this poll (their `listedLastPoll` becomes true, the others' false). */
  listed: string[];
  heldEmpty: boolean;
  memory: PollMemory;
};

export function planPoll(known: KnownRequest[], polled: PendingOrder[], memory: PollMemory, unreadable: readonly string[] = []): PollPlan {
  const byExternalId = new Map(known.map((k) => [k.externalId, k]));
  const plan: PollPlan = { create: [], update: [], cancel: [], reopen: [], retype: [], listed: [], heldEmpty: false, memory: { lastCount: polled.length, emptyHeld: false } };

  const suspicious = polled.length === 0 && unreadable.length === 0 && (memory.lastCount ?? 0) > 0 && !memory.emptyHeld;
  if (suspicious) {
    // Hold everything as it is; remember that we did, so a second empty poll is believed.
    plan.heldEmpty = true;
    plan.memory = { lastCount: memory.lastCount, emptyHeld: true };
    plan.listed = known.filter((k) => k.listedLastPoll).map((k) => k.id);
    return plan;
  }

  const seen = new Set<string>(unreadable);
  for (const existing of known) if (seen.has(existing.externalId)) plan.listed.push(existing.id);
  for (const order of polled) {
    seen.add(order.externalId);
    const existing = byExternalId.get(order.externalId);
    if (!existing) {
      plan.create.push(order);
      continue;
    }
    plan.listed.push(existing.id);
    const changed = existing.amountMinor !== order.amountMinor || existing.currency !== order.currency || existing.name !== order.name;
    if (isOpen(existing.status) && changed) plan.update.push({ id: existing.id, order });
    else if ((existing.status === 'cancelled' || existing.status === 'expired') && !existing.listedLastPoll) plan.reopen.push({ id: existing.id, order });
    else if ((existing.externalIdType ?? 'string') !== order.externalIdType) plan.retype.push({ id: existing.id, externalIdType: order.externalIdType });
  }
  for (const existing of known) {
    if (!seen.has(existing.externalId) && isOpen(existing.status)) plan.cancel.push(existing.id);
  }
  plan.listed = [...new Set(plan.listed)];
  return plan;
}
