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

type Group = { name: string; times: number[]; ids: string[] };
/** Most buckets hold a handful of groups: an array scan beats a Map there; large ones get a Map. */
type Bucket = { list: Group[]; map: Map<string, Group> | undefined; latest: number };

const MAP_FROM = 8;
/** Candidates recorded for an ambiguous request (the count is in the reason). */
export const MAX_RECORDED_CANDIDATES = 10;

function groupOf(bucket: Bucket, name: string): Group | undefined {
  if (bucket.map) return bucket.map.get(name);
  for (const group of bucket.list) if (group.name === name) return group;
  return undefined;
}

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
    if (!bucket) byAmount.set(t.amountMinor, (bucket = { list: [], map: undefined, latest: t.receivedAtMs }));
    else if (t.receivedAtMs > bucket.latest) bucket.latest = t.receivedAtMs;
    const name = keyOf(t.senderName);
    if (name === '') continue; // no sender name: never a match (nothing to confirm the payer)
    let group = groupOf(bucket, name);
    if (!group) {
      group = { name, times: [], ids: [] };
      bucket.list.push(group);
      if (bucket.map) bucket.map.set(name, group);
      else if (bucket.list.length >= MAP_FROM) bucket.map = new Map(bucket.list.map((g) => [g.name, g]));
      if (!names.has(name)) names.set(name, name.split(' '));
    }
    group.times.push(t.receivedAtMs);
    group.ids.push(t.id);
  }
  for (const byAmount of byCurrency.values()) {
    for (const bucket of byAmount.values()) {
      for (const group of bucket.list) {
        if (group.times.length < 2) continue;
        const order = group.times.map((_, i) => i).sort((a, b) => (group.times[a] as number) - (group.times[b] as number) || ((group.ids[a] as string) < (group.ids[b] as string) ? -1 : 1));
        group.times = order.map((i) => group.times[i] as number);
        group.ids = order.map((i) => group.ids[i] as string);
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

const scoreReasons = new Map<number, string>();
function scoreReason(score: number): string {
  let reason = scoreReasons.get(score);
  if (reason === undefined) scoreReasons.set(score, (reason = `name score ${score.toFixed(2)}`));
  return reason;
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
    if (bucket.latest < from) {
      decisions[r] = { requestId: request.id, result: 'not_found', reason: 'transactions with this amount arrived more than 5 days before the request' };
      continue;
    }
    // Walk sender names best first; stop once a name scores at or below the best minus the margin.
    let bestScore = -1;
    let bestIds: string[] | undefined;
    let bestStart = 0;
    const rivals: string[] = [];
    let rivalCount = 0;
    for (const { name, score } of related(keyOf(request.name))) {
      if (bestIds && score <= bestScore - CLEAR_MARGIN) break;
      const group = groupOf(bucket, name);
      if (!group) continue;
      const start = lowerBound(group.times, from);
      if (start === group.times.length) continue;
      if (!bestIds) {
        bestScore = score;
        bestIds = group.ids;
        bestStart = start;
      } else {
        rivalCount += group.ids.length - start;
        for (let i = start; i < group.ids.length && rivals.length < MAX_RECORDED_CANDIDATES; i++) rivals.push(group.ids[i] as string);
      }
    }
    if (!bestIds || bestScore < MIN_SCORE) {
      decisions[r] = {
        requestId: request.id,
        result: 'not_found',
        reason: bestIds ? `sender names do not match the payer well enough (best ${bestScore.toFixed(2)} < ${MIN_SCORE})` : 'no transaction with this amount has a sender name like the payer',
      };
      continue;
    }
    const bestCount = bestIds.length - bestStart;
    if (bestCount > 1 || rivalCount > 0) {
      const candidates = bestIds.slice(bestStart, bestStart + MAX_RECORDED_CANDIDATES);
      for (const id of rivals) if (candidates.length < MAX_RECORDED_CANDIDATES) candidates.push(id);
      decisions[r] = { requestId: request.id, result: 'ambiguous', candidates, reason: `${bestCount + rivalCount} transactions are equally plausible` };
      continue;
    }
    const transactionId = bestIds[bestStart] as string;
    decisions[r] = { requestId: request.id, result: 'matched', transactionId, score: bestScore, reason: scoreReason(bestScore) };
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
