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

type Group = { tokens: string[]; times: number[]; ids: string[] };
type Bucket = { groups: Map<string, Group>; times: number[] };

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

/** First index whose time is ≥ `from` (times ascending). */
function lowerBound(times: number[], from: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function buildBuckets(transactions: MatchTransaction[]) {
  const byCurrency = new Map<string, Map<number, Bucket>>();
  const names = new Map<string, string[]>(); // every sender name key → its tokens
  for (const t of transactions) {
    const currency = t.currency.toUpperCase();
    let byAmount = byCurrency.get(currency);
    if (!byAmount) byCurrency.set(currency, (byAmount = new Map()));
    let bucket = byAmount.get(t.amountMinor);
    if (!bucket) byAmount.set(t.amountMinor, (bucket = { groups: new Map(), times: [] }));
    bucket.times.push(t.receivedAtMs);
    const key = keyOf(t.senderName);
    if (key === '') continue; // no sender name: never a match (nothing to confirm the payer)
    let group = bucket.groups.get(key);
    if (!group) {
      const tokens = key.split(' ');
      bucket.groups.set(key, (group = { tokens, times: [], ids: [] }));
      names.set(key, tokens);
    }
    group.times.push(t.receivedAtMs);
    group.ids.push(t.id);
  }
  for (const byAmount of byCurrency.values()) {
    for (const bucket of byAmount.values()) {
      bucket.times.sort((a, b) => a - b);
      for (const group of bucket.groups.values()) {
        if (group.times.length > 1) {
          const order = group.times.map((time, i) => i).sort((a, b) => (group.times[a] as number) - (group.times[b] as number) || ((group.ids[a] as string) < (group.ids[b] as string) ? -1 : 1));
          group.times = order.map((i) => group.times[i] as number);
          group.ids = order.map((i) => group.ids[i] as string);
        }
      }
    }
  }
  return { byCurrency, names };
}

/** Sender names that could score ≥ MIN − margin against a payer name, best first (memoised). */
function relatedNamesFinder(names: Map<string, string[]>) {
  const index = new Map<string, string[]>();
  const add = (key: string, name: string) => {
    const list = index.get(key);
    if (list) list.push(name);
    else index.set(key, [name]);
  };
  for (const [name, tokens] of names) {
    for (const token of tokens) {
      add(`t:${token}`, name);
      if (token.length > 1) add(`f:${token[0]}`, name);
      else add(`i:${token}`, name);
    }
  }
  const floor = MIN_SCORE - CLEAR_MARGIN;
  const memo = new Map<string, { name: string; score: number }[]>();
  return (requestKey: string): { name: string; score: number }[] => {
    let related = memo.get(requestKey);
    if (related) return related;
    const tokens = requestKey === '' ? [] : requestKey.split(' ');
    const seen = new Set<string>();
    related = [];
    for (const token of tokens) {
      const keys = token.length > 1 ? [`t:${token}`, `i:${token[0]}`] : [`t:${token}`, `f:${token}`];
      for (const key of keys) {
        for (const name of index.get(key) ?? []) {
          if (seen.has(name)) continue;
          seen.add(name);
          const score = scoreTokens(tokens, names.get(name) as string[]);
          if (score >= floor) related.push({ name, score });
        }
      }
    }
    related.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
    memo.set(requestKey, related);
    return related;
  };
}

export function matchRequests(requests: MatchRequest[], transactions: MatchTransaction[]): MatchDecision[] {
  const { byCurrency, names } = buildBuckets(transactions);
  const related = relatedNamesFinder(names);
  const decisions: MatchDecision[] = new Array(requests.length);
  const picks = new Map<string, number[]>(); // transaction id → indexes of requests that chose it

  for (let r = 0; r < requests.length; r++) {
    const request = requests[r] as MatchRequest;
    const bucket = byCurrency.get(request.currency.toUpperCase())?.get(request.amountMinor);
    const from = request.registeredAtMs - WINDOW_MS;
    if (!bucket) {
      decisions[r] = { requestId: request.id, result: 'not_found', reason: 'no unused bank transaction with this exact amount and currency' };
      continue;
    }
    if (lowerBound(bucket.times, from) === bucket.times.length) {
      decisions[r] = { requestId: request.id, result: 'not_found', reason: 'transactions with this amount arrived more than 5 days before the request' };
      continue;
    }
    // Walk sender names best first; stop once a name scores below the best minus the margin.
    let best: { score: number; ids: string[] } | undefined;
    const rivals: string[] = [];
    for (const { name, score } of related(keyOf(request.name))) {
      if (best && score <= best.score - CLEAR_MARGIN) break;
      const group = bucket.groups.get(name);
      if (!group) continue;
      const start = lowerBound(group.times, from);
      if (start === group.times.length) continue;
      const inWindow = group.ids.slice(start);
      if (!best) best = { score, ids: inWindow };
      else rivals.push(...inWindow);
    }
    if (!best || best.score < MIN_SCORE) {
      decisions[r] = {
        requestId: request.id,
        result: 'not_found',
        reason: best ? `sender names do not match the payer well enough (best ${best.score.toFixed(2)} < ${MIN_SCORE})` : 'no transaction with this amount has a sender name like the payer',
      };
      continue;
    }
    if (best.ids.length > 1 || rivals.length > 0) {
      const candidates = [...best.ids, ...rivals];
      decisions[r] = { requestId: request.id, result: 'ambiguous', candidates, reason: `${candidates.length} transactions are equally plausible` };
      continue;
    }
    const transactionId = best.ids[0] as string;
    decisions[r] = { requestId: request.id, result: 'matched', transactionId, score: best.score, reason: `name score ${best.score.toFixed(2)}` };
    const chosenBy = picks.get(transactionId);
    if (chosenBy) chosenBy.push(r);
    else picks.set(transactionId, [r]);
  }

  // One transaction cannot settle two requests: when it is the clear best of several, none is picked.
  for (const [transactionId, chosenBy] of picks) {
    if (chosenBy.length < 2) continue;
    for (const r of chosenBy) {
      decisions[r] = { requestId: (requests[r] as MatchRequest).id, result: 'ambiguous', candidates: [transactionId], reason: `the same transaction is the best match for ${chosenBy.length} requests` };
    }
  }
  return decisions;
}
