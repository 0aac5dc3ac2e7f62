import type { AuthType } from '../domain/account-settings.js';
import { authorizationHeader } from '../reconcile/pending-orders.js';

/**
 * Who may call the receiver (SPEC §1, "Webhook settings", "Notification settings"):
 * the result webhook uses its own token and type, each falling back to the polling ones;
 * the notification endpoint uses only its own (no token, no header).
 */
export function webhookAuthorization(
  settings: { webhook_auth_type: AuthType | null; auth_type: AuthType },
  tokens: { webhook: string | null; polling: string | null },
): string | undefined {
  const token = tokens.webhook ?? tokens.polling;
  return authorizationHeader(settings.webhook_auth_type ?? settings.auth_type, token);
}

export function notificationAuthorization(settings: { notification_auth_type: AuthType | null }, token: string | null): string | undefined {
  return authorizationHeader(settings.notification_auth_type ?? 'bearer', token);
}
