import { RESERVED_WEBHOOK_KEYS } from '../domain/account-settings.js';
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

export function eventPayload(event: Pick<OutboxEventDoc, 'type' | 'data' | 'accountId' | 'occurredAt'>, extras: Record<string, unknown> | null): Payload {
  const d = event.data;
  switch (event.type) {
    case 'conciliation.matched':
    case 'conciliation.ambiguous':
    case 'conciliation.expired':
    case 'conciliation.failed':
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
  }
}

/** The body of `webhook test`: recognisable, and shaped like nothing a receiver would act on. */
export function testPayload(accountId: string, at: Date): Payload {
  return { type: 'webhook.test', account_id: accountId, occurred_at: at.toISOString() };
}
