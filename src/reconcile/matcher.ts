import { CLEAR_MARGIN, MIN_SCORE, nameKey, nameTokens, scoreTokens } from './names.js';

/**
 * The matching engine (SPEC §4), pure: open requests against the account's unused bank
 * transactions. A candidate has exactly the same amount (integer minor units) and currency
 * (case-insensitive), and was received no more than 5 days before the request was
 * registered (any time after is fine). Among candidates the sender's name decides
 * (src/reconcile/names.ts): one clear best → matched; several without a clear margin, or
 * one transaction that is the clear best of two requests → ambiguous (never pick); nothing
 * at or above the minimum score → not_found. Same input, same output.
 *
 * Cost grows with the sizes, not their product: transactions are bucketed by (currency,
 * amount) and grouped by normalised sender name; each distinct payer name is scored once
 * against the distinct sender names that share a word or an initial with it.
 */

export const WINDOW_MS = 5 * 24 * 60 * 60 * 1000;

export type MatchRequest = { id: string; amountMinor: number; currency: string; name: string | null; registeredAtMs: number };
export type MatchTransaction = { id: string; amountMinor: number; currency: string; senderName: string | null; receivedAtMs: number };

export type MatchDecision =
  | { requestId: string; result: 'matched'; transactionId: string; score: number; reason: string }
  | { requestId: string; result: 'ambiguous'; candidates: string[]; reason: string }
  | { requestId: string; result: 'not_found'; reason: string };

const keyCache = new Map<string, string>();
function keyOf(name: string | null): string {
  if (!name) return '';
  let key = keyCache.get(name);
  if (key === undefined) {
    key = nameKey(nameTokens(name));
    if (keyCache.size > 200_000) keyCache.clear();
    keyCache.set(name, key);
  }
  return key;
}

/**
 * Candidates recorded for an ambiguous request (the count is in the reason). Past this many,
 * which ones are recorded follows the input's order.
 */
export const MAX_RECORDED_CANDIDATES = 10;

/**
 * Transactions indexed for lookup by (currency, amount, sender name), all as integers: names
 * and currencies are interned, a group is found with one numeric Map lookup, and its
 * transactions are a linked list in typed arrays (no per-group allocation).
 */
function indexTransactions(transactions: MatchTransaction[]) {
  const currencyIds = new Map<string, number>();
  const nameIds = new Map<string, number>(); // name key → id
  const nameKeys: string[] = [];
  const rawNameIds = new Map<string, number>(); // sender name as written → id (−1: no usable name)
  const n = transactions.length;
  const txCurrency = new Int32Array(n);
  const txName = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = transactions[i] as MatchTransaction;
    let currency = currencyIds.get(t.currency);
    if (currency === undefined) {
      const upper = t.currency.toUpperCase();
      currency = currencyIds.get(upper) ?? currencyIds.size;
      currencyIds.set(upper, currency);
      currencyIds.set(t.currency, currency);
    }
    txCurrency[i] = currency;
    const raw = t.senderName ?? '';
    let id = rawNameIds.get(raw);
    if (id === undefined) {
      const key = keyOf(raw);
      if (key === '') id = -1;
      else {
        id = nameIds.get(key);
        if (id === undefined) {
          id = nameKeys.length;
          nameIds.set(key, id);
          nameKeys.push(key);
        }
      }
      rawNameIds.set(raw, id);
    }
    txName[i] = id;
  }
  const currencies = Math.max(1, new Set(currencyIds.values()).size);
  const names = Math.max(1, nameKeys.length);
  const amountKey = (amountMinor: number, currency: number) => amountMinor * currencies + currency;
  const groupKey = (amountMinor: number, currency: number, name: number) => amountKey(amountMinor, currency) * names + name;
  // Keys must stay exact integers; beyond that, fall back to text keys (never seen with real amounts).
  let maxAmount = 0;
  for (const t of transactions) maxAmount = Math.max(maxAmount, Math.abs(t.amountMinor));
  const exact = (maxAmount + 1) * currencies * names < Number.MAX_SAFE_INTEGER;

  const latestByAmount = new Map<number | string, number>();
  const groupOfKey = new Map<number | string, number>(); // (amount, currency, name) → dense group id
  const txGroup = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = transactions[i] as MatchTransaction;
    const currency = txCurrency[i] as number;
    const ak = exact ? amountKey(t.amountMinor, currency) : `${t.amountMinor}|${currency}`;
    const latest = latestByAmount.get(ak);
    if (latest === undefined || t.receivedAtMs > latest) latestByAmount.set(ak, t.receivedAtMs);
    const name = txName[i] as number;
    if (name < 0) continue; // no sender name: never a match (nothing to confirm the payer)
    const gk = exact ? groupKey(t.amountMinor, currency, name) : `${ak}|${name}`;
    let group = groupOfKey.get(gk);
    if (group === undefined) {
      group = sizes.length;
      groupOfKey.set(gk, group);
      sizes.push(0);
    }
    txGroup[i] = group;
    sizes[group] = (sizes[group] as number) + 1;
  }
  // Each group is a contiguous run of `order` (a counting sort), newest first, with the
  // times beside it: a request walks only the transactions inside its window.
  const groups = sizes.length;
  const start = new Int32Array(groups + 1);
  for (let g = 0; g < groups; g++) start[g + 1] = (start[g] as number) + (sizes[g] as number);
  const fill = start.slice(0, groups);
  const order = new Int32Array(start[groups] as number);
  for (let i = 0; i < n; i++) {
    const g = txGroup[i] as number;
    if (g < 0) continue;
    order[fill[g] as number] = i;
    fill[g] = (fill[g] as number) + 1;
  }
  const time = new Float64Array(order.length);
  for (let g = 0; g < groups; g++) {
    const from = start[g] as number;
    const to = start[g + 1] as number;
    if (to - from > 1) {
      order.subarray(from, to).sort((a, b) => {
        const ta = transactions[a] as MatchTransaction;
        const tb = transactions[b] as MatchTransaction;
        return tb.receivedAtMs - ta.receivedAtMs || (ta.id < tb.id ? -1 : ta.id > tb.id ? 1 : 0);
      });
    }
    for (let k = from; k < to; k++) time[k] = (transactions[order[k] as number] as MatchTransaction).receivedAtMs;
  }
  return {
    nameKeys,
    currencyOf: (code: string) => currencyIds.get(code) ?? currencyIds.get(code.toUpperCase()),
    latest: (amountMinor: number, currency: number) => latestByAmount.get(exact ? amountKey(amountMinor, currency) : `${amountMinor}|${currency}`),
    group: (amountMinor: number, currency: number, name: number) => groupOfKey.get(exact ? groupKey(amountMinor, currency, name) : `${amountMinor}|${currency}|${name}`),
    start,
    order,
    time,
  };
}

/** Sender names (by id) that could score ≥ MIN − margin against a payer name, best first (memoised). */
function relatedNamesFinder(nameKeys: string[]) {
  const tokensOf = nameKeys.map((key) => key.split(' '));
  const index = new Map<string, number[]>();
  const add = (key: string, name: number) => {
    const list = index.get(key);
    if (list) list.push(name);
    else index.set(key, [name]);
  };
  tokensOf.forEach((tokens, name) => {
    for (const token of tokens) {
      add(`t:${token}`, name);
      if (token.length > 1) add(`f:${token[0]}`, name);
      else add(`i:${token}`, name);
    }
  });
  const floor = MIN_SCORE - CLEAR_MARGIN;
  const memo = new Map<string, { names: Int32Array; scores: Float64Array }>();
  return (requestKey: string) => {
    let related = memo.get(requestKey);
    if (related) return related;
    const tokens = requestKey === '' ? [] : requestKey.split(' ');
    const seen = new Set<number>();
    const found: { name: number; score: number }[] = [];
    for (const token of tokens) {
      const keys = token.length > 1 ? [`t:${token}`, `i:${token[0]}`] : [`t:${token}`, `f:${token}`];
      for (const key of keys) {
        for (const name of index.get(key) ?? []) {
          if (seen.has(name)) continue;
          seen.add(name);
          const score = scoreTokens(tokens, tokensOf[name] as string[]);
          if (score >= floor) found.push({ name, score });
        }
      }
    }
    found.sort((a, b) => b.score - a.score || ((nameKeys[a.name] as string) < (nameKeys[b.name] as string) ? -1 : 1));
    related = { names: Int32Array.from(found, (f) => f.name), scores: Float64Array.from(found, (f) => f.score) };
    memo.set(requestKey, related);
    return related;
  };
}

const NO_AMOUNT = 'no unused bank transaction with this exact amount and currency';
const TOO_OLD = 'transactions with this amount arrived more than 5 days before the request';
const NO_NAME = 'no transaction with this amount has a sender name like the payer';

const scoreReasons = new Map<number, string>();
function scoreReason(score: number): string {
  let reason = scoreReasons.get(score);
  if (reason === undefined) scoreReasons.set(score, (reason = `name score ${score.toFixed(2)}`));
  return reason;
}

export function matchRequests(requests: MatchRequest[], transactions: MatchTransaction[]): MatchDecision[] {
  const index = indexTransactions(transactions);
  const related = relatedNamesFinder(index.nameKeys);
  const { start, order, time } = index;
  const decisions: MatchDecision[] = new Array(requests.length);
  const picks = new Map<number, number[]>(); // transaction index → indexes of requests that chose it

  for (let r = 0; r < requests.length; r++) {
    const request = requests[r] as MatchRequest;
    const currency = index.currencyOf(request.currency);
    const latest = currency === undefined ? undefined : index.latest(request.amountMinor, currency);
    const from = request.registeredAtMs - WINDOW_MS;
    if (currency === undefined || latest === undefined) {
      decisions[r] = { requestId: request.id, result: 'not_found', reason: NO_AMOUNT };
      continue;
    }
    if (latest < from) {
      decisions[r] = { requestId: request.id, result: 'not_found', reason: TOO_OLD };
      continue;
    }
    // Walk sender names best first; stop once a name scores at or below the best minus the margin.
    const { names, scores } = related(keyOf(request.name));
    let bestScore = -1;
    let bestFirst = -1; // the in-window transaction of the best name, when it has exactly one
    let plausible: number[] | undefined; // in-window transactions within the margin of the best (the first few)
    let plausibleCount = 0;
    for (let k = 0; k < names.length; k++) {
      const score = scores[k] as number;
      if (bestScore >= 0 && score <= bestScore - CLEAR_MARGIN) break;
      const group = index.group(request.amountMinor, currency, names[k] as number);
      if (group === undefined) continue;
      const end = start[group + 1] as number;
      for (let at = start[group] as number; at < end && (time[at] as number) >= from; at++) {
        const i = order[at] as number;
        if (bestScore < 0) {
          bestScore = score;
          bestFirst = i;
          plausibleCount = 1;
        } else {
          plausible ??= [bestFirst];
          plausibleCount += 1;
          if (plausible.length < MAX_RECORDED_CANDIDATES) plausible.push(i);
        }
      }
    }
    if (bestScore < MIN_SCORE) {
      decisions[r] = {
        requestId: request.id,
        result: 'not_found',
        reason: bestScore >= 0 ? `sender names do not match the payer well enough (best ${bestScore.toFixed(2)} < ${MIN_SCORE})` : NO_NAME,
      };
      continue;
    }
    if (plausible) {
      // Best names first, newest first within a name.
      const candidates = plausible.map((i) => (transactions[i] as MatchTransaction).id);
      decisions[r] = { requestId: request.id, result: 'ambiguous', candidates, reason: `${plausibleCount} transactions are equally plausible` };
      continue;
    }
    decisions[r] = { requestId: request.id, result: 'matched', transactionId: (transactions[bestFirst] as MatchTransaction).id, score: bestScore, reason: scoreReason(bestScore) };
    const chosenBy = picks.get(bestFirst);
    if (chosenBy) chosenBy.push(r);
    else picks.set(bestFirst, [r]);
  }

  // One transaction cannot settle two requests: when it is the clear best of several, none is picked.
  for (const [transaction, chosenBy] of picks) {
    if (chosenBy.length < 2) continue;
    const transactionId = (transactions[transaction] as MatchTransaction).id;
    for (const r of chosenBy) {
      decisions[r] = { requestId: (requests[r] as MatchRequest).id, result: 'ambiguous', candidates: [transactionId], reason: `the same transaction is the best match for ${chosenBy.length} requests` };
    }
  }
  return decisions;
}
