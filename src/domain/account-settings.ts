import { z } from 'zod';
import { CSV_PRESETS, csvMappingOverrides } from './csv-mapping.js';
import { UserError } from './errors.js';

/**
 * Account settings (SPEC §1), with the API's field names. One table declares every setting:
 * its type, default, whether it is a secret, and a line of help; the validation schema, the
 * masked view and the chat parser are derived from it.
 */

export const NOTIFICATION_EVENTS = ['assistance_required', 'login_failed', 'scrape_failed'] as const;
export const RESERVED_WEBHOOK_KEYS = ['external_id', 'status', 'amount', 'currency', 'name', 'id', 'received_at'] as const;
/** Shown in place of a stored secret; writing it back keeps the stored value. */
export const SECRET_MASK = '********';

const httpUrl = z
  .string()
  .trim()
  .max(2048, 'must be at most 2048 characters')
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

const secretText = z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters');
export type AuthType = 'bearer' | 'api_key';
const authType = z.enum(['bearer', 'api_key'], { error: 'must be bearer or api_key' });
/**
 * Every JSON setting is a few fields merged into a payload or sent as a body, not a document
 * store: bounded so that neither validation nor storage can be made to overflow the stack.
 */
export const JSON_LIMITS = { depth: 10, bytes: 16 * 1024 } as const;
const JSON_LIMITS_SENTENCE = `must be JSON at most ${JSON_LIMITS.depth} levels deep and at most ${JSON_LIMITS.bytes / 1024} KB`;

/**
 * Whether a parsed value stays within the limits. Walked with an explicit stack, and stopped at
 * the first level or node past the limits, so a value 200,000 levels deep costs no recursion.
 */
export function withinJsonLimits(value: unknown, limits: { depth: number; bytes: number } = JSON_LIMITS): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  // Each node takes at least one byte of JSON text: more nodes than bytes cannot fit.
  let nodes = 0;
  while (pending.length > 0) {
    const [node, depth] = pending.pop() as [unknown, number];
    if (++nodes > limits.bytes) return false;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > limits.depth) return false;
    for (const child of Array.isArray(node) ? node : Object.values(node)) pending.push([child, depth + 1]);
  }
  // Bounded in depth now, so stringifying cannot recurse too far.
  const text = JSON.stringify(value) ?? '';
  return Buffer.byteLength(text, 'utf8') <= limits.bytes;
}

/** A JSON setting: the limits first (zod's own JSON check recurses), then its shape. */
function boundedJson(shape: z.ZodType): z.ZodType {
  return z
    .unknown()
    .transform((value, ctx) => {
      if (withinJsonLimits(value)) return value;
      ctx.addIssue({ code: 'custom', message: JSON_LIMITS_SENTENCE });
      return z.NEVER;
    })
    .pipe(shape);
}

const jsonValue = boundedJson(z.json());
const extraFields = boundedJson(z
  .record(z.string(), z.json(), { error: 'must be a JSON object' })
  .superRefine((fields, ctx) => {
    const reserved = Object.keys(fields).filter((key) => (RESERVED_WEBHOOK_KEYS as readonly string[]).includes(key));
    if (reserved.length > 0) {
      ctx.addIssue({ code: 'custom', message: `cannot set reserved key(s) ${reserved.join(', ')} (reserved: ${RESERVED_WEBHOOK_KEYS.join(', ')})` });
    }
  }));

type Kind = 'text' | 'secret' | 'url' | 'choice' | 'boolean' | 'integer' | 'json' | 'list';

type SettingSpec = {
  kind: Kind;
  schema: z.ZodType;
  default: unknown;
  help: string;
};

function setting(kind: Kind, schema: z.ZodType, defaultValue: unknown, help: string): SettingSpec {
  return { kind, schema, default: defaultValue, help };
}

export const SETTINGS = {
  bank_username: setting('text', z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'), null, 'login name at the bank'),
  bank_password: setting('secret', secretText, null, 'password at the bank (private input only; stored encrypted)'),
  session_type: setting('choice', z.enum(['one-shot', 'persistent'], { error: 'must be one-shot or persistent' }), 'one-shot', 'one-shot (log in on a schedule) or persistent (stay logged in)'),
  login_mode: setting('choice', z.enum(['simple', 'assisted'], { error: 'must be simple or assisted' }), 'simple', 'simple (unattended) or assisted (a person types the bank code)'),
  pending_orders_endpoint: setting('url', httpUrl, null, 'URL that lists pending payments (reconcile mode)'),
  polling_method: setting('choice', z.enum(['GET', 'POST'], { error: 'must be GET or POST' }), 'GET', 'GET or POST for the pending-orders endpoint'),
  polling_body: setting('json', jsonValue, null, 'JSON body sent with POST polling'),
  auth_type: setting('choice', authType, 'bearer', 'bearer or api_key, for the pending-orders endpoint'),
  auth_token: setting('secret', secretText, null, 'token for the pending-orders endpoint'),
  webhook_url: setting('url', httpUrl, null, 'where results are POSTed (required to go live)'),
  webhook_auth_type: setting('choice', authType, null, 'bearer or api_key; empty = same as auth_type'),
  webhook_auth_token: setting('secret', secretText, null, 'webhook token; empty = same as auth_token'),
  notification_endpoint_url: setting('url', httpUrl, null, 'where operational notifications are POSTed'),
  notification_auth_type: setting('choice', authType, null, 'bearer or api_key; empty = no Authorization header'),
  notification_auth_token: setting('secret', secretText, null, 'notification endpoint token'),
  notification_events: setting(
    'list',
    z.array(z.enum(NOTIFICATION_EVENTS, { error: `each event must be one of ${NOTIFICATION_EVENTS.join(', ')}` })).transform((events) => [...new Set(events)]),
    [],
    `events sent to the notification endpoint: ${NOTIFICATION_EVENTS.join(', ')}`,
  ),
  notify_on_expired: setting('boolean', z.boolean({ error: 'must be true or false' }), false, 'send a webhook when a request expires'),
  retry_limit: setting('integer', z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').max(20, 'must be at most 20'), 3, 'matching retries before a request fails'),
  webhook_extra_fields: setting('json', extraFields, null, 'JSON object merged into every webhook payload'),
  silent_ingestion: setting('boolean', z.boolean({ error: 'must be true or false' }), false, 'passthrough: store transactions without sending webhooks'),
  scrape_interval_minutes: setting('integer', z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1').max(1440, 'must be at most 1440'), 10, 'minutes between one-shot sessions'),
  lookback_days: setting('integer', z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1').max(31, 'must be at most 31'), 3, 'days read back on each session (overlap)'),
  statement_format: setting('choice', z.enum(['auto', 'camt', 'mt940', 'ofx', 'csv'], { error: 'must be auto, camt, mt940, ofx or csv' }), 'auto', 'statement accounts: the file format read (auto: told by the file)'),
  statement_account: setting('text', z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').transform((v) => v.replace(/\s+/g, '').toUpperCase()), null, 'statement accounts: the IBAN or account id files must name (others are refused)'),
  csv_preset: setting('choice', z.enum(Object.keys(CSV_PRESETS) as [string, ...string[]], { error: `must be one of ${Object.keys(CSV_PRESETS).join(', ')}` }), null, `statement accounts: CSV column mapping preset (${Object.keys(CSV_PRESETS).join(', ')})`),
  csv_mapping: setting('json', csvMappingOverrides, null, 'statement accounts: CSV mapping keys over the preset, as JSON (date, amount or credit/debit, currency or currency_code, payer, reference, id, decimal, thousands, date_format, delimiter, skip_lines, encoding)'),
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
export const SECRET_SETTINGS = SETTING_NAMES.filter((name) => SETTINGS[name].kind === 'secret');
export type SecretSettingName = 'bank_password' | 'auth_token' | 'webhook_auth_token' | 'notification_auth_token';

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

export function isSecretSetting(name: string): name is SecretSettingName {
  return isSettingName(name) && SETTINGS[name].kind === 'secret';
}

/** Plain (non-secret) settings as stored and shown. */
export type AccountSettings = {
  bank_username: string | null;
  session_type: 'one-shot' | 'persistent';
  login_mode: 'simple' | 'assisted';
  pending_orders_endpoint: string | null;
  polling_method: 'GET' | 'POST';
  polling_body: unknown;
  auth_type: 'bearer' | 'api_key';
  webhook_url: string | null;
  webhook_auth_type: 'bearer' | 'api_key' | null;
  notification_endpoint_url: string | null;
  notification_auth_type: 'bearer' | 'api_key' | null;
  notification_events: (typeof NOTIFICATION_EVENTS)[number][];
  notify_on_expired: boolean;
  retry_limit: number;
  webhook_extra_fields: Record<string, unknown> | null;
  silent_ingestion: boolean;
  scrape_interval_minutes: number;
  lookback_days: number;
  statement_format: 'auto' | 'camt' | 'mt940' | 'ofx' | 'csv';
  statement_account: string | null;
  csv_preset: string | null;
  csv_mapping: Record<string, unknown> | null;
};

export type SettingsPatch = Partial<AccountSettings> & Partial<Record<SecretSettingName, string | null>>;

export function defaultSettings(): AccountSettings {
  const entries = SETTING_NAMES.filter((name) => !isSecretSetting(name)).map((name) => [name, structuredClone(SETTINGS[name].default)]);
  return Object.fromEntries(entries) as AccountSettings;
}

/**
 * Validates a patch of settings (typed values, as the API sends them). `null` clears a setting
 * back to its default; the secret mask leaves a stored secret as it is. Throws a UserError
 * naming every bad field.
 */
export function validateSettingsPatch(input: Record<string, unknown>): SettingsPatch {
  const problems: string[] = [];
  const patch: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!isSettingName(name)) {
      problems.push(`${name} is not a setting (settings: ${SETTING_NAMES.join(', ')})`);
      continue;
    }
    const spec: SettingSpec = SETTINGS[name];
    if (spec.kind === 'secret' && value === SECRET_MASK) continue;
    if (value === null || value === '') {
      patch[name] = structuredClone(spec.default);
      continue;
    }
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) patch[name] = parsed.data;
    else problems.push(`${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  }
  if (problems.length > 0) throw new UserError(`Invalid setting: ${problems.join('; ')}.`);
  return patch as SettingsPatch;
}

/**
 * Turns the text a person typed in chat (`retry_limit=5`, `notification_events=login_failed,scrape_failed`)
 * into the typed value the schema expects. `none` or an empty value clears the setting.
 */
export function settingFromText(name: SettingName, text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return null;
  switch (SETTINGS[name].kind) {
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(lower)) return true;
      if (['false', 'no', 'off', '0'].includes(lower)) return false;
      return trimmed;
    }
    case 'integer':
      return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
    case 'json':
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        throw new UserError(`Invalid setting: ${name} must be valid JSON (for example {"tenant":"acme"}).`);
      }
    case 'list':
      return trimmed.split(',').map((item) => item.trim()).filter(Boolean);
    case 'choice':
      return name === 'polling_method' ? trimmed.toUpperCase() : trimmed.toLowerCase();
    default:
      return trimmed;
  }
}

/** A view of the settings safe to show anywhere: each secret is the mask when set, else null. */
export function maskedSettings(settings: AccountSettings, secretsSet: Record<SecretSettingName, boolean>): Record<string, unknown> {
  const view: Record<string, unknown> = { ...settings };
  for (const name of SECRET_SETTINGS) view[name] = secretsSet[name as SecretSettingName] ? SECRET_MASK : null;
  return view;
}
