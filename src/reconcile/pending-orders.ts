import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { z } from 'zod';
import { guardedLookup, literalUrlProblem, PrivateAddressError } from '../webhooks/url-safety.js';
import { parseDecimalToMinor } from '../domain/money.js';

/**
 * The customer's pending-orders endpoint (SPEC §4 "Polling"): the request we send and the
 * response we accept. A response is a bare JSON array of orders or `{"data": [...]}`; an
 * order missing a field, or with a value we cannot read exactly, is skipped and reported,
 * and the rest are processed. Any failure of the call itself is a failed poll: nothing is
 * cancelled or changed because of it.
 */

/**
 * `externalId` is the order's key, as text: 108 and "108" are the same order (one request per
 * account), so an endpoint that changes how it writes an id never makes a second request.
 * `externalIdType` is how the endpoint wrote it, so webhooks give it back the same way.
 */
export type PendingOrder = { externalId: string; externalIdType: ExternalIdType; amountMinor: number; currency: string; name: string };
export type ExternalIdType = 'string' | 'number';
export type SkippedOrder = { index: number; externalId: string | null; reason: string };
export type PollResult = { ok: true; orders: PendingOrder[]; skipped: SkippedOrder[] } | { ok: false; error: string };

export type PollSettings = {
  url: string;
  method: 'GET' | 'POST';
  body: unknown;
  authType: 'bearer' | 'api_key' | null;
  authToken: string | null;
};

/** `Authorization` for a token: `Bearer <t>` or `Api-Key <t>`; none without a token. */
export function authorizationHeader(type: 'bearer' | 'api_key' | null, token: string | null): string | undefined {
  if (!token) return undefined;
  return type === 'api_key' ? `Api-Key ${token}` : `Bearer ${token}`;
}

const orderSchema = z.object({
  external_id: z.union([z.string().trim().min(1, 'external_id is empty'), z.number()], { error: 'external_id is missing' }),
  amount: z.union([z.number(), z.string().trim().min(1)], { error: 'amount is missing' }),
  currency: z.string({ error: 'currency is missing' }).trim().regex(/^[A-Za-z]{3}$/, 'currency must be a 3-letter ISO code'),
  name: z.string({ error: 'name is missing' }).trim().min(1, 'name is empty'),
});

/** Pure: the parsed JSON of a response → orders to process and items skipped, or why none can be read. */
export function parsePendingOrders(json: unknown): PollResult {
  const list = Array.isArray(json) ? json : json && typeof json === 'object' && Array.isArray((json as { data?: unknown }).data) ? (json as { data: unknown[] }).data : undefined;
  if (!list) return { ok: false, error: 'the response is neither a JSON array of orders nor {"data": [...]}' };
  const orders: PendingOrder[] = [];
  const skipped: SkippedOrder[] = [];
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const rawId = item && typeof item === 'object' ? (item as { external_id?: unknown }).external_id : undefined;
    const externalId = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId).trim() : null;
    const parsed = orderSchema.safeParse(item);
    if (!parsed.success) {
      skipped.push({ index, externalId, reason: parsed.error.issues.map((i) => i.message).join('; ') });
      return;
    }
    const currency = parsed.data.currency.toUpperCase();
    // A JSON number is read through its shortest decimal text: 1500.5 is "1500.5", never 1500.4999….
    const amountMinor = parseDecimalToMinor(String(parsed.data.amount), currency);
    if (amountMinor === undefined || amountMinor <= 0) {
      skipped.push({ index, externalId, reason: `amount ${JSON.stringify(parsed.data.amount)} is not a positive amount in ${currency} (at most its decimals, no rounding)` });
      return;
    }
    const rawExternalId = parsed.data.external_id;
    if (typeof rawExternalId === 'number' && !Number.isInteger(rawExternalId)) {
      skipped.push({ index, externalId, reason: 'external_id must be a whole number or a string' });
      return;
    }
    if (typeof rawExternalId === 'number' && !Number.isSafeInteger(rawExternalId)) {
      // JSON parsing already rounded it: taken as is, it could name another order.
      skipped.push({ index, externalId, reason: `external_id ${String(rawExternalId)} is too large to be read exactly as a number; send it as a string` });
      return;
    }
    const id = String(rawExternalId);
    if (seen.has(id)) {
      skipped.push({ index, externalId: id, reason: 'external_id appears more than once in the response' });
      return;
    }
    seen.add(id);
    orders.push({ externalId: id, externalIdType: typeof rawExternalId === 'number' ? 'number' : 'string', amountMinor, currency, name: parsed.data.name });
  });
  return { ok: true, orders, skipped };
}

/**
 * A poll whose answer lists items of which more than this share cannot be read is a failed
 * poll (every item unreadable, as after a field rename, included): nothing is created,
 * changed or cancelled because of it. Below it, the readable items are processed and the
 * unreadable ones reported.
 */
export const UNREADABLE_SHARE_FAILS_POLL = 0.5;
/** Reasons quoted in a failed poll's sentence. */
const REASONS_QUOTED = 3;

/** Pure: the failed-poll sentence for an answer with too many unreadable items, or undefined. */
export function unreadablePollError(listed: number, skipped: SkippedOrder[]): string | undefined {
  if (listed === 0 || skipped.length <= listed * UNREADABLE_SHARE_FAILS_POLL) return undefined;
  const share = skipped.length === listed ? `none of the ${listed} item(s) listed can be read` : `${skipped.length} of the ${listed} items listed cannot be read`;
  const reasons = skipped.slice(0, REASONS_QUOTED).map((s) => `${s.externalId ?? `item #${s.index + 1}`}: ${s.reason}`);
  const more = skipped.length > REASONS_QUOTED ? `; and ${skipped.length - REASONS_QUOTED} more` : '';
  return `${share} (${reasons.join('; ')}${more})`;
}

/** Calls the endpoint with a timeout and a size cap; every failure is a plain sentence. */
export async function pollPendingOrders(settings: PollSettings, limits: { timeoutMs: number; maxBytes: number; allowPrivate?: boolean }): Promise<PollResult> {
  const problem = literalUrlProblem(settings.url, limits.allowPrivate === true);
  if (problem) return { ok: false, error: `the endpoint URL ${problem}` };
  // Names are checked against what they resolve to when connecting (no private addresses).
  const agent = new Agent({ connect: { lookup: guardedLookup(limits.allowPrivate === true), timeout: limits.timeoutMs } });
  try {
    return await poll(settings, limits, agent);
  } finally {
    await agent.close().catch(() => undefined);
  }
}

async function poll(settings: PollSettings, limits: { timeoutMs: number; maxBytes: number }, agent: Agent): Promise<PollResult> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const authorization = authorizationHeader(settings.authType, settings.authToken);
  if (authorization) headers.Authorization = authorization;
  const init: RequestInit = { method: settings.method, headers, redirect: 'error', signal: AbortSignal.timeout(limits.timeoutMs), dispatcher: agent };
  if (settings.method === 'POST') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(settings.body ?? {});
  }
  let response: Response;
  try {
    response = await fetch(settings.url, init);
  } catch (error) {
    return { ok: false, error: describeFetchError(error, limits.timeoutMs) };
  }
  try {
    if (!response.ok) return { ok: false, error: `the endpoint answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}` };
    const type = response.headers.get('content-type') ?? '';
    if (!/\bjson\b/i.test(type)) return { ok: false, error: `the endpoint answered ${type || 'no content type'}, not JSON` };
    const text = await readCapped(response, limits.maxBytes);
    if (text === undefined) return { ok: false, error: `the response is larger than ${Math.round(limits.maxBytes / 1024)} KiB` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, error: 'the response is not valid JSON' };
    }
    const parsed = parsePendingOrders(json);
    const unreadable = parsed.ok ? unreadablePollError(parsed.orders.length + parsed.skipped.length, parsed.skipped) : undefined;
    return unreadable ? { ok: false, error: unreadable } : parsed;
  } catch (error) {
    return { ok: false, error: describeFetchError(error, limits.timeoutMs) };
  } finally {
    await response.body?.cancel().catch(() => undefined);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `the endpoint did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  if (cause instanceof PrivateAddressError) return cause.message;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'could not connect to the endpoint (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the endpoint host name does not resolve';
  if (cause?.message?.includes('redirect')) return 'the endpoint answered with a redirect, which is not followed';
  return `the call to the endpoint failed (${cause?.message ?? (error instanceof Error ? error.message : String(error))})`;
}
