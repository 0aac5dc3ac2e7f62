import type { AssistanceEvent } from '../sessions/assistance.js';
import type { SessionEvent } from '../sessions/events.js';

/**
 * The realtime stream's events (SPEC §6; the docs' "Realtime" page): what the chat
 * notifications tell people, as data. Built by whitelisting fields: no code, password, token
 * or screenshot path ever gets in.
 */

export const REALTIME_EVENT_TYPES = [
  'assistance.requested',
  'assistance.rejected',
  'assistance.fulfilled',
  'assistance.cancelled',
  'assistance.expired',
  'login.failed',
  'scrape.failed',
  'session.started',
  'scrape.finished',
  'session.blocked',
  'session.needs_attention',
  'session.recovered',
] as const;
export type RealtimeEventType = (typeof REALTIME_EVENT_TYPES)[number];

/** A recorded event as the socket sends it: `{type, userId, accountId, data, occurredAt}`. */
export type RealtimeEvent = {
  type: RealtimeEventType;
  userId: string;
  accountId: string;
  data: Record<string, unknown>;
  /** ISO 8601 UTC. */
  occurredAt: string;
};

export type RealtimeEventInput = Omit<RealtimeEvent, 'occurredAt'> & { occurredAt: Date };

/** A failure at login or while entering the code is `login.failed`; anything later `scrape.failed` (as for the notification endpoint). */
export function failureType(stage: string): 'login.failed' | 'scrape.failed' {
  return stage === 'login' || stage === 'otp' ? 'login.failed' : 'scrape.failed';
}

/** The realtime event of a session event, if it has one (progress lines are chat only). */
export function fromSessionEvent(event: SessionEvent, now: Date): RealtimeEventInput | undefined {
  const base = { userId: event.account.userId, accountId: event.account.id, occurredAt: now };
  switch (event.type) {
    case 'started':
      return { ...base, type: 'session.started', data: { runId: event.runId, kind: event.kind, trigger: event.trigger } };
    case 'finished':
      return { ...base, type: 'scrape.finished', data: { found: event.found, inserted: event.inserted } };
    case 'failed':
      return {
        ...base,
        type: failureType(event.stage),
        data: { runId: event.runId, outcome: event.kind, stage: event.stage, fatal: event.fatal, message: event.sentence, nextAttemptAt: event.nextAttemptAt ? event.nextAttemptAt.toISOString() : null },
      };
    case 'blocked':
      return { ...base, type: 'session.blocked', data: { reason: event.reason } };
    case 'needs_attention':
      return { ...base, type: 'session.needs_attention', data: { reason: event.reason } };
    case 'recovered':
      return { ...base, type: 'session.recovered', data: {} };
    case 'progress':
      return undefined;
  }
}

/** The realtime event of an assistance (OTP) event: the descriptor, never the code. */
export function fromAssistanceEvent(event: AssistanceEvent, now: Date): RealtimeEventInput {
  const r = event.request;
  const base = { userId: event.account.userId, accountId: event.account.id, occurredAt: now };
  const descriptor = { length: r.descriptor.length, type: r.descriptor.type, ...(r.descriptor.purpose ? { purpose: r.descriptor.purpose } : {}) };
  switch (event.type) {
    case 'requested':
      return { ...base, type: 'assistance.requested', data: { requestId: r.id, descriptor, attempts: r.attempts, expiresAt: r.expiresAt.toISOString() } };
    case 'rejected':
      return { ...base, type: 'assistance.rejected', data: { requestId: r.id, descriptor, attempts: r.attempts, expiresAt: r.expiresAt.toISOString() } };
    case 'fulfilled':
      return { ...base, type: 'assistance.fulfilled', data: { requestId: r.id, attempts: r.attempts, answeredOn: r.answeredOn } };
    case 'expired':
      return { ...base, type: 'assistance.expired', data: { requestId: r.id, attempts: r.attempts } };
    case 'cancelled':
      return { ...base, type: 'assistance.cancelled', data: { requestId: r.id, attempts: r.attempts, reason: 'withdrawn' } };
    case 'interrupted':
      // Its login stopped (a restart, a crash): closed; a newer request asks again.
      return { ...base, type: 'assistance.cancelled', data: { requestId: r.id, attempts: r.attempts, reason: 'interrupted' } };
  }
}
