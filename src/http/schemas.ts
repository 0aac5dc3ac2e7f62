import { z } from 'zod';
import { API_KEY_SCOPES } from '../access/api-keys.js';
import { NOTIFICATION_EVENTS } from '../domain/account-settings.js';
import { OPERATION_MODES } from '../domain/operation-mode.js';
import { REQUEST_STATUSES } from '../domain/request-status.js';
import { ROLES } from '../domain/roles.js';
import { EXTERNAL_ERROR_CODES } from './errors.js';

/**
 * The zod schemas the routes validate with and answer by; the OpenAPI document is generated
 * from the same ones. Every string and list is bounded; ids are UUIDs.
 */

const when = z.iso.datetime({ offset: true });
const nullableWhen = when.nullable();
export const id = z.uuid();
export const idParams = z.object({ id: z.string().max(64) });

export const errorBody = z.object({ error: z.string() }).meta({ id: 'Error', description: 'Every dashboard API error: a plain sentence.' });
export const externalErrorBody = z
  .object({ error: z.object({ code: z.enum(EXTERNAL_ERROR_CODES), message: z.string() }) })
  .meta({ id: 'ExternalError', description: 'Every External API (/v1) error.' });

export const queued = z.object({ queued: z.literal(true) }).meta({ id: 'Queued', description: 'The work is queued; check back.' });

/** Error answers a route may give besides its success (documented so a contract tester accepts them). */
const JWT_ERRORS = [400, 401, 403, 404, 409, 413, 415, 429, 503] as const;
const PUBLIC_ERRORS = [400, 401, 403, 409, 413, 415, 429, 503] as const;
const EXTERNAL_ERRORS = [400, 401, 403, 404, 409, 413, 415, 429, 503] as const;

function errorResponses(codes: readonly number[], body: z.ZodType) {
  return Object.fromEntries(codes.map((code) => [code, body])) as Record<number, z.ZodType>;
}
export const jwtResponses = <T extends Record<number, z.ZodType>>(ok: T) => ({ ...errorResponses(JWT_ERRORS, errorBody), ...ok });
export const publicResponses = <T extends Record<number, z.ZodType>>(ok: T) => ({ ...errorResponses(PUBLIC_ERRORS, errorBody), ...ok });
export const externalResponses = <T extends Record<number, z.ZodType>>(ok: T) => ({ ...errorResponses(EXTERNAL_ERRORS, externalErrorBody), ...ok });
export const noContent = z.null().describe('No content');

// Auth and the person
export const credentials = z.object({ email: z.string().max(254), password: z.string().max(256) });
export const registerBody = credentials.extend({ name: z.string().max(100).optional() });
export const registered = z.object({ id, email: z.string() }).meta({ id: 'Registered' });
export const me = z
  .object({
    id: id.describe('The user (company) this person acts for: owner of accounts, keys and events'),
    email: z.string(),
    name: z.string(),
    operation_mode: z.enum(OPERATION_MODES).nullable(),
    role: z.enum(ROLES),
    member_id: id,
    company: z.string(),
  })
  .meta({ id: 'Me' });
export const loginAnswer = z.object({ token: z.string(), user: z.object({ id, email: z.string(), name: z.string() }) }).meta({ id: 'Login' });
export const modeBody = z.object({ mode: z.enum(OPERATION_MODES) });
export const modeAnswer = z.object({ operation_mode: z.enum(OPERATION_MODES) });
export const passwordBody = z.object({ password: z.string().max(256) });
export const linkCode = z.object({ code: z.string(), expires_at: when, how: z.string() }).meta({ id: 'LinkCode' });

// Banks
export const bank = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    loginUrl: z.string(),
    status: z.enum(['active', 'inactive']),
    source: z.enum(['portal', 'statement']),
    country: z.string(),
    currencies: z.array(z.string()),
    two_factor: z.array(z.enum(['numeric', 'alphanumeric'])),
    driver_version: z.string(),
  })
  .meta({ id: 'Bank' });
export const bankDetail = bank
  .extend({
    scripts: z.array(z.object({ id: z.string(), flow_type: z.literal('extract_transactions'), version: z.string(), status: z.literal('active'), origin: z.literal('builtin'), created_at: nullableWhen })),
  })
  .meta({ id: 'BankDetail' });

// Accounts
export const account = z
  .object({
    id,
    bank: z.string().describe('The bank code'),
    name: z.string(),
    status: z.enum(['active', 'inactive']),
    scrapeBlockedAt: nullableWhen,
    scrapeBlockedReason: z.string().nullable(),
  })
  .meta({ id: 'Account' });
export const createdAccount = account.extend({ webhook_signing_secret: z.string().describe('Standard Webhooks secret (whsec_…), shown this once') }).meta({ id: 'CreatedAccount' });
export const createAccountBody = z.object({ bankId: z.string().min(1).max(100), name: z.string().min(1).max(200) });
export const deleteAccountBody = z.object({ confirmation_name: z.string().min(1).max(200) });
/** Settings as the API names them (SPEC §1); secrets are "********" when set, null when not. */
export const accountConfig = z
  .object({
    id,
    account_id: id,
    bank_username: z.string().nullable(),
    bank_password: z.string().nullable(),
    session_type: z.enum(['one-shot', 'persistent']),
    login_mode: z.enum(['simple', 'assisted']),
    pending_orders_endpoint: z.string().nullable(),
    polling_method: z.enum(['GET', 'POST']),
    polling_body: z.unknown().describe('Any JSON value, or null'),
    auth_type: z.enum(['bearer', 'api_key']),
    auth_token: z.string().nullable(),
    webhook_url: z.string().nullable(),
    webhook_auth_type: z.enum(['bearer', 'api_key']).nullable(),
    webhook_auth_token: z.string().nullable(),
    notification_endpoint_url: z.string().nullable(),
    notification_auth_type: z.enum(['bearer', 'api_key']).nullable(),
    notification_auth_token: z.string().nullable(),
    notification_events: z.array(z.enum(NOTIFICATION_EVENTS)),
    notify_on_expired: z.boolean(),
    retry_limit: z.number().int(),
    webhook_extra_fields: z.record(z.string(), z.unknown()).nullable(),
    silent_ingestion: z.boolean(),
    scrape_interval_minutes: z.number().int(),
    lookback_days: z.number().int(),
    statement_format: z.enum(['auto', 'camt', 'mt940', 'ofx', 'csv']),
    statement_account: z.string().nullable(),
    csv_preset: z.string().nullable(),
    csv_mapping: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AccountConfig' });
/** A patch: any settings, each validated by the settings table (names, types, bounds) in the service. */
export const configBody = z.record(z.string().max(64), z.unknown()).describe('Settings to change; null or "" clears one back to its default; the mask "********" keeps a stored secret');

export const descriptor = z.object({ length: z.number().int(), type: z.enum(['numeric', 'alphanumeric']), purpose: z.string().optional() });
export const assistance = z
  .object({ id, type: z.literal('otp'), descriptor, attempts: z.number().int(), status: z.enum(['pending', 'fulfilled', 'cancelled', 'expired']), expires_at: when, created_at: when })
  .meta({ id: 'AssistanceRequest' });
export const otpBody = z.object({ code: z.string().min(1).max(32) });
export const submitted = z.object({ submitted: z.literal(true) }).meta({ id: 'Submitted' });

export const movement = z
  .object({
    id,
    account_id: id,
    amount: z.string().describe('Decimal string, e.g. "1500.00"'),
    currency: z.string(),
    sender_name: z.string().nullable(),
    description: z.string(),
    bank_reference: z.string().nullable(),
    received_at: when,
    created_at: when,
    request_id: z.string().nullable().describe('The conciliation request this movement settled'),
  })
  .meta({ id: 'Movement' });
export const pageQuery = (defaultLimit: number) =>
  z.object({ limit: z.coerce.number().int().min(1).max(500).default(defaultLimit), offset: z.coerce.number().int().min(0).max(10_000_000).default(0) });
export const movementParams = z.object({ id: z.string().max(64), mid: z.string().max(64) });

// Conciliation
export const conciliationItem = z
  .object({
    id,
    account_id: id,
    external_id: z.string(),
    status: z.enum(REQUEST_STATUSES),
    amount: z.string().describe('Decimal string, e.g. "1500.00"'),
    currency: z.string(),
    sender_name: z.string(),
    created_at: when,
    updated_at: when,
    bank: z.string(),
    account_name: z.string(),
  })
  .meta({ id: 'ConciliationRequest' });
export const conciliationQuery = pageQuery(50).extend({ status: z.enum(REQUEST_STATUSES).optional() });
export const attempt = z.object({ id: z.string(), request_id: id, attempt_number: z.number().int(), result: z.string(), reason: z.string(), created_at: when, candidate_ids: z.array(z.string()) });
export const match = z.object({
  id: z.string(),
  request_id: id,
  bank_transaction_id: id,
  is_primary: z.literal(true),
  amount: z.string(),
  currency: z.string(),
  sender_name: z.string().nullable(),
  received_at: when,
  by: z.enum(['matcher', 'operator']),
});
export const candidate = z.object({ id, amount: z.string(), currency: z.string(), sender_name: z.string().nullable(), received_at: when, used_by: z.string().nullable() });
export const conciliationDetail = conciliationItem
  .extend({ attempt_count: z.number().int(), attempts: z.array(attempt), match: match.nullable(), candidates: z.array(candidate) })
  .meta({ id: 'ConciliationRequestDetail' });
export const resolveBody = z.object({ bank_transaction_id: z.string().min(6).max(64) });
export const pollParams = z.object({ accountId: z.string().max(64) });

// API keys
const scope = z.enum(API_KEY_SCOPES);
export const apiKey = z
  .object({ id, name: z.string(), prefix: z.string(), scopes: z.array(scope), account_ids: z.array(z.string()).nullable(), created_at: when, last_used_at: nullableWhen, revoked_at: nullableWhen })
  .meta({ id: 'ApiKey' });
export const apiKeyList = z.object({ keys: z.array(apiKey), available_scopes: z.array(scope) });
export const createKeyBody = z.object({ name: z.string().min(1).max(100), scopes: z.array(z.string().max(32)).min(1).max(10), account_ids: z.array(z.string().max(64)).max(100).nullable() });
export const createdKey = apiKey.extend({ key: z.string().describe('rbk_<prefix>_<secret>, shown this once') }).meta({ id: 'CreatedApiKey' });

// Statements
export const statementQuery = z.object({ filename: z.string().max(200).optional() });
export const importSummary = z
  .object({
    import_id: z.string(),
    account_id: id,
    account_name: z.string(),
    file_name: z.string().nullable(),
    format: z.string(),
    encoding: z.string(),
    entries_read: z.number().int(),
    credits_stored: z.number().int(),
    duplicates_skipped: z.number().int(),
    debits_ignored: z.number().int(),
    reversals_ignored: z.number().int(),
    pending_kept_apart: z.number().int(),
    refused: z.array(z.object({ where: z.string(), reason: z.string() })),
    refused_count: z.number().int(),
    matches: z.array(z.object({ external_id: z.string(), status: z.enum(['matched', 'ambiguous']) })),
    imported_before: nullableWhen,
  })
  .meta({ id: 'StatementImport' });

// External API
export const accountStatus = z
  .object({
    account_id: id,
    name: z.string(),
    bank: z.string(),
    status: z.enum(['active', 'inactive']),
    session_type: z.enum(['one-shot', 'persistent']),
    login_mode: z.enum(['simple', 'assisted']),
    session: z.object({
      state: z.enum(['idle', 'running', 'waiting_for_code', 'stopped', 'needs_attention', 'blocked']),
      reason: z.string().nullable(),
      running: z.boolean(),
      last_run: z.object({ started_at: when, ended_at: nullableWhen, status: z.string(), outcome: z.string().nullable(), stage: z.string().nullable() }).nullable(),
      next_run_at: nullableWhen,
      consecutive_failures: z.number().int(),
    }),
    scrapeBlockedAt: nullableWhen,
    scrapeBlockedReason: z.string().nullable(),
    assistance: assistance.nullable().describe('The pending assistance request (a bank code being waited for), or null'),
  })
  .meta({ id: 'AccountStatus' });
export const accountParams = z.object({ accountId: z.string().max(64) });
