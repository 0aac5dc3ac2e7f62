import { createHash } from 'node:crypto';

/**
 * Events the outbox holds (SPEC §5): results of reconciliation and bank movements in
 * passthrough. `conciliation.failed` goes to chat only (it is not a webhook status).
 */
export const EVENT_TYPES = [
  'conciliation.matched',
  'conciliation.ambiguous',
  'conciliation.expired',
  'conciliation.failed',
  'bank.movement',
  // Operational events for the notification endpoint (SPEC §5), one per subscribable type.
  'notification.assistance_required',
  'notification.login_failed',
  'notification.scrape_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A stable event id derived from what caused the event (a request, its new status and the
 * attempt; a transaction): redoing the same step after a crash yields the same id, so the
 * outbox and the receiver see one event. Also the Standard Webhooks `webhook-id`.
 */
export function eventId(cause: string): string {
  return `evt_${createHash('sha256').update(cause).digest('base64url').slice(0, 26)}`;
}
