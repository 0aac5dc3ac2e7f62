import type { z } from 'zod';
import type { ApiKeyView } from '../access/api-keys.js';
import type { AccountSummary, AccountView } from '../accounts/account-service.js';
import type { BankInfo } from '../banks/bank-info.js';
import { minorToDecimalString } from '../domain/money.js';
import type { RequestDetail, RequestSummary } from '../reconcile/requests.js';
import type { AssistanceView } from '../sessions/assistance.js';
import type { ImportSummary } from '../statements/import-service.js';
import type { StoredTransaction } from '../store/transaction-repository.js';
import type * as s from './schemas.js';

/** Pure mappings from what the services return to what the API documents (snake_case, ISO times, decimal strings). */

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export function bankView(bank: BankInfo): z.output<typeof s.bank> {
  return {
    id: bank.id,
    code: bank.code,
    name: bank.name,
    loginUrl: bank.loginUrl,
    status: bank.status,
    source: bank.source,
    country: bank.country,
    currencies: bank.currencies,
    two_factor: bank.twoFactorKinds,
    driver_version: bank.driverVersion,
  };
}

export function accountOut(account: AccountSummary): z.output<typeof s.account> {
  return {
    id: account.id,
    bank: account.bank,
    name: account.name,
    status: account.status,
    scrapeBlockedAt: isoOrNull(account.scrapeBlockedAt),
    scrapeBlockedReason: account.scrapeBlockedReason,
  };
}

export function configOut(view: AccountView): z.output<typeof s.accountConfig> {
  return { id: view.id, account_id: view.id, ...(view.settings as Omit<z.output<typeof s.accountConfig>, 'id' | 'account_id'>) };
}

export function assistanceOut(request: AssistanceView): z.output<typeof s.assistance> {
  return {
    id: request.id,
    type: 'otp',
    descriptor: request.descriptor.purpose ? { length: request.descriptor.length, type: request.descriptor.type, purpose: request.descriptor.purpose } : { length: request.descriptor.length, type: request.descriptor.type },
    attempts: request.attempts,
    status: request.status,
    expires_at: iso(request.expiresAt),
    created_at: iso(request.createdAt),
  };
}

export function movementOut(t: StoredTransaction): z.output<typeof s.movement> {
  return {
    id: t.id,
    account_id: t.accountId,
    amount: minorToDecimalString(t.amountMinor, t.currency),
    currency: t.currency,
    sender_name: t.senderName,
    description: t.description,
    bank_reference: t.bankReference,
    received_at: iso(t.receivedAt),
    created_at: iso(t.firstSeenAt),
    request_id: t.usedBy,
  };
}

export function requestOut(r: RequestSummary): z.output<typeof s.conciliationItem> {
  return {
    id: r.id,
    account_id: r.accountId,
    external_id: r.externalId,
    status: r.status,
    amount: minorToDecimalString(r.amountMinor, r.currency),
    currency: r.currency,
    sender_name: r.name,
    created_at: iso(r.registeredAt),
    updated_at: iso(r.statusChangedAt),
    bank: r.bank,
    account_name: r.accountName,
  };
}

export function requestDetailOut(r: RequestDetail): z.output<typeof s.conciliationDetail> {
  return {
    ...requestOut(r),
    attempt_count: r.attemptCount,
    attempts: r.attempts.map((a) => ({ id: `${r.id}:${a.number}`, request_id: r.id, attempt_number: a.number, result: a.result, reason: a.reason, created_at: iso(a.at), candidate_ids: a.candidates })),
    match: r.match
      ? {
          id: `${r.id}:match`,
          request_id: r.id,
          bank_transaction_id: r.match.transactionId,
          is_primary: true,
          amount: minorToDecimalString(r.match.amountMinor, r.match.currency),
          currency: r.match.currency,
          sender_name: r.match.senderName,
          received_at: iso(r.match.receivedAt),
          by: r.match.by,
        }
      : null,
    candidates: r.candidates.map((c) => ({ id: c.id, amount: minorToDecimalString(c.amountMinor, c.currency), currency: c.currency, sender_name: c.senderName, received_at: iso(c.receivedAt), used_by: c.usedBy })),
  };
}

export function apiKeyOut(key: ApiKeyView): z.output<typeof s.apiKey> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    account_ids: key.accountIds,
    created_at: iso(key.createdAt),
    last_used_at: isoOrNull(key.lastUsedAt),
    revoked_at: isoOrNull(key.revokedAt),
  };
}

export function importOut(summary: ImportSummary): z.output<typeof s.importSummary> {
  return {
    import_id: summary.importId,
    account_id: summary.accountId,
    account_name: summary.accountName,
    file_name: summary.fileName,
    format: summary.format,
    encoding: summary.encoding,
    entries_read: summary.entriesRead,
    credits_stored: summary.creditsStored,
    duplicates_skipped: summary.duplicatesSkipped,
    debits_ignored: summary.debitsIgnored,
    reversals_ignored: summary.reversalsIgnored,
    pending_kept_apart: summary.pendingKeptApart,
    refused: summary.refused,
    refused_count: summary.refusedCount,
    matches: summary.matches.map((m) => ({ external_id: m.externalId, status: m.status })),
    imported_before: isoOrNull(summary.importedBefore),
  };
}
