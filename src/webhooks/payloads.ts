import { RESERVED_WEBHOOK_KEYS, type AccountSettings } from '../domain/account-settings.js';
import { minorToNumber } from '../domain/money.js';
import type { OutboxEventDoc } from '../store/models.js';

/**
 * The documented JSON bodies (SPEC §5, "Webhooks" and "Notification settings"), built purely
 * from an event's recorded facts:
 * - reconcile results: `{external_id, status, amount, currency, name}` (the order's values;
 *   `amount` a JSON number with the currency's decimals);
 * - passthrough: `{id, amount, currency, name, received_at}` (`received_at` the bank's date,
 *   ISO 8601 UTC);
 * - notifications: `{account_id, type, status, error?, occurred_at}`.
 * `webhook_extra_fields` are merged into result payloads; a reserved key never comes from them.
 */

export type Payload = Record<string, unknown>;

function withExtras(payload: Payload, extras: Record<string, unknown> | null): Payload {
  if (!extras) return payload;
  const merged: Payload = {};
  for (const [key, value] of Object.entries(extras)) if (!(RESERVED_WEBHOOK_KEYS as readonly string[]).includes(key)) merged[key] = value;
  return { ...merged, ...payload };
}

export const NOTIFICATION_STATUS = {
  assistance_required: 'assistance.requested',
  login_failed: 'login.failed',
  scrape_failed: 'scrape.failed',
} as const;
export type NotificationType = keyof typeof NOTIFICATION_STATUS;

/**
 * Why an event has no webhook to send under an account's settings now, or undefined when it
 * has one. One rule for the dispatcher (which marks such an event `not_sent`) and for replay
 * (which refuses it): result webhooks carry only the documented statuses, `expired` only with
 * `notify_on_expired`, and notifications only when subscribed and an endpoint is set.
 */
export function webhookWithheld(event: Pick<OutboxEventDoc, 'type'>, settings: Pick<AccountSettings, 'notify_on_expired' | 'notification_endpoint_url' | 'notification_events'>): string | undefined {
  switch (event.type) {
    case 'conciliation.failed':
      return 'conciliation.failed is reported in chat only; result webhooks carry matched, ambiguous and expired';
    case 'conciliation.expired':
      return settings.notify_on_expired ? undefined : 'notify_on_expired is off';
    case 'notification.assistance_required':
    case 'notification.login_failed':
    case 'notification.scrape_failed': {
      const type = event.type.slice('notification.'.length) as NotificationType;
      if (!settings.notification_endpoint_url) return 'no notification endpoint is set';
      return settings.notification_events.includes(type) ? undefined : `${type} is not among notification_events`;
    }
    default:
      return undefined;
  }
}

/** The body for an event that has a webhook (see `webhookWithheld`). */
export function eventPayload(event: Pick<OutboxEventDoc, 'type' | 'data' | 'accountId' | 'occurredAt'>, extras: Record<string, unknown> | null): Payload {
  const d = event.data;
  switch (event.type) {
    case 'conciliation.matched':
    case 'conciliation.ambiguous':
    case 'conciliation.expired':
      return withExtras(
        {
          external_id: d.external_id,
          status: d.status,
          amount: minorToNumber(Number(d.amount_minor), String(d.currency)),
          currency: d.currency,
          name: d.name,
        },
        extras,
      );
    case 'bank.movement':
      return withExtras(
        {
          id: d.id,
          amount: minorToNumber(Number(d.amount_minor), String(d.currency)),
          currency: d.currency,
          name: d.name,
          received_at: d.received_at,
        },
        extras,
      );
    case 'notification.assistance_required':
    case 'notification.login_failed':
    case 'notification.scrape_failed': {
      const type = event.type.slice('notification.'.length) as NotificationType;
      return {
        account_id: event.accountId,
        type,
        status: NOTIFICATION_STATUS[type],
        ...(typeof d.error === 'string' ? { error: d.error } : {}),
        occurred_at: event.occurredAt.toISOString(),
      };
    }
    case 'conciliation.failed':
      // Not a documented webhook status: never sent (webhookWithheld says so first).
      throw new Error(`no webhook body is defined for ${event.type}`);
  }
}

/** The body of `webhook test`: recognisable, and shaped like nothing a receiver would act on. */
export function testPayload(accountId: string, at: Date): Payload {
  return { type: 'webhook.test', account_id: accountId, occurred_at: at.toISOString() };
}
