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

/** Names a perfect score (1) leaves as rivals: within the margin of it. */
export const TOP_FLOOR = 1 - CLEAR_MARGIN;

/**
 * Work allowed to search one payer name's candidates in one amount: posting entries read,
 * then (separately) tokens compared while scoring the names found. Past either, the search
 * stops, and the requests asking it are left ambiguous for an operator (never matched, never
 * not_found), with the best names it scored as candidates: see README "Matching".
 */
export const SEARCH_BUDGET = 1024;

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

  let shared: ScratchOwner | undefined;
  return {
    id,
    score,
    /** Scratch shared by the amounts of one run, indexed one at a time. */
    scratch: (): ScratchOwner => (shared ??= createScratchOwner()),
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

export type Found = { groups: Int32Array; scores: Float64Array; complete: boolean };

/** Work units of scoring a pair: a merge of both token lists, several times cheaper per step than reading a posting entry. */
function scoreCost(a: number, b: number): number {
  return 1 + ((a + b) >> 2);
}

/** Longest name that can pair with r of a payer's p tokens and still score `floor` (0x7fffffff: any). */
function longestReaching(r: number, p: number, floor: number): number {
  const denominator = 2 * floor - r / p;
  return denominator <= 0 ? 0x7fffffff : Math.floor(r / denominator + 1e-9);
}

/** Whether ascending `ids` holds `id`. */
function holds(ids: Int32Array, id: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = ids[mid] as number;
    if (at === id) return true;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
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

/**
 * Postings of one amount's sender names in one token space (own forms, or transliterations
 * of the non-Latin names): for each token, the names holding it, by ascending length; and
 * for each initial token, the names holding a word it begins. A token's slot is found through
 * scratch arrays indexed by token id (one amount is indexed at a time: the matcher walks
 * amounts in order), reset when the next amount is indexed.
 */
type Postings = {
  exactSlot: Int32Array; // token id → slot, or −1
  begunSlot: Int32Array;
  starts: Int32Array; // slot → first entry; slot + 1 → end
  groups: Int32Array;
  lengths: Int32Array;
  /** Token ids given a slot, to reset the scratch arrays. */
  touched: number[];
};

function grownInt(list: Int32Array, size: number, fill?: number): Int32Array {
  if (list.length >= size) return list;
  const bigger = new Int32Array(Math.max(size, list.length * 2));
  if (fill !== undefined) bigger.fill(fill);
  bigger.set(list);
  return bigger;
}

/** Scratch kept across amounts of one matching run (see Postings). */
type Scratch = {
  exactSlot: Int32Array[];
  begunSlot: Int32Array[];
  token: Int32Array;
  group: Int32Array;
  length: Int32Array;
  slot: Int32Array;
  candidates: Int32Array;
  ranges: Int32Array;
  rangeFrom: Int32Array;
  sizes: Float64Array;
  order: Int32Array;
  foundGroups: Int32Array;
  foundScores: Float64Array;
};

/** Scratch arrays and the postings whose token slots are set in them. */
export type ScratchOwner = { scratch: Scratch; held: Postings[] };

export function createScratchOwner(): ScratchOwner {
  return { scratch: createScratch(), held: [] };
}

function release(owner: ScratchOwner): void {
  for (const postings of owner.held) {
    for (const token of postings.touched) {
      postings.exactSlot[token] = -1;
      postings.begunSlot[token] = -1;
    }
  }
  owner.held.length = 0;
}

function createScratch(): Scratch {
  return {
    exactSlot: [new Int32Array(0), new Int32Array(0)],
    begunSlot: [new Int32Array(0), new Int32Array(0)],
    token: new Int32Array(1024),
    group: new Int32Array(1024),
    length: new Int32Array(1024),
    slot: new Int32Array(1024),
    candidates: new Int32Array(1024),
    ranges: new Int32Array(256),
    rangeFrom: new Int32Array(64),
    sizes: new Float64Array(64),
    order: new Int32Array(64),
    foundGroups: new Int32Array(256),
    foundScores: new Float64Array(256),
  };
}

/**
 * One amount's sender-name groups (`groupName[g]` for g in [from, to), ascending name ids),
 * searched for payer names. Built on first use of the amount; valid until the next amount
 * of the same run is indexed.
 */
export function createAmountIndex(names: NameTable, groupName: Int32Array, from: number, to: number, owner: ScratchOwner = names.scratch()) {
  const scratch = owner.scratch;
  const tokenCount = names.tokenCount();

  const build = (space: 0 | 1): Postings => {
    // Entries (token, group, length, exact|begun) into scratch arrays.
    let n = 0;
    const push = (token: number, g: number, length: number): void => {
      if (n === scratch.token.length) {
        scratch.token = grownInt(scratch.token, n + 1);
        scratch.group = grownInt(scratch.group, n + 1);
        scratch.length = grownInt(scratch.length, n + 1);
        scratch.slot = grownInt(scratch.slot, n + 1);
      }
      scratch.token[n] = token;
      scratch.group[n] = g;
      scratch.length[n] = length;
      n += 1;
    };
    let maxLength = 0;
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 1 && names.isLatin(name)) continue;
      const tokens = space === 0 ? names.own(name) : names.latin(name);
      if (tokens.length > maxLength) maxLength = tokens.length;
      for (let k = 0; k < tokens.length; k++) {
        const token = tokens[k] as number;
        push(token, g, tokens.length);
        const beginning = names.initialsBeginning(token);
        for (let b = 0; b < beginning.length; b++) push(-1 - (beginning[b] as number), g, tokens.length); // a begun entry
      }
    }
    let exactSlot = scratch.exactSlot[space] as Int32Array;
    let begunSlot = scratch.begunSlot[space] as Int32Array;
    if (exactSlot.length < tokenCount) {
      exactSlot = grownInt(exactSlot, tokenCount, -1);
      begunSlot = grownInt(begunSlot, tokenCount, -1);
      exactSlot.fill(-1);
      begunSlot.fill(-1);
      scratch.exactSlot[space] = exactSlot;
      scratch.begunSlot[space] = begunSlot;
    }
    const touched: number[] = [];
    let slots = 0;
    const slotOf = scratch.slot;
    for (let k = 0; k < n; k++) {
      const coded = scratch.token[k] as number;
      const begun = coded < 0;
      const token = begun ? -1 - coded : coded;
      const table = begun ? begunSlot : exactSlot;
      let slot = table[token] as number;
      if (slot < 0) {
        slot = slots++;
        table[token] = slot;
        touched.push(token);
      }
      slotOf[k] = slot;
    }
    // Counting sort by length, then (stable) by slot.
    const byLength = new Int32Array(maxLength + 2);
    for (let k = 0; k < n; k++) byLength[(scratch.length[k] as number) + 1] = (byLength[(scratch.length[k] as number) + 1] as number) + 1;
    for (let l = 0; l <= maxLength; l++) byLength[l + 1] = (byLength[l + 1] as number) + (byLength[l] as number);
    const lengthOrder = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const l = scratch.length[k] as number;
      lengthOrder[byLength[l] as number] = k;
      byLength[l] = (byLength[l] as number) + 1;
    }
    const starts = new Int32Array(slots + 1);
    for (let k = 0; k < n; k++) starts[(slotOf[k] as number) + 1] = (starts[(slotOf[k] as number) + 1] as number) + 1;
    for (let x = 0; x < slots; x++) starts[x + 1] = (starts[x + 1] as number) + (starts[x] as number);
    const fill = starts.slice(0, slots);
    const groups = new Int32Array(n);
    const lengths = new Int32Array(n);
    for (let o = 0; o < n; o++) {
      const k = lengthOrder[o] as number;
      const x = slotOf[k] as number;
      const at = fill[x] as number;
      groups[at] = scratch.group[k] as number;
      lengths[at] = scratch.length[k] as number;
      fill[x] = at + 1;
    }
    return { exactSlot, begunSlot, starts, groups, lengths, touched };
  };
  // The previous amount's slots are cleared before this one's are set.
  release(owner);
  const own = build(0);
  let latin: Postings | undefined;
  let hasNonLatin = false;
  for (let g = from; g < to; g++) if (!names.isLatin(groupName[g] as number)) hasNonLatin = true;
  owner.held.push(own);
  const seen = new Int32Array(to - from);
  const hits = new Int32Array(to - from); // payer tokens a candidate pairs with, as far as probed
  let stamp = 0;
  let candidateCount = 0;

  /** Appends to scratch.ranges the [start, end) ranges of the postings that can pair with `token`; returns the new length. */
  function addRanges(postings: Postings, token: number, at: number): number {
    if (token >= postings.exactSlot.length) return at;
    const beginning = names.isInitial(token) ? EMPTY_IDS : names.initialsBeginning(token);
    if (at + 4 + 2 * beginning.length > scratch.ranges.length) scratch.ranges = grownInt(scratch.ranges, at + 4 + 2 * beginning.length);
    const ranges = scratch.ranges;
    const starts = postings.starts;
    let slot = postings.exactSlot[token] as number;
    if (slot >= 0) {
      ranges[at++] = starts[slot] as number;
      ranges[at++] = starts[slot + 1] as number;
    }
    if (names.isInitial(token)) {
      slot = postings.begunSlot[token] as number;
      if (slot >= 0) {
        ranges[at++] = starts[slot] as number;
        ranges[at++] = starts[slot + 1] as number;
      }
    }
    for (let b = 0; b < beginning.length; b++) {
      slot = postings.exactSlot[beginning[b] as number] as number;
      if (slot >= 0) {
        ranges[at++] = starts[slot] as number;
        ranges[at++] = starts[slot + 1] as number;
      }
    }
    return at;
  }

  /**
   * Adds to scratch.candidates every group not yet seen whose name could score ≥ floor
   * against the payer tokens `tokens` in this space. Returns the work done, or −1 past `budget`.
   */
  function probe(postings: Postings, tokens: Int32Array, budget: number, counting: boolean, tokensOf: (name: number) => Int32Array, floor: number): number {
    const p = tokens.length;
    if (p === 0) return 0;
    if (p + 1 > scratch.rangeFrom.length) {
      scratch.rangeFrom = new Int32Array(p * 2 + 2);
      scratch.sizes = new Float64Array(p * 2 + 2);
      scratch.order = new Int32Array(p * 2 + 2);
    }
    const { rangeFrom, sizes, order } = scratch;
    let at = 0;
    for (let k = 0; k < p; k++) {
      rangeFrom[k] = at;
      at = addRanges(postings, tokens[k] as number, at);
      let size = 0;
      for (let x = rangeFrom[k] as number; x < at; x += 2) size += (scratch.ranges[x + 1] as number) - (scratch.ranges[x] as number);
      sizes[k] = size;
      // Rarest first (insertion sort: a name has few tokens).
      let j = k - 1;
      while (j >= 0 && (sizes[order[j] as number] as number) > size) {
        order[j + 1] = order[j] as number;
        j -= 1;
      }
      order[j + 1] = k;
    }
    rangeFrom[p] = at;
    const ranges = scratch.ranges;
    let work = p;
    const eps = 1e-9;
    const lo = Math.max(1, Math.ceil(p * (2 * floor - 1) - eps));
    const widest = longestReaching(p, p, floor);
    const lengths = postings.lengths;
    for (let i = 0; i < p; i++) {
      // A name not found by the tokens probed so far pairs with at most r of the payer's
      // tokens, so only lengths [lo, fresh] can bring new candidates.
      const r = p - i;
      const fresh = lo <= r ? longestReaching(r, p, floor) : lo - 1;
      if (fresh < lo && (!counting || candidateCount === 0)) break;
      const k = order[i] as number;
      const token = tokens[k] as number;
      let longer = 0; // entries of longer names (already candidates, if ever): counted, never new
      for (let x = rangeFrom[k] as number; x < (rangeFrom[k + 1] as number); x += 2) {
        const rangeEnd = ranges[x + 1] as number;
        const start = lowerBound(lengths, ranges[x] as number, rangeEnd, lo);
        const end = fresh >= 0x7fffffff ? rangeEnd : lowerBound(lengths, start, rangeEnd, fresh + 1);
        if (counting) longer += (widest >= 0x7fffffff ? rangeEnd : lowerBound(lengths, end, rangeEnd, widest + 1)) - end;
        work += 2 + end - start;
        if (work > budget) return -1;
        if (candidateCount + (end - start) > scratch.candidates.length) scratch.candidates = grownInt(scratch.candidates, candidateCount + (end - start));
        const candidates = scratch.candidates;
        for (let e = start; e < end; e++) {
          const g = postings.groups[e] as number;
          if (seen[g - from] !== stamp) {
            seen[g - from] = stamp;
            hits[g - from] = 1;
            candidates[candidateCount++] = g;
          } else hits[g - from] = (hits[g - from] as number) + 1;
        }
      }
      if (!counting || candidateCount === 0 || longer === 0) continue;
      // Count this token for the candidates longer than `fresh`: by walking those entries, or
      // by looking the token up in each candidate, whichever is less work.
      if (longer <= candidateCount) {
        work += longer;
        if (work > budget) return -1;
        for (let x = rangeFrom[k] as number; x < (rangeFrom[k + 1] as number); x += 2) {
          const rangeEnd = ranges[x + 1] as number;
          const start = lowerBound(lengths, ranges[x] as number, rangeEnd, fresh + 1);
          const end = widest >= 0x7fffffff ? rangeEnd : lowerBound(lengths, start, rangeEnd, widest + 1);
          for (let e = start; e < end; e++) {
            const g = postings.groups[e] as number;
            if (seen[g - from] === stamp) hits[g - from] = (hits[g - from] as number) + 1;
          }
        }
      } else {
        work += candidateCount;
        if (work > budget) return -1;
        const initial = names.isInitial(token);
        const beginning = initial ? EMPTY_IDS : names.initialsBeginning(token);
        const candidates = scratch.candidates;
        for (let c = 0; c < candidateCount; c++) {
          const g = candidates[c] as number;
          const held = tokensOf(groupName[g] as number);
          if (held.length <= fresh) continue; // counted above
          // An initial may pair with many words: counted as if it did (an upper bound).
          let pairs = initial || holds(held, token);
          for (let b = 0; !pairs && b < beginning.length; b++) pairs = holds(held, beginning[b] as number);
          if (pairs) hits[g - from] = (hits[g - from] as number) + 1;
        }
      }
    }
    return work;
  }

  /** Orders scratch.candidates by hits, most first (counting sort; stable). */
  function rankByHits(): void {
    const candidates = scratch.candidates;
    let most = 0;
    for (let c = 0; c < candidateCount; c++) most = Math.max(most, hits[(candidates[c] as number) - from] as number);
    const starts = new Int32Array(most + 2);
    for (let c = 0; c < candidateCount; c++) {
      const h = most - (hits[(candidates[c] as number) - from] as number);
      starts[h + 1] = (starts[h + 1] as number) + 1;
    }
    for (let h = 0; h <= most; h++) starts[h + 1] = (starts[h + 1] as number) + (starts[h] as number);
    const ranked = new Int32Array(candidateCount);
    for (let c = 0; c < candidateCount; c++) {
      const g = candidates[c] as number;
      const h = most - (hits[g - from] as number);
      ranked[starts[h] as number] = g;
      starts[h] = (starts[h] as number) + 1;
    }
    candidates.set(ranked);
  }

  /** The groups scoring ≥ `floor` (FLOOR unless said) against payer name `payer`, best first (ties by name key). */
  function search(payer: number, floor = FLOOR): Found {
    stamp += 1;
    candidateCount = 0;
    const payerOwn = names.own(payer);
    // One token space only (the common case): the counts bound each candidate's score, and
    // those that cannot reach the floor are not scored.
    const oneSpace = names.isLatin(payer) && !hasNonLatin;
    let work = probe(own, payerOwn, SEARCH_BUDGET, oneSpace, names.own, floor);
    if (work >= 0 && names.isLatin(payer)) {
      if (hasNonLatin) {
        if (!latin) {
          latin = build(1);
          owner.held.push(latin);
        }
        const more = probe(latin, payerOwn, SEARCH_BUDGET - work, false, names.latin, floor);
        work = more < 0 ? -1 : work + more;
      }
    } else if (work >= 0) {
      const more = probe(own, names.latin(payer), SEARCH_BUDGET - work, false, names.own, floor);
      work = more < 0 ? -1 : work + more;
    }
    if (work >= 0 && oneSpace) {
      // Keep the candidates whose counted pairs could reach the floor.
      const p = payerOwn.length;
      let kept = 0;
      const candidates = scratch.candidates;
      for (let c = 0; c < candidateCount; c++) {
        const g = candidates[c] as number;
        const l = names.own(groupName[g] as number).length;
        const w = Math.min(hits[g - from] as number, l, p);
        if ((w / Math.min(p, l) + w / Math.max(p, l)) / 2 >= floor - 1e-9) candidates[kept++] = g;
      }
      candidateCount = kept;
    }
    let complete = work >= 0;
    // Scoring has a budget of its own. If the candidates would exceed it (or probing stopped
    // early), the ones sharing most tokens with the payer are scored first.
    let cost = 0;
    for (let c = 0; c < candidateCount && cost <= SEARCH_BUDGET; c++) cost += scoreCost(payerOwn.length, names.own(groupName[scratch.candidates[c] as number] as number).length);
    if (!complete || cost > SEARCH_BUDGET) rankByHits();
    work = 0;
    let count = 0;
    const candidates = scratch.candidates;
    for (let c = 0; c < candidateCount; c++) {
      const g = candidates[c] as number;
      const name = groupName[g] as number;
      work += scoreCost(payerOwn.length, names.own(name).length);
      if (work > SEARCH_BUDGET) {
        complete = false;
        break;
      }
      const score = names.score(payer, name);
      if (score < floor) continue;
      if (count === scratch.foundGroups.length) {
        scratch.foundGroups = grownInt(scratch.foundGroups, count + 1);
        const scores = new Float64Array(count * 2);
        scores.set(scratch.foundScores);
        scratch.foundScores = scores;
      }
      // Insertion by score (desc), then name key (asc).
      const key = names.key(name);
      let j = count - 1;
      while (j >= 0) {
        const sj = scratch.foundScores[j] as number;
        if (sj > score || (sj === score && names.key(groupName[scratch.foundGroups[j] as number] as number) <= key)) break;
        scratch.foundGroups[j + 1] = scratch.foundGroups[j] as number;
        scratch.foundScores[j + 1] = sj;
        j -= 1;
      }
      scratch.foundGroups[j + 1] = g;
      scratch.foundScores[j + 1] = score;
      count += 1;
    }
    return { groups: scratch.foundGroups.slice(0, count), scores: scratch.foundScores.slice(0, count), complete };
  }

  return { search };
}

export type AmountIndex = ReturnType<typeof createAmountIndex>;

