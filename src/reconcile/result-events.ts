import { eventId } from '../domain/events.js';
import type { ConciliationRequestDoc, PendingEvent, RequestMatch } from '../store/models.js';
import type { StoredTransaction } from '../store/transaction-repository.js';

/**
 * Pure builders of the events reconciliation and passthrough record (SPEC §5). The data is
 * the facts as they were when the event happened; the webhooks issue turns them into the
 * documented payloads. Ids come from the cause, so a step redone after a crash rebuilds the
 * same event.
 */

export type CandidateFacts = { id: string; sender_name: string | null; received_at: string };

type RequestFacts = Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'userId' | 'externalId' | 'externalIdType' | 'amountMinor' | 'currency' | 'name'>;

/** The order's values as polled: a numeric external_id stays a number (it was read as a safe integer). */
function orderData(request: RequestFacts, status: string): Record<string, unknown> {
  const externalId = request.externalIdType === 'number' ? Number(request.externalId) : request.externalId;
  return { request_id: request._id, external_id: externalId, status, amount_minor: request.amountMinor, currency: request.currency, name: request.name };
}

export function matchedEvent(request: RequestFacts, attempt: number, match: RequestMatch, at: Date, evidence?: string): PendingEvent {
  return {
    ...(evidence ? { evidence } : {}),
    _id: eventId(`request:${request._id}:matched:${attempt}`),
    accountId: request.accountId,
    userId: request.userId,
    type: 'conciliation.matched',
    subjectId: request._id,
    occurredAt: at,
    data: {
      ...orderData(request, 'matched'),
      match: { transaction_id: match.transactionId, sender_name: match.senderName, received_at: match.receivedAt.toISOString(), by: match.by },
    },
    webhook: true,
    chat: true,
  };
}

export function ambiguousEvent(request: RequestFacts, attempt: number, candidates: CandidateFacts[], total: number, at: Date, evidence?: string): PendingEvent {
  return {
    ...(evidence ? { evidence } : {}),
    _id: eventId(`request:${request._id}:ambiguous:${attempt}`),
    accountId: request.accountId,
    userId: request.userId,
    type: 'conciliation.ambiguous',
    subjectId: request._id,
    occurredAt: at,
    data: { ...orderData(request, 'ambiguous'), candidates, candidate_count: total },
    webhook: true,
    chat: true,
  };
}

/** Expiry has no attempt number: a request expires once per registration, which `registeredAt` names. */
export function expiredEvent(request: RequestFacts & { registeredAt: Date }, notifyOnExpired: boolean, at: Date): PendingEvent {
  return {
    _id: eventId(`request:${request._id}:expired:${request.registeredAt.toISOString()}`),
    accountId: request.accountId,
    userId: request.userId,
    type: 'conciliation.expired',
    subjectId: request._id,
    occurredAt: at,
    data: orderData(request, 'expired'),
    webhook: notifyOnExpired,
    chat: true,
  };
}

export function failedEvent(request: RequestFacts, attempt: number, error: string, at: Date): PendingEvent {
  return {
    _id: eventId(`request:${request._id}:failed:${attempt}`),
    accountId: request.accountId,
    userId: request.userId,
    type: 'conciliation.failed',
    subjectId: request._id,
    occurredAt: at,
    data: { ...orderData(request, 'failed'), error },
    webhook: false,
    chat: true,
  };
}

/** Passthrough: one event per new transaction with a sender name (the caller checks that). */
export function movementEvent(transaction: StoredTransaction, userId: string, at: Date): PendingEvent {
  return {
    _id: eventId(`transaction:${transaction.id}:movement`),
    accountId: transaction.accountId,
    userId,
    type: 'bank.movement',
    subjectId: transaction.id,
    occurredAt: at,
    data: {
      id: transaction.id,
      amount_minor: transaction.amountMinor,
      currency: transaction.currency,
      name: transaction.senderName,
      received_at: transaction.receivedAt.toISOString(),
      description: transaction.description,
    },
    webhook: true,
    chat: false,
  };
}
