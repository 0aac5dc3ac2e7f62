import { CLEAR_MARGIN, MIN_SCORE, parseNameUncached, scoreTokens, type ParsedName } from './names.js';

/**
 * The matcher's view of names (SPEC §4, §8): every distinct name of one matching run (sender
 * and payer alike) gets a dense id, its tokens dense token ids, and pairs are scored on those
 * ids with the same result as names.ts's scoreParsed. Within one amount, the sender names
 * that could reach the floor score (the minimum less the margin: only those can be a
 * candidate or spoil a clear margin) are found through an inverted index of that amount's
 * names, probing the payer's rarest tokens first and only the name lengths that can still
 * reach the floor, with a bounded amount of work (SEARCH_BUDGET).
 */

/** Names within the margin of the minimum: nothing below can be a candidate. */
export const FLOOR = MIN_SCORE - CLEAR_MARGIN;

/**
 * Posting entries read plus tokens compared while looking for one payer name's candidates
 * in one amount. Past it, the search stops and the requests asking it are left ambiguous for
 * an operator (never matched, never not_found): see README "Matching".
 */
export const SEARCH_BUDGET = 4096;

/** Initials are at most this many letters ("shch." from Щ). */
const MAX_INITIAL = 4;

const EMPTY_IDS = new Int32Array(0);

export function createNameTable() {
  const byRaw = new Map<string, number>(); // name as written → id (−1: no usable name)
  const byKey = new Map<string, number>();
  const parsed: ParsedName[] = [];
  const own: Int32Array[] = []; // token ids, ascending
  const latin: Int32Array[] = []; // the same array as own for a Latin name
  const initials: number[] = []; // 1 if own or latin has an initial
  const tokenIds = new Map<string, number>();
  const tokenText: string[] = [];

  const tokenId = (token: string): number => {
    let id = tokenIds.get(token);
    if (id === undefined) {
      id = tokenText.length;
      tokenIds.set(token, id);
      tokenText.push(token);
    }
    return id;
  };
  const idsOf = (tokens: readonly string[]): Int32Array => {
    const ids = new Int32Array(tokens.length);
    for (let k = 0; k < tokens.length; k++) ids[k] = tokenId(tokens[k] as string);
    return ids.sort();
  };

  function id(raw: string | null): number {
    const text = raw ?? '';
    let name = byRaw.get(text);
    if (name !== undefined) return name;
    const p = parseNameUncached(text);
    if (p.key === '') name = -1;
    else {
      name = byKey.get(p.key);
      if (name === undefined) {
        name = parsed.length;
        byKey.set(p.key, name);
        parsed.push(p);
        const ownIds = idsOf(p.tokens);
        own.push(ownIds);
        latin.push(p.isLatin ? ownIds : idsOf(p.latin));
        initials.push(p.tokens.some(isInitialToken) || p.latin.some(isInitialToken) ? 1 : 0);
      }
    }
    byRaw.set(text, name);
    return name;
  }

  /** Score of two names, as scoreParsed computes it. */
  function score(a: number, b: number): number {
    const pa = parsed[a] as ParsedName;
    const pb = parsed[b] as ParsedName;
    const either = initials[a] === 1 || initials[b] === 1;
    const first = either ? scoreTokens(pa.tokens, pb.tokens) : overlapScore(own[a] as Int32Array, own[b] as Int32Array);
    if (pa.isLatin === pb.isLatin) return first;
    const second = either ? scoreTokens(pa.latin, pb.latin) : overlapScore(latin[a] as Int32Array, latin[b] as Int32Array);
    return Math.max(first, second);
  }

  // Initial tokens ("j.") that begin a word token, by word token id (made when first asked).
  const beginners: (Int32Array | undefined)[] = [];
  function initialsBeginning(token: number): Int32Array {
    let list = beginners[token];
    if (list === undefined) {
      const text = tokenText[token] as string;
      const found: number[] = [];
      if (!isInitialToken(text)) {
        for (let letters = 1; letters <= MAX_INITIAL && letters < text.length; letters++) {
          const initial = tokenIds.get(`${text.slice(0, letters)}.`);
          if (initial !== undefined) found.push(initial);
        }
      }
      list = found.length === 0 ? EMPTY_IDS : Int32Array.from(found);
      beginners[token] = list;
    }
    return list;
  }

  return {
    id,
    score,
    initialsBeginning,
    key: (name: number) => (parsed[name] as ParsedName).key,
    isLatin: (name: number) => (parsed[name] as ParsedName).isLatin,
    own: (name: number) => own[name] as Int32Array,
    latin: (name: number) => latin[name] as Int32Array,
    isInitial: (token: number) => isInitialToken(tokenText[token] as string),
    tokenCount: () => tokenText.length,
    nameCount: () => parsed.length,
  };
}

export type NameTable = ReturnType<typeof createNameTable>;

function isInitialToken(token: string): boolean {
  return token.endsWith('.');
}

/** scoreTokens for two names without initials: shared token ids over both coverages. */
function overlapScore(a: Int32Array, b: Int32Array): number {
  let matched = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      matched += 1;
      i += 1;
      j += 1;
    } else if (x < y) i += 1;
    else j += 1;
  }
  const short = Math.min(a.length, b.length);
  const long = Math.max(a.length, b.length);
  return short === 0 ? 0 : (matched / short + matched / long) / 2;
}

/**
 * Postings of one amount's sender names in one token space (own forms, or transliterations
 * of the non-Latin names): for each token, the names holding it, by ascending length; and
 * for each initial token, the names holding a word it begins.
 */
type Postings = {
  /** local slot of a token id in `starts` (−1: none), shared scratch reset after use */
  exactStart: Map<number, number>;
  begunStart: Map<number, number>;
  starts: Int32Array; // slot → first entry; slot + 1 → end
  groups: Int32Array;
  lengths: Int32Array;
};

function buildPostings(pairs: { token: number[]; group: number[]; length: number[]; begun: boolean[] }): Postings {
  // Slots: one per (token, exact|begun), numbered in first-seen order.
  const exactStart = new Map<number, number>();
  const begunStart = new Map<number, number>();
  const n = pairs.token.length;
  const slotOf = new Int32Array(n);
  let slots = 0;
  let maxLength = 0;
  for (let k = 0; k < n; k++) {
    const map = pairs.begun[k] ? begunStart : exactStart;
    const token = pairs.token[k] as number;
    let slot = map.get(token);
    if (slot === undefined) map.set(token, (slot = slots++));
    slotOf[k] = slot;
    if ((pairs.length[k] as number) > maxLength) maxLength = pairs.length[k] as number;
  }
  // Counting sort by length, then (stable) by slot.
  const byLength = new Int32Array(maxLength + 2);
  for (let k = 0; k < n; k++) byLength[(pairs.length[k] as number) + 1] = (byLength[(pairs.length[k] as number) + 1] as number) + 1;
  for (let l = 0; l <= maxLength; l++) byLength[l + 1] = (byLength[l + 1] as number) + (byLength[l] as number);
  const lengthOrder = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const l = pairs.length[k] as number;
    lengthOrder[byLength[l] as number] = k;
    byLength[l] = (byLength[l] as number) + 1;
  }
  const starts = new Int32Array(slots + 1);
  for (let k = 0; k < n; k++) starts[(slotOf[k] as number) + 1] = (starts[(slotOf[k] as number) + 1] as number) + 1;
  for (let s = 0; s < slots; s++) starts[s + 1] = (starts[s + 1] as number) + (starts[s] as number);
  const fill = starts.slice(0, slots);
  const groups = new Int32Array(n);
  const lengths = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    const k = lengthOrder[o] as number;
    const s = slotOf[k] as number;
    const at = fill[s] as number;
    groups[at] = pairs.group[k] as number;
    lengths[at] = pairs.length[k] as number;
    fill[s] = at + 1;
  }
  return { exactStart, begunStart, starts, groups, lengths };
}

/** First position in `lengths[from, to)` (ascending) holding a value ≥ `value`. */
function lowerBound(lengths: Int32Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((lengths[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type Found = { groups: Int32Array; scores: Float64Array; complete: boolean };

/**
 * One amount's sender-name groups (`groupName[g]` for g in [from, to), ascending name ids),
 * searched for payer names. Built once per amount, on first use.
 */
export function createAmountIndex(names: NameTable, groupName: Int32Array, from: number, to: number) {
  const build = (space: 'own' | 'latin'): Postings => {
    const pairs = { token: [] as number[], group: [] as number[], length: [] as number[], begun: [] as boolean[] };
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 'latin' && names.isLatin(name)) continue;
      const tokens = space === 'own' ? names.own(name) : names.latin(name);
      for (const token of tokens) {
        pairs.token.push(token);
        pairs.group.push(g);
        pairs.length.push(tokens.length);
        pairs.begun.push(false);
        for (const initial of names.initialsBeginning(token)) {
          pairs.token.push(initial);
          pairs.group.push(g);
          pairs.length.push(tokens.length);
          pairs.begun.push(true);
        }
      }
    }
    return buildPostings(pairs);
  };
  const ownPostings = build('own');
  let latinPostings: Postings | undefined;
  let hasNonLatin = false;
  for (let g = from; g < to; g++) if (!names.isLatin(groupName[g] as number)) hasNonLatin = true;
  const seen = new Int32Array(to - from);
  let stamp = 0;

  /** Ranges [start, end) of the postings that can pair with payer token `token`. */
  function rangesOf(postings: Postings, token: number, out: number[]): void {
    const add = (slot: number | undefined) => {
      if (slot !== undefined) out.push(postings.starts[slot] as number, postings.starts[slot + 1] as number);
    };
    add(postings.exactStart.get(token));
    if (names.isInitial(token)) add(postings.begunStart.get(token));
    else for (const initial of names.initialsBeginning(token)) add(postings.exactStart.get(initial));
  }

  /**
   * Adds to `candidates` every group not yet seen whose name could score ≥ FLOOR against the
   * payer tokens `tokens` in this space. Returns the work done, or −1 past `budget`.
   */
  function probe(postings: Postings, tokens: Int32Array, candidates: number[], budget: number): number {
    const p = tokens.length;
    if (p === 0) return 0;
    const ranges: number[][] = [];
    const sizes: number[] = [];
    for (const token of tokens) {
      const r: number[] = [];
      rangesOf(postings, token, r);
      let size = 0;
      for (let k = 0; k < r.length; k += 2) size += (r[k + 1] as number) - (r[k] as number);
      ranges.push(r);
      sizes.push(size);
    }
    // Rarest first.
    const order = Array.from({ length: p }, (_, k) => k).sort((x, y) => (sizes[x] as number) - (sizes[y] as number));
    let work = p;
    const eps = 1e-9;
    const lo = Math.max(1, Math.ceil(p * (2 * FLOOR - 1) - eps));
    for (let i = 0; i < p; i++) {
      // A name not found by the tokens probed so far pairs with at most r of the payer's tokens.
      const r = p - i;
      if (lo > r) break;
      const denominator = 2 * FLOOR - r / p;
      const hi = denominator <= 0 ? Number.MAX_SAFE_INTEGER : Math.floor(r / denominator + eps);
      const list = ranges[order[i] as number] as number[];
      for (let k = 0; k < list.length; k += 2) {
        const start = lowerBound(postings.lengths, list[k] as number, list[k + 1] as number, lo);
        const end = hi >= Number.MAX_SAFE_INTEGER ? (list[k + 1] as number) : lowerBound(postings.lengths, start, list[k + 1] as number, hi + 1);
        work += 2 + end - start;
        if (work > budget) return -1;
        for (let at = start; at < end; at++) {
          const g = postings.groups[at] as number;
          if (seen[g - from] !== stamp) {
            seen[g - from] = stamp;
            candidates.push(g);
          }
        }
      }
    }
    return work;
  }

  /** The groups scoring ≥ FLOOR against payer name `payer`, best first (ties by name key). */
  function search(payer: number): Found {
    stamp += 1;
    const candidates: number[] = [];
    let work = probe(ownPostings, names.own(payer), candidates, SEARCH_BUDGET);
    const payerLatin = names.isLatin(payer);
    if (work >= 0 && payerLatin && hasNonLatin) {
      latinPostings ??= build('latin');
      const more = probe(latinPostings, names.own(payer), candidates, SEARCH_BUDGET - work);
      work = more < 0 ? -1 : work + more;
    } else if (work >= 0 && !payerLatin) {
      const more = probe(ownPostings, names.latin(payer), candidates, SEARCH_BUDGET - work);
      work = more < 0 ? -1 : work + more;
    }
    const found: { g: number; score: number; key: string }[] = [];
    let complete = work >= 0;
    if (!complete) work = 0; // the names found so far are still scored, within a budget of their own
    for (const g of candidates) {
      const name = groupName[g] as number;
      work += names.own(payer).length + names.own(name).length;
      if (work > SEARCH_BUDGET) {
        complete = false;
        break;
      }
      const score = names.score(payer, name);
      if (score >= FLOOR) found.push({ g, score, key: names.key(name) });
    }
    found.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { groups: Int32Array.from(found, (f) => f.g), scores: Float64Array.from(found, (f) => f.score), complete };
  }

  return { search };
}

export type AmountIndex = ReturnType<typeof createAmountIndex>;

