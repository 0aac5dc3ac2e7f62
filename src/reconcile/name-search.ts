import { CLEAR_MARGIN, fastTokenCodes, hashCodes, isSuffixToken, MIN_SCORE, pairedWeight, parseFastCodes, parseSlow, scanSimpleWords, shareScore, simpleWordCodes } from './names.js';

/**
 * The matcher's view of names (SPEC §4, §8): every distinct name of one matching run (sender
 * and payer alike) gets a dense id, its tokens dense token ids, and pairs are scored on those
 * ids with the same result as names.ts's scoreParsed. Within one amount, the sender names
 * that could reach the floor score (the minimum less the margin: only those can be a
 * candidate or spoil a clear margin) are found through inverted indexes of that amount's
 * names: names of 2..PAIR_MAX words by each pair of their words (exact, no bound), every name
 * by each word, probed rarest word first and only at the name lengths that can still reach
 * the floor, with a bounded amount of work (SEARCH_BUDGET) — see README "The bound".
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

/**
 * Names of 2 to this many words are also indexed by pairs of their words (each word as
 * itself and as the initials that begin it): a payer name of 2 to PAIR_MAX words finds them
 * by its own pairs, exactly and without the bound, since any name of two or more words that
 * reaches the floor pairs at least two of its words with the payer's (score ≤ paired / 2).
 */
export const PAIR_MAX = 6;

/** Initials are at most this many letters ("shch." from Щ). */
const MAX_INITIAL = 4;
/** A payer's rarest tokens put in order as their sizes are read (a search cut short by the budget reads two or three). */
const RAREST_KEPT = 4;

const EMPTY_IDS = new Int32Array(0);
/** The empty lists of a search's result (shared: results are read only). */
const NO_GROUPS = new Int32Array(0);
const NO_SCORES = new Float64Array(0);

/**
 * Names as written that the name table remembers (one Map lookup instead of a parse). Past this
 * many only names the fast path cannot parse are added: a Map of a million names costs more in
 * cache misses and collector work than parsing a Latin name again and finding it by its token ids.
 */
const RAW_CACHE = 1 << 16;
/** Names at least this long are always remembered: parsing one again costs more than the lookup. */
const LONG_RAW = 64;

/** Characters of a long name sampled for its hash (see the name table's long names). */
const LONG_SAMPLES = 32;
/** Slots looked at for a long name as written before it is read instead. */
const LONG_PROBES = 8;
const NO_SLOT = -0x7fffffff;

/** Sorts a list of numbers in place, ascending, and drops repeats (by insertion while short: a sort call costs more for a few). */
function sortUnique(ids: number[]): number[] {
  ids.length = sortUniquePrefix(ids, ids.length);
  return ids;
}

let sortScratch = new Int32Array(64);
let sortBits = new Int32Array(64);

/**
 * A name's record in the name table: where its own token ids start (chunk · ID_CHUNK +
 * position), where its transliteration's start (the same for a Latin name) and how many,
 * its own token count, the hash of its own ids, its flags (bit 0 Latin, bit 1 own or latin
 * has an initial), and the sampleHash of the long text it remembers.
 */
const OWN_FROM = 0;
const LATIN_FROM = 1;
const LATIN_LENGTH = 2;
const LENGTH = 3;
const HASH = 4;
const FLAGS = 5;
const LONG_HASH = 6;
/** Ints per record (28 bytes a name). */
const REC = 7;
/**
 * Names per chunk of records (112 KB). Small, so that any run past a few thousand names adds
 * chunks: with 65,536 a name, the path that adds one ran first in a large call and
 * deoptimised the name table's code there (recompiled in the call, on a shared core).
 */
const NAME_CHUNK_BITS = 12;
const NAME_CHUNK = 1 << NAME_CHUNK_BITS;

/** A name table chunk of token ids: 16 bits while the run's tokens fit, else 32. */
export type TokenIds = Uint16Array | Int32Array;

/** Token ids per chunk of the name table (32 or 64 KB; small for the reason NAME_CHUNK is). */
const ID_CHUNK_BITS = 14;
const ID_CHUNK = 1 << ID_CHUNK_BITS;

/** sortUnique of `ids[0, count)` in place; returns how many are kept (the rest of `ids` is left as it is). */
function sortUniquePrefix(ids: number[], count: number): number {
  if (count > 20) {
    // Past about 20 ids insertion costs more than a bitmap of the ids' range, when it is
    // narrow (at most 64 values per id: names of many words from a small vocabulary), read
    // back in order; else than the native sort of a typed array.
    let min = ids[0] as number;
    let max = min;
    for (let k = 1; k < count; k++) {
      const x = ids[k] as number;
      if (x < min) min = x;
      else if (x > max) max = x;
    }
    const words = ((max - min) >>> 5) + 1;
    if (words <= count * 2) {
      if (words > sortBits.length) sortBits = new Int32Array(words * 2);
      sortBits.fill(0, 0, words);
      for (let k = 0; k < count; k++) {
        const v = (ids[k] as number) - min;
        sortBits[v >>> 5] = (sortBits[v >>> 5] as number) | (1 << (v & 31));
      }
      let kept = 0;
      for (let w = 0; w < words; w++) {
        let bits = sortBits[w] as number;
        while (bits !== 0) {
          const low = bits & -bits;
          ids[kept++] = min + (w << 5) + (31 - Math.clz32(low));
          bits ^= low;
        }
      }
      return kept;
    }
    if (count > sortScratch.length) sortScratch = new Int32Array(count * 2);
    for (let k = 0; k < count; k++) sortScratch[k] = ids[k] as number;
    const sorted = sortScratch.subarray(0, count).sort();
    let kept = 0;
    for (let k = 0; k < count; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) ids[kept++] = sorted[k] as number;
    return kept;
  }
  let kept = 0;
  for (let k = 0; k < count; k++) {
    const x = ids[k] as number;
    let j = kept - 1;
    while (j >= 0 && (ids[j] as number) > x) j -= 1;
    if (j >= 0 && ids[j] === x) continue;
    for (let at = kept; at > j + 1; at--) ids[at] = ids[at - 1] as number;
    ids[j + 1] = x;
    kept += 1;
  }
  return kept;
}

/** Hash of the token ids `ids[0, count)` (32 bits). */
function hashIds(ids: readonly number[], count: number): number {
  let h = 0x811c9dc5 ^ count;
  for (let k = 0; k < count; k++) h = Math.imul(h ^ (ids[k] as number), 0x01000193) ^ (h >>> 15);
  return h;
}

/** Names held before a name table's hash tables grow to the size its names projected (see grownSlots). */
const PROJECT_FROM = 1 << 16;

/**
 * The length of a name table's hash table of `length` slots grown for `held` entries (load ≤ ½):
 * twice its length, or, once it holds PROJECT_FROM entries and the caller said how many names it
 * would ask (`expected`, `asked` so far), at once what the entries so far project over the names
 * still to come (at most one new entry each). Doubling a table of 1.3M names allocated 32 MB
 * of array buffers before its last size, and rehashed every entry twice.
 */
function grownSlots(length: number, held: number, asked: number, expected: number): number {
  let target = held * 2;
  if (held >= PROJECT_FROM && expected > asked) target = Math.max(target, (held + Math.ceil(((expected - asked) * held) / asked)) * 2);
  let grown = length * 2;
  while (grown < target) grown *= 2;
  return grown;
}

/**
 * The names of one matching run. `expected`: how many names (as written) the caller will ask
 * at most (0: not said), to size its hash tables once they are large.
 */
export function createNameTable(expected = 0) {
  let asked = 0; // names asked (id calls) so far
  const byRaw = new Map<string, number>(); // name as written → id (−1: no usable name)
  // Only token ids are kept per name (no parsed strings), one list after another in flat
  // chunks: a million distinct names would otherwise keep several million small objects alive
  // (an array of ids each was 190 MB of them for 30-word names), which the collector copies
  // and marks. Chunks of a fixed size, not one pool grown by doubling: every array buffer
  // allocated counts towards the collector's external memory, and each 64 MB or so of it
  // brings a full collection of the caller's whole heap (half a second at 1M).
  let count = 0;
  const keys: (string | undefined)[] = []; // the names' keys, made when first asked (ties only)
  // 16 bits an id while the run has at most 65536 tokens (every name as one word from a
  // vocabulary of that size; 30-word names held 156 MB of ids at 32 bits, 2½ full
  // collections), widened to 32 bits (every chunk copied once) when it has more.
  let wide = false;
  const chunks: TokenIds[] = [new Uint16Array(1 << 12)]; // every name's own token ids (ascending), then its transliteration's if not Latin
  let chunk: TokenIds = chunks[0] as TokenIds; // the last chunk
  let chunkUsed = 0;
  // Per name, one record of REC ints (see OWN_FROM …): a name's fields share a cache line
  // (six arrays were six misses per new name at 1M), in chunks of NAME_CHUNK names (the first
  // grown by doubling up to it): arrays grown by doubling allocated twice what they held,
  // 80 MB more array buffers for 1.3M names, a full collection of the caller's heap or so.
  const records: Int32Array[] = [new Int32Array(REC << 8)];
  // Names by their own token ids (equal ids, equal keys: equal names), open addressing.
  let slots = new Int32Array(1 << 12).fill(-1);
  // Tokens interned by their UTF-16 codes (open addressing over a flat pool): the fast path
  // parses a name into codes, so a word seen before costs no string and no Map lookup. A
  // token's text is made when first asked (initials, keys).
  let tokens = 0;
  let pool = new Uint16Array(1 << 14); // the tokens' codes, one after another
  let poolUsed = 0;
  let tokenEnd: Int32Array = new Int32Array(1024); // token id → end of its codes in pool (start: the previous end)
  let tokenHash: Int32Array = new Int32Array(1024);
  let tokenSlots = new Int32Array(1 << 11).fill(-1);
  const tokenText: (string | undefined)[] = [];
  let tokenInitial = new Uint8Array(1024); // 1 if the token is an initial
  let initialTokens = 0; // how many tokens are initials
  let tokenSuffix = new Uint8Array(1024); // 1 if the token is a company suffix
  let stringCodes = new Uint16Array(64); // a token given as a string, as codes
  const prefixCodes = new Uint16Array(MAX_INITIAL + 1); // an initial looked up for a word
  const wordIds: number[] = []; // a name's token ids while it is read (see simpleIds)

  const sameCodes = (token: number, codes: Uint16Array, from: number, to: number): boolean => {
    const start = token === 0 ? 0 : (tokenEnd[token - 1] as number);
    if ((tokenEnd[token] as number) - start !== to - from) return false;
    for (let k = 0; k < to - from; k++) if (pool[start + k] !== codes[from + k]) return false;
    return true;
  };
  /** The token of `codes[from, to)`, or the slot where it would go (as −1 − slot). */
  const findCodes = (codes: Uint16Array, from: number, to: number, hash: number): number => {
    const mask = tokenSlots.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const token = tokenSlots[at] as number;
      if (token < 0) return -1 - at;
      if (tokenHash[token] === hash && sameCodes(token, codes, from, to)) return token;
    }
  };
  const internCodes = (codes: Uint16Array, from: number, to: number): number => internHashed(codes, from, to, hashCodes(codes, from, to));
  const internHashed = (codes: Uint16Array, from: number, to: number, hash: number): number => {
    let id = findCodes(codes, from, to, hash);
    if (id >= 0) return id;
    tokenSlots[-1 - id] = tokens;
    id = tokens++;
    if (poolUsed + (to - from) > pool.length) {
      const bigger = new Uint16Array(Math.max(pool.length * 2, poolUsed + (to - from)));
      bigger.set(pool);
      pool = bigger;
    }
    pool.set(codes.subarray(from, to), poolUsed);
    poolUsed += to - from;
    if (id === tokenEnd.length) {
      tokenEnd = grownInt(tokenEnd, id * 2);
      tokenHash = grownInt(tokenHash, id * 2);
      tokenInitial = grownBytes(tokenInitial, id * 2);
      tokenSuffix = grownBytes(tokenSuffix, id * 2);
    }
    tokenEnd[id] = poolUsed;
    tokenHash[id] = hash;
    tokenInitial[id] = codes[to - 1] === 46 ? 1 : 0; // ends with "."
    initialTokens += tokenInitial[id] as number;
    tokenSuffix[id] = isSuffixToken(codes, from, to) ? 1 : 0;
    if (tokens * 2 > tokenSlots.length) {
      tokenSlots = new Int32Array(tokenSlots.length * 2).fill(-1);
      const mask = tokenSlots.length - 1;
      for (let x = 0; x < tokens; x++) {
        let at = (tokenHash[x] as number) & mask;
        while ((tokenSlots[at] as number) >= 0) at = (at + 1) & mask;
        tokenSlots[at] = x;
      }
    }
    return id;
  };
  const asCodes = (token: string): Uint16Array => {
    if (token.length > stringCodes.length) stringCodes = new Uint16Array(token.length * 2);
    for (let k = 0; k < token.length; k++) stringCodes[k] = token.charCodeAt(k);
    return stringCodes;
  };
  const tokenId = (token: string): number => internCodes(asCodes(token), 0, token.length);
  const textOf = (token: number): string => {
    let text = tokenText[token];
    if (text === undefined) {
      const start = token === 0 ? 0 : (tokenEnd[token - 1] as number);
      text = String.fromCharCode.apply(null, pool.subarray(start, tokenEnd[token] as number) as unknown as number[]);
      tokenText[token] = text;
    }
    return text;
  };
  const idsOf = (tokens: readonly string[]): number[] => {
    const ids: number[] = new Array<number>(tokens.length);
    for (let k = 0; k < tokens.length; k++) ids[k] = tokenId(tokens[k] as string);
    return sortUnique(ids);
  };
  /** Whether name `name`'s own ids are `list[0, count)`. */
  const sameIds = (name: number, list: readonly number[], count: number): boolean => {
    const record = records[name >>> NAME_CHUNK_BITS] as Int32Array;
    const base = (name & (NAME_CHUNK - 1)) * REC;
    if (record[base + LENGTH] !== count) return false;
    const at = record[base + OWN_FROM] as number;
    const held = chunks[at >>> ID_CHUNK_BITS] as TokenIds;
    const start = at & (ID_CHUNK - 1);
    for (let k = 0; k < count; k++) if (held[start + k] !== list[k]) return false;
    return true;
  };
  /** The name holding exactly `list[0, count)`, or the slot where it would go (as −1 − slot). */
  const find = (list: readonly number[], count: number, hash: number): number => {
    const mask = slots.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const name = slots[at] as number;
      if (name < 0) return -1 - at;
      if ((records[name >>> NAME_CHUNK_BITS] as Int32Array)[(name & (NAME_CHUNK - 1)) * REC + HASH] === hash && sameIds(name, list, count)) return name;
    }
  };

  // Long names of plain words as written, by a hash of their length and LONG_SAMPLES of their
  // characters (open addressing; a hit is compared whole, a memory comparison): a name seen
  // before costs no reading. At most LONG_PROBES slots are looked at; past them the name is
  // read and not remembered, so strings that share their sampled characters cost no more than
  // reading them. The slots hold name ids; a name remembers one text as written (the first),
  // with its hash in its record (no arrays of entries: 32 MB less at 1.3M names).
  let longSlots = new Int32Array(1 << 10).fill(-1);
  const longText: (string | undefined)[] = []; // per name: the text remembered, if any
  let remembered = 0;
  const sampleHash = (text: string): number => {
    const n = text.length;
    let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
    for (let k = 0; k < LONG_SAMPLES; k++) h = Math.imul(h ^ text.charCodeAt(Math.floor((k * n) / LONG_SAMPLES)), 0x01000193);
    h = Math.imul(h ^ text.charCodeAt(n - 1), 0x01000193);
    return h ^ (h >>> 15);
  };
  /** The name of long text `text`, or its free slot as −1 − slot, or NO_SLOT (too many probes). */
  let probedHash = 0; // sampleHash of the last findLong's text
  function findLong(text: string): number {
    const hash = (probedHash = sampleHash(text));
    const mask = longSlots.length - 1;
    let at = hash & mask;
    for (let probes = 0; probes < LONG_PROBES; probes++, at = (at + 1) & mask) {
      const name = longSlots[at] as number;
      if (name < 0) return -1 - at;
      if ((records[name >>> NAME_CHUNK_BITS] as Int32Array)[(name & (NAME_CHUNK - 1)) * REC + LONG_HASH] === hash && longText[name] === text) return name;
    }
    return NO_SLOT;
  }
  /** Remembers the text the last findLong looked for, in the slot it returned, unless its name remembers one already. */
  function rememberLong(text: string, slot: number, name: number): void {
    if (longText[name] !== undefined) return;
    longText[name] = text;
    (records[name >>> NAME_CHUNK_BITS] as Int32Array)[(name & (NAME_CHUNK - 1)) * REC + LONG_HASH] = probedHash;
    longSlots[slot] = name;
    remembered += 1;
    if (remembered * 2 > longSlots.length) {
      longSlots = new Int32Array(grownSlots(longSlots.length, remembered, asked, expected)).fill(-1);
      const mask = longSlots.length - 1;
      for (let x = 0; x < count; x++) {
        if (longText[x] === undefined) continue;
        let at = ((records[x >>> NAME_CHUNK_BITS] as Int32Array)[(x & (NAME_CHUNK - 1)) * REC + LONG_HASH] as number) & mask;
        while ((longSlots[at] as number) >= 0) at = (at + 1) & mask;
        longSlots[at] = x;
      }
    }
  }

  /**
   * The token ids of the words scanSimpleWords read (`words` of them), company suffixes
   * dropped unless every word is one, ascending and unique, into wordIds: returns how many
   * (0: no words).
   */
  function simpleIds(words: number): number {
    if (words === 0) return 0;
    const { codes, ends, hashes: wordHashes } = simpleWordCodes();
    // Collected in a reused array (`new Array(words)` of a size not known when compiled is a
    // runtime call: a quarter of reading a 30-word name), copied into the pool if new.
    const ids = wordIds;
    let suffixes = 0;
    for (let w = 0, from = 0; w < words; from = ends[w] as number, w++) {
      const token = internHashed(codes, from, ends[w] as number, wordHashes[w] as number);
      if (w < ids.length) ids[w] = token;
      else ids.push(token);
      suffixes += tokenSuffix[token] as number;
    }
    let kept = words;
    if (suffixes > 0 && suffixes < words) {
      kept = 0;
      for (let w = 0; w < words; w++) if (tokenSuffix[ids[w] as number] === 0) ids[kept++] = ids[w] as number;
    }
    return sortUniquePrefix(ids, kept);
  }

  function id(raw: string | null): number {
    asked += 1;
    const text = raw ?? '';
    // A long name of plain words is read in one pass, not looked up as written: hashing and
    // comparing a string of 200 characters in a Map cost as much as reading it (30-word names).
    if (text.length >= LONG_RAW) {
      const known = findLong(text);
      if (known >= 0) return known;
      const words = scanSimpleWords(text);
      if (words >= 0) {
        const name = nameOf(wordIds, simpleIds(words), undefined, 0, true);
        if (known !== NO_SLOT) rememberLong(text, -1 - known, name);
        return name;
      }
    }
    const name = byRaw.get(text);
    if (name !== undefined) return name;
    const result = parsed(text, text.length < LONG_RAW);
    // Both fields read on every call: `fast` read only past RAW_CACHE names had no type
    // feedback there, and deoptimised id in every call of a run past 65,536 names.
    const fresh = result.name;
    const fast = result.fast;
    if (byRaw.size < RAW_CACHE || fast < 0 || text.length >= LONG_RAW) byRaw.set(text, fresh);
    return fresh;
  }

  const made = { name: -1, fast: 0 };
  /** A name not remembered as written: its id, and whether the fast path read it (`fast` ≥ 0). */
  function parsed(text: string, plain: boolean): { name: number; fast: number } {
    // Plain words in one pass (unless known not to be); other Latin names by the fast path,
    // as codes interned as they are; other names are parsed in full.
    const words = plain ? scanSimpleWords(text) : -1;
    if (words >= 0) {
      made.fast = words;
      made.name = nameOf(wordIds, simpleIds(words), undefined, 0, true);
      return made;
    }
    const fast = parseFastCodes(text);
    let ownIds: number[] = wordIds;
    let ownCount = 0;
    let latinIds: number[] | undefined;
    let isLatin = true;
    if (fast > 0) {
      const { codes, ends } = fastTokenCodes();
      for (let t = 0, from = 0; t < fast; from = ends[t] as number, t++) {
        const token = internCodes(codes, from, ends[t] as number);
        if (t < ownIds.length) ownIds[t] = token;
        else ownIds.push(token);
      }
      ownCount = sortUniquePrefix(ownIds, fast);
    } else if (fast < 0) {
      const p = parseSlow(text);
      if (p.tokens.length > 0) {
        ownIds = idsOf(p.tokens);
        ownCount = ownIds.length;
        isLatin = p.isLatin;
        if (!isLatin) latinIds = idsOf(p.latin);
      }
    }
    made.fast = fast;
    made.name = nameOf(ownIds, ownCount, latinIds, latinIds === undefined ? 0 : latinIds.length, isLatin);
    return made;
  }

  /**
   * Appends `list[0, count)` to the chunks of ids; returns where it starts (chunk · ID_CHUNK +
   * position). The first chunk grows by doubling up to ID_CHUNK (small runs stay small); then
   * chunks of ID_CHUNK are added (a longer list gets a chunk of its own).
   */
  function store(list: readonly number[], count: number): number {
    if (!wide && tokens > 0x10000) {
      // A token id past 16 bits: every chunk as 32 bits from now on.
      wide = true;
      for (let c = 0; c < chunks.length; c++) chunks[c] = Int32Array.from(chunks[c] as TokenIds);
      chunk = chunks[chunks.length - 1] as TokenIds;
    }
    if (chunkUsed + count > chunk.length) {
      if (chunks.length === 1 && chunkUsed + count <= ID_CHUNK) {
        const bigger = idChunk(Math.min(ID_CHUNK, Math.max(chunk.length * 2, chunkUsed + count)));
        bigger.set(chunk.subarray(0, chunkUsed));
        chunks[0] = chunk = bigger;
      } else {
        chunk = idChunk(Math.max(ID_CHUNK, count));
        chunks.push(chunk);
        chunkUsed = 0;
      }
    }
    const start = chunkUsed;
    for (let k = 0; k < count; k++) chunk[start + k] = list[k] as number;
    chunkUsed += count;
    return (chunks.length - 1) * ID_CHUNK + start;
  }

  function idChunk(length: number): TokenIds {
    return wide ? new Int32Array(length) : new Uint16Array(length);
  }

  /** The record chunk of new name `name`: the first grows by doubling up to NAME_CHUNK names, then chunks of NAME_CHUNK are added. */
  function recordFor(name: number): Int32Array {
    const c = name >>> NAME_CHUNK_BITS;
    if (c === records.length) records.push(new Int32Array(NAME_CHUNK * REC));
    let record = records[c] as Int32Array;
    const need = ((name & (NAME_CHUNK - 1)) + 1) * REC;
    if (record.length < need) {
      const bigger = new Int32Array(Math.min(NAME_CHUNK * REC, record.length * 2));
      bigger.set(record);
      records[c] = record = bigger;
    }
    return record;
  }

  /**
   * The id of the name of token ids `ownIds[0, ownCount)` (ascending, unique; `latinIds`: its
   * transliteration's, for a name that is not Latin), made if new; −1 for none (no ids).
   */
  function nameOf(ownIds: readonly number[], ownCount: number, latinIds: readonly number[] | undefined, latinCount: number, isLatin: boolean): number {
    if (ownCount === 0) return -1;
    const hash = hashIds(ownIds, ownCount);
    let name = find(ownIds, ownCount, hash);
    if (name < 0) {
      const slot = -1 - name;
      name = count++;
      slots[slot] = name;
      keys.push(undefined);
      longText.push(undefined);
      const record = recordFor(name);
      const base = (name & (NAME_CHUNK - 1)) * REC;
      record[base + HASH] = hash;
      record[base + LENGTH] = ownCount;
      const at = store(ownIds, ownCount);
      record[base + OWN_FROM] = at;
      let initial = 0;
      for (let k = 0; k < ownCount; k++) initial |= tokenInitial[ownIds[k] as number] as number;
      if (latinIds === undefined) {
        record[base + LATIN_FROM] = at;
        record[base + LATIN_LENGTH] = ownCount;
      } else {
        record[base + LATIN_FROM] = store(latinIds, latinCount);
        record[base + LATIN_LENGTH] = latinCount;
        for (let k = 0; k < latinCount; k++) initial |= tokenInitial[latinIds[k] as number] as number;
      }
      record[base + FLAGS] = (isLatin ? 1 : 0) | (initial << 1);
      if (count * 2 > slots.length) {
        slots = new Int32Array(grownSlots(slots.length, count, asked, expected)).fill(-1);
        const mask = slots.length - 1;
        for (let x = 0; x < count; x++) {
          let at = ((records[x >>> NAME_CHUNK_BITS] as Int32Array)[(x & (NAME_CHUNK - 1)) * REC + HASH] as number) & mask;
          while ((slots[at] as number) >= 0) at = (at + 1) & mask;
          slots[at] = x;
        }
      }
    }
    return name;
  }

  /**
   * scoreTokens of two names' token id lists (ascending, unique; the same pairs as their
   * sorted token strings): equal ids pair first; only when either name has an initial are the
   * remaining tokens' texts paired (the largest pairing does not depend on their order).
   */
  function scoreIds(aAt: number, aLength: number, bAt: number, bLength: number, initials: boolean): number {
    if (aLength === 0 || bLength === 0) return 0;
    const aIds = chunks[aAt >>> ID_CHUNK_BITS] as TokenIds;
    const aFrom = aAt & (ID_CHUNK - 1);
    const bIds = chunks[bAt >>> ID_CHUNK_BITS] as TokenIds;
    const bFrom = bAt & (ID_CHUNK - 1);
    if (!initials) return overlapScore(aIds, aFrom, aLength, bIds, bFrom, bLength);
    let equal = 0;
    const restA: string[] = [];
    const restB: string[] = [];
    let i = 0;
    let j = 0;
    while (i < aLength || j < bLength) {
      const x = i < aLength ? (aIds[aFrom + i] as number) : -1;
      const y = j < bLength ? (bIds[bFrom + j] as number) : -1;
      if (x >= 0 && x === y) {
        equal += 1;
        i += 1;
        j += 1;
      } else if (y < 0 || (x >= 0 && x < y)) {
        restA.push(textOf(x));
        i += 1;
      } else {
        restB.push(textOf(y));
        j += 1;
      }
    }
    return shareScore(pairedWeight(equal, restA, restB), aLength, bLength);
  }

  /** Score of two names, as scoreParsed computes it. */
  function score(a: number, b: number): number {
    const ra = records[a >>> NAME_CHUNK_BITS] as Int32Array;
    const ba = (a & (NAME_CHUNK - 1)) * REC;
    const rb = records[b >>> NAME_CHUNK_BITS] as Int32Array;
    const bb = (b & (NAME_CHUNK - 1)) * REC;
    const fa = ra[ba + FLAGS] as number;
    const fb = rb[bb + FLAGS] as number;
    const either = ((fa | fb) & 2) !== 0;
    const first = scoreIds(ra[ba + OWN_FROM] as number, ra[ba + LENGTH] as number, rb[bb + OWN_FROM] as number, rb[bb + LENGTH] as number, either);
    if ((fa & 1) === (fb & 1)) return first;
    return Math.max(first, scoreIds(ra[ba + LATIN_FROM] as number, ra[ba + LATIN_LENGTH] as number, rb[bb + LATIN_FROM] as number, rb[bb + LATIN_LENGTH] as number, either));
  }

  /** A name's key: its own tokens sorted (code units) and joined by spaces. */
  function keyOf(name: number): string {
    const at = field(name, OWN_FROM);
    const held = chunks[at >>> ID_CHUNK_BITS] as TokenIds;
    const start = at & (ID_CHUNK - 1);
    const texts: string[] = new Array<string>(field(name, LENGTH));
    for (let k = 0; k < texts.length; k++) texts[k] = textOf(held[start + k] as number);
    return texts.sort().join(' ');
  }

  // Initial tokens ("j.") that begin a word token, by word token id (made when first asked).
  const beginners: (Int32Array | undefined)[] = [];
  function initialsBeginning(token: number): Int32Array {
    // No initial among the run's tokens (full names, long names): none begins any word.
    if (initialTokens === 0) return EMPTY_IDS;
    let list = beginners[token];
    if (list === undefined) {
      const text = textOf(token);
      const found: number[] = [];
      if (!isInitialToken(text)) {
        const codes = prefixCodes;
        const start = token === 0 ? 0 : (tokenEnd[token - 1] as number);
        for (let letters = 1; letters <= MAX_INITIAL && letters < text.length; letters++) {
          // The initial of the word's first `letters` codes: those codes and ".".
          for (let k = 0; k < letters; k++) codes[k] = pool[start + k] as number;
          codes[letters] = 46;
          const initial = findCodes(codes, 0, letters + 1, hashCodes(codes, 0, letters + 1));
          if (initial >= 0) found.push(initial);
        }
      }
      list = found.length === 0 ? EMPTY_IDS : Int32Array.from(found);
      beginners[token] = list;
    }
    return list;
  }

  /** Field `f` of name `name`'s record. */
  function field(name: number, f: number): number {
    return (records[name >>> NAME_CHUNK_BITS] as Int32Array)[(name & (NAME_CHUNK - 1)) * REC + f] as number;
  }

  let shared: ScratchOwner | undefined;
  return {
    id,
    score,
    /** Scratch shared by the amounts of one run, indexed one at a time. */
    scratch: (): ScratchOwner => (shared ??= createScratchOwner()),
    initialsBeginning,
    key: (name: number): string => (keys[name] ??= keyOf(name)),
    isLatin: (name: number) => (field(name, FLAGS) & 1) === 1,
    /**
     * A name's token ids: its own are `ownIds(name)[ownFrom(name), + length(name))`, ascending;
     * its transliteration's `latinIds(name)[latinFrom(name), + latinLength(name))` (valid until
     * a name is added).
     */
    ownIds: (name: number): TokenIds => chunks[field(name, OWN_FROM) >>> ID_CHUNK_BITS] as TokenIds,
    ownFrom: (name: number): number => field(name, OWN_FROM) & (ID_CHUNK - 1),
    /** How many own tokens a name has. */
    length: (name: number): number => field(name, LENGTH),
    latinIds: (name: number): TokenIds => chunks[field(name, LATIN_FROM) >>> ID_CHUNK_BITS] as TokenIds,
    latinFrom: (name: number): number => field(name, LATIN_FROM) & (ID_CHUNK - 1),
    latinLength: (name: number): number => field(name, LATIN_LENGTH),
    /** ownIds, ownFrom and length in token space 0, latinIds, latinFrom and latinLength in space 1. */
    idsIn: (space: 0 | 1, name: number): TokenIds => chunks[field(name, space === 0 ? OWN_FROM : LATIN_FROM) >>> ID_CHUNK_BITS] as TokenIds,
    fromIn: (space: 0 | 1, name: number): number => field(name, space === 0 ? OWN_FROM : LATIN_FROM) & (ID_CHUNK - 1),
    lengthIn: (space: 0 | 1, name: number): number => field(name, space === 0 ? LENGTH : LATIN_LENGTH),
    isInitial: (token: number) => tokenInitial[token] === 1,
    /** Whether any token of the run is an initial (else no word is begun by one). */
    hasInitials: () => initialTokens > 0,
    tokenCount: () => tokens,
    nameCount: () => count,
  };
}

export type NameTable = ReturnType<typeof createNameTable>;

function isInitialToken(token: string): boolean {
  return token.endsWith('.');
}

/** scoreTokens for two names without initials (`aIds[aFrom, + aLength)`, `bIds[bFrom, + bLength)`): shared token ids over both coverages. */
function overlapScore(aIds: TokenIds, aFrom: number, aLength: number, bIds: TokenIds, bFrom: number, bLength: number): number {
  let matched = 0;
  for (let i = 0, j = 0; i < aLength && j < bLength; ) {
    const x = aIds[aFrom + i] as number;
    const y = bIds[bFrom + j] as number;
    if (x === y) {
      matched += 1;
      i += 1;
      j += 1;
    } else if (x < y) i += 1;
    else j += 1;
  }
  return aLength === 0 || bLength === 0 ? 0 : shareScore(matched, aLength, bLength);
}

/**
 * A search's result: `groups[0, count)` scored ≥ the floor, best first (ties by group); and,
 * from a complete search whose floor is below MIN_SCORE, `tail[0, tailCount)`: names left
 * unscored because their pair hits bound their score below MIN_SCORE (`tailBounds`, in no
 * order). Such a name can only be the best of a request that is not found, or a rival of a
 * best under 1 − margin: the matcher scores it only when its bound can change what it
 * decides (same decisions).
 */
export type Found = { groups: Int32Array; scores: Float64Array; count: number; complete: boolean; tail: Int32Array; tailBounds: Float64Array; tailCount: number };

/** Work units of scoring a pair: a merge of both token lists, several times cheaper per step than reading a posting entry. */
function scoreCost(a: number, b: number): number {
  return 1 + ((a + b) >> 2);
}

/** Longest name that can pair with r of a payer's p tokens and still score `floor` (0x7fffffff: any). */
function longestReaching(r: number, p: number, floor: number): number {
  const denominator = 2 * floor - r / p;
  return denominator <= 0 ? 0x7fffffff : Math.floor(r / denominator + 1e-9);
}

/**
 * How many of a payer's p tokens a pair probe for `floor` must take the pairs of, when the
 * names it can find have lo..hi tokens: a name pairing m of the payer's tokens pairs at least
 * m − (p − q) of any q of them, so q = p − m + 2 (two of them, one pair) finds every name
 * pairing the fewest tokens m that can still score `floor` (p when that is two, or when no
 * name can).
 */
export function pairTokensNeeded(p: number, floor: number, lo: number, hi: number): number {
  for (let m = 2; m <= p; m++) {
    // The best a name pairing m tokens can score: with as few tokens as it may have.
    const l = Math.max(lo, m);
    if (l > hi) break;
    if ((m / Math.min(p, l) + m / Math.max(p, l)) / 2 >= floor - 1e-9) return p - m + 2;
  }
  return p;
}

/**
 * Moves the rarest of the tokens `order[i, p)` (least `sizes`, ties by lower token position) to
 * `order[i]` and returns it: after steps 0..i, `order[0, i]` is what sorting all by (size,
 * position) would put there.
 */
function selectRarest(order: Int32Array, sizes: Float64Array, i: number, p: number): number {
  let at = i;
  let best = order[i] as number;
  let size = sizes[best] as number;
  for (let j = i + 1; j < p; j++) {
    const k = order[j] as number;
    const s = sizes[k] as number;
    if (s < size || (s === size && k < best)) {
      at = j;
      best = k;
      size = s;
    }
  }
  order[at] = order[i] as number;
  order[i] = best;
  return best;
}

/** Sorts `order[chosen, p)` by (size, position), its first `chosen` being the rarest already: up to a few dozen by selection, more by one numeric sort. */
function orderRest(order: Int32Array, sizes: Float64Array, chosen: number, p: number): void {
  if (p - chosen <= 40) {
    for (let i = chosen; i < p - 1; i++) selectRarest(order, sizes, i, p);
    return;
  }
  const rest = p - chosen;
  const keyed = new Float64Array(rest);
  for (let c = 0; c < rest; c++) {
    const k = order[chosen + c] as number;
    keyed[c] = (sizes[k] as number) * p + k;
  }
  keyed.sort();
  for (let c = 0; c < rest; c++) order[chosen + c] = (keyed[c] as number) % p;
}

/** Position of `value` in ascending `list[from, to)`, or −1. */
function positionOf(list: Int32Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = list[mid] as number;
    if (at === value) return mid;
    if (at < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Whether ascending `ids[from, + length)` holds `id`. */
function holds(ids: TokenIds, from: number, length: number, id: number): boolean {
  let lo = from;
  let hi = from + length - 1;
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

/** Entries of `lengths[start, end)` a probe reads: all, or those outside 2..PAIR_MAX. */
function readable(lengths: Int32Array, start: number, end: number, skipMiddle: boolean): number {
  if (!skipMiddle) return end - start;
  const middle = lowerBound(lengths, start, end, 2);
  return end - start - (lowerBound(lengths, middle, end, PAIR_MAX + 1) - middle);
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
  /** This postings' mark in the scratch's probe sizes (see Scratch.sizeStamp). */
  stamp: number;
};

function grownInt(list: Int32Array, size: number, fill?: number): Int32Array {
  if (list.length >= size) return list;
  const bigger = new Int32Array(Math.max(size, list.length * 2));
  if (fill !== undefined) bigger.fill(fill);
  bigger.set(list);
  return bigger;
}

function grownFloat(list: Float64Array, size: number): Float64Array {
  if (list.length >= size) return list;
  const bigger = new Float64Array(Math.max(size, list.length * 2));
  bigger.set(list);
  return bigger;
}

function grownBytes(list: Uint8Array<ArrayBuffer>, size: number): Uint8Array<ArrayBuffer> {
  if (list.length >= size) return list;
  const bigger = new Uint8Array(Math.max(size, list.length * 2));
  bigger.set(list);
  return bigger;
}

/** Scratch kept across amounts of one matching run (see Postings). */
type Scratch = {
  exactSlot: Int32Array[];
  begunSlot: Int32Array[];
  slot: Int32Array; // entries per token slot while an amount is indexed
  candidates: Int32Array;
  ranges: Int32Array;
  rangeFrom: Int32Array; // per payer token, where its ranges start in `ranges` (−1: not read yet)
  rangeTo: Int32Array;
  sizes: Float64Array;
  // Per token space and token id, the entries a token's probe ranges hold in the postings
  // whose stamp is in sizeStamp: a payer's rarest tokens are chosen by these sizes, and a
  // search cut short by the budget reads the ranges of only those few (30-word payers looked
  // up every token's ranges, each search).
  sizeStamp: Int32Array[];
  sizeValue: Int32Array[];
  postingsMade: number;
  order: Int32Array;
  foundGroups: Int32Array;
  foundScores: Float64Array;
  // The lists behind the search results, per kind (0: floor FLOOR, 1: any other), which a
  // result views: fresh arrays per search were 2.5 GB of garbage at 1M "María w1 w2".
  resultGroups: Int32Array[];
  resultScores: Float64Array[];
  resultTail: Int32Array[];
  resultBounds: Float64Array[];
  // The results themselves, per kind, rewritten by each search (views and an object per
  // search were a tenth of a 30-word payer's search cut short).
  results: Found[];
  rankStarts: Int32Array; // rankByHits's counting sort
  ranked: Int32Array;
  seen: Int32Array; // an amount's per-group arrays (see createAmountIndex)
  hits: Int32Array;
  groupLength: Int32Array;
  // The arrays behind one amount's postings, reused by the next amount (grown, never shrunk): a
  // fresh set per amount was tens of MB of new typed arrays at 1M, and each ~64 MB of them made
  // V8 run a full collection over the caller's whole heap (30-word names: 0.5 s each).
  lengthOrder: Int32Array;
  postGroups: Int32Array[]; // per token space
  postLengths: Int32Array[];
  memberIds: Int32Array; // an amount's names' token ids, by lengthOrder, while its postings are built
  pairKeys: Float64Array; // pair entries while building (one space at a time)
  pairGroup: Int32Array;
  pairLength: Int32Array;
  pairSlot: Int32Array;
  pairGroups: Int32Array[]; // per token space
  pairLengths: Int32Array[];
  tableKeys: Float64Array[]; // the pair key tables, per token space
  tableValues: Int32Array[];
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
    slot: new Int32Array(1024),
    candidates: new Int32Array(1024),
    ranges: new Int32Array(256),
    rangeFrom: new Int32Array(64),
    rangeTo: new Int32Array(64),
    sizes: new Float64Array(64),
    sizeStamp: [new Int32Array(0), new Int32Array(0)],
    sizeValue: [new Int32Array(0), new Int32Array(0)],
    postingsMade: 0,
    order: new Int32Array(64),
    foundGroups: new Int32Array(256),
    foundScores: new Float64Array(256),
    resultGroups: [new Int32Array(64), new Int32Array(64)],
    resultScores: [new Float64Array(64), new Float64Array(64)],
    resultTail: [new Int32Array(64), new Int32Array(64)],
    resultBounds: [new Float64Array(64), new Float64Array(64)],
    results: [0, 1].map(() => ({ groups: NO_GROUPS, scores: NO_SCORES, count: 0, complete: true, tail: NO_GROUPS, tailBounds: NO_SCORES, tailCount: 0 })),
    rankStarts: new Int32Array(64),
    ranked: new Int32Array(256),
    seen: new Int32Array(1024),
    hits: new Int32Array(1024),
    groupLength: new Int32Array(1024),
    lengthOrder: new Int32Array(1024),
    postGroups: [new Int32Array(1024), new Int32Array(0)],
    postLengths: [new Int32Array(1024), new Int32Array(0)],
    memberIds: new Int32Array(1024),
    pairKeys: new Float64Array(1024),
    pairGroup: new Int32Array(1024),
    pairLength: new Int32Array(1024),
    pairSlot: new Int32Array(1024),
    pairGroups: [new Int32Array(1024), new Int32Array(0)],
    pairLengths: [new Int32Array(1024), new Int32Array(0)],
    tableKeys: [new Float64Array(64), new Float64Array(0)],
    tableValues: [new Int32Array(64), new Int32Array(0)],
  };
}

/**
 * `list` if it holds `size`, else a new one of at least twice its length and a quarter more
 * than `size` (contents not kept): the amounts of a run are of about equal size, and an
 * array made just large enough for the first was doubled for the next one a little larger
 * (27 MB of postings arrays at 1M 30-word names, 13 MB of them for nothing).
 */
function atLeastInt(list: Int32Array, size: number): Int32Array {
  return list.length >= size ? list : new Int32Array(Math.max(size + (size >> 2), list.length * 2));
}
function atLeastFloat(list: Float64Array, size: number): Float64Array {
  return list.length >= size ? list : new Float64Array(Math.max(size + (size >> 2), list.length * 2));
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
    // One counting sort, without a list of entries: the amount's names by length (stable:
    // ascending group within a length), then two passes over their tokens — count each
    // token's entries (giving it a slot when first seen), and after the prefix sums write
    // them. Each token's entries come out by ascending length, then group, as a sort of
    // (token, group, length) entries by length and then by slot would leave them.
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
    let maxLength = 0;
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 1 && names.isLatin(name)) continue;
      const l = names.lengthIn(space, name);
      if (l > maxLength) maxLength = l;
    }
    const byLength = new Int32Array(maxLength + 2);
    let members = 0;
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 1 && names.isLatin(name)) continue;
      const l = names.lengthIn(space, name);
      byLength[l + 1] = (byLength[l + 1] as number) + 1;
      members += 1;
    }
    for (let l = 0; l <= maxLength; l++) byLength[l + 1] = (byLength[l + 1] as number) + (byLength[l] as number);
    const lengthOrder = (scratch.lengthOrder = atLeastInt(scratch.lengthOrder, members));
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 1 && names.isLatin(name)) continue;
      const l = names.lengthIn(space, name);
      lengthOrder[byLength[l] as number] = g;
      byLength[l] = (byLength[l] as number) + 1;
    }
    const touched: number[] = [];
    let slots = 0;
    let counts = scratch.slot; // entries per slot, then where the slot's next entry goes
    /** Counts an entry of `token` in `table` (exact or begun slots), giving it a slot when first seen. */
    const countEntry = (table: Int32Array, token: number): void => {
      let slot = table[token] as number;
      if (slot < 0) {
        slot = slots++;
        table[token] = slot;
        touched.push(token);
        if (slot >= counts.length) counts = scratch.slot = grownInt(counts, slot + 1);
        counts[slot] = 0;
      }
      counts[slot] = (counts[slot] as number) + 1;
    };
    // The names' ids are copied in the order they are counted, so the writing pass reads them
    // in sequence (each name's ids and record were two cache misses a pass at 1M 30-word names).
    const withInitials = names.hasInitials();
    let memberIds = scratch.memberIds;
    let copied = 0;
    let n = 0;
    for (let o = 0; o < members; o++) {
      const name = groupName[lengthOrder[o] as number] as number;
      const tokenIds = names.idsIn(space, name);
      const start = names.fromIn(space, name);
      const end = start + names.lengthIn(space, name);
      if (copied + (end - start) > memberIds.length) memberIds = scratch.memberIds = grownInt(memberIds, copied + (end - start));
      for (let k = start; k < end; k++) {
        const token = tokenIds[k] as number;
        memberIds[copied++] = token;
        countEntry(exactSlot, token);
        n += 1;
        if (!withInitials) continue;
        // A begun entry for each initial that begins the word.
        const beginning = names.initialsBeginning(token);
        for (let b = 0; b < beginning.length; b++) countEntry(begunSlot, beginning[b] as number);
        n += beginning.length;
      }
    }
    const starts = new Int32Array(slots + 1);
    for (let x = 0; x < slots; x++) {
      starts[x + 1] = (starts[x] as number) + (counts[x] as number);
      counts[x] = starts[x] as number;
    }
    const groups = (scratch.postGroups[space] = atLeastInt(scratch.postGroups[space] as Int32Array, n));
    const lengths = (scratch.postLengths[space] = atLeastInt(scratch.postLengths[space] as Int32Array, n));
    // Members come by ascending length: each length's members are byLength's counts apart.
    copied = 0;
    for (let o = 0, l = 0; o < members; o++) {
      while (o >= (byLength[l] as number)) l += 1;
      const g = lengthOrder[o] as number;
      for (let k = 0; k < l; k++) {
        const token = memberIds[copied++] as number;
        let x = exactSlot[token] as number;
        let at = counts[x] as number;
        groups[at] = g;
        lengths[at] = l;
        counts[x] = at + 1;
        if (!withInitials) continue;
        const beginning = names.initialsBeginning(token);
        for (let b = 0; b < beginning.length; b++) {
          x = begunSlot[beginning[b] as number] as number;
          at = counts[x] as number;
          groups[at] = g;
          lengths[at] = l;
          counts[x] = at + 1;
        }
      }
    }
    if ((scratch.sizeStamp[space] as Int32Array).length < tokenCount) {
      scratch.sizeStamp[space] = grownInt(scratch.sizeStamp[space] as Int32Array, tokenCount);
      scratch.sizeValue[space] = grownInt(scratch.sizeValue[space] as Int32Array, tokenCount);
    }
    scratch.postingsMade += 1;
    return { exactSlot, begunSlot, starts, groups, lengths, touched, stamp: scratch.postingsMade };
  };
  // The previous amount's slots are cleared before this one's are set.
  release(owner);
  const own = build(0);
  let latin: Postings | undefined;
  let hasNonLatin = false;
  for (let g = from; g < to; g++) if (!names.isLatin(groupName[g] as number)) hasNonLatin = true;
  owner.held.push(own);
  // Per group of the amount, in the run's scratch (an amount's three arrays were 10 MB of new
  // array buffers over the 20 amounts of 1M long names).
  scratch.seen = atLeastInt(scratch.seen, to - from);
  scratch.hits = atLeastInt(scratch.hits, to - from);
  scratch.groupLength = atLeastInt(scratch.groupLength, to - from);
  const seen = scratch.seen.fill(0, 0, to - from);
  const hits = scratch.hits; // payer tokens a candidate pairs with, as far as probed (set when first seen)
  // Own token counts of the amount's names, beside seen and hits (names.length reads a table of
  // every name of the run, a cache miss per candidate).
  const groupLength = scratch.groupLength;
  // Whether every name has 2..PAIR_MAX words: then a payer of as many words finds all it can
  // through the pair postings, and its word-postings probe (which skips those lengths) is not made.
  let middleOnly = true;
  for (let g = from; g < to; g++) {
    const l = names.length(groupName[g] as number);
    groupLength[g - from] = l;
    if (l < 2 || l > PAIR_MAX) middleOnly = false;
  }
  let stamp = 0;
  let candidateCount = 0;
  // Payer tokens the last pair probe left out (see pairTokensNeeded): a name's pair hits then
  // bound the tokens it pairs with those probed, and it may pair this many more.
  let pairSlack = 0;

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

  /** Adds the groups of `entries[start, end)` not yet seen to scratch.candidates, counting hits. */
  function addEntries(entries: Int32Array, start: number, end: number): void {
    if (candidateCount + (end - start) > scratch.candidates.length) scratch.candidates = grownInt(scratch.candidates, candidateCount + (end - start));
    const candidates = scratch.candidates;
    for (let e = start; e < end; e++) {
      const g = entries[e] as number;
      if (seen[g - from] !== stamp) {
        seen[g - from] = stamp;
        hits[g - from] = 1;
        candidates[candidateCount++] = g;
      } else hits[g - from] = (hits[g - from] as number) + 1;
    }
  }

  // Forms of a token: 2·t for the token itself, 2·i + 1 for "a word begun by initial i".
  // An indexed word w is held under 2w and 2i + 1 for each initial i that begins it; an
  // indexed initial i under 2i. A payer word w probes 2w and 2i (the initials that begin it);
  // a payer initial i probes 2i and 2i + 1. Two tokens pair (equal, or an initial and a word
  // it begins) exactly when a probe form of one is an index form of the other.
  const formCount = 2 * tokenCount;
  function indexForms(token: number, into: number[]): void {
    into.length = 0;
    into.push(2 * token);
    if (names.isInitial(token)) return;
    const beginning = names.initialsBeginning(token);
    for (let b = 0; b < beginning.length; b++) into.push(2 * (beginning[b] as number) + 1);
  }
  /** Probe forms of `token` into `into`; returns how many. */
  function probeForms(token: number, into: Int32Array): number {
    into[0] = 2 * token;
    if (names.isInitial(token)) {
      into[1] = 2 * token + 1;
      return 2;
    }
    const beginning = names.initialsBeginning(token);
    for (let b = 0; b < beginning.length; b++) into[1 + b] = 2 * (beginning[b] as number);
    return 1 + beginning.length;
  }
  const pairKey = (f1: number, f2: number) => (f1 < f2 ? f1 * formCount + f2 : f2 * formCount + f1);

  /** Pair postings of one token space: for each pair of forms, the groups of 2..PAIR_MAX words holding it, by ascending length. */
  type PairPostings = { slotOf: KeyTable; starts: Int32Array; groups: Int32Array; lengths: Int32Array };
  const pairPostings: (PairPostings | undefined)[] = [undefined, undefined];
  function buildPairs(space: 0 | 1): PairPostings {
    let keys = scratch.pairKeys;
    let entryGroup = scratch.pairGroup;
    let entryLength = scratch.pairLength;
    let n = 0;
    const formsOf: number[][] = [];
    for (let k = 0; k <= PAIR_MAX; k++) formsOf.push([]);
    let maxLength = 0;
    for (let g = from; g < to; g++) {
      const name = groupName[g] as number;
      if (space === 1 && names.isLatin(name)) continue;
      const tokenIds = names.idsIn(space, name);
      const start = names.fromIn(space, name);
      const l = names.lengthIn(space, name);
      if (l < 2 || l > PAIR_MAX) continue;
      if (l > maxLength) maxLength = l;
      for (let k = 0; k < l; k++) indexForms(tokenIds[start + k] as number, formsOf[k] as number[]);
      for (let a = 0; a < l; a++) {
        const fa = formsOf[a] as number[];
        for (let b = a + 1; b < l; b++) {
          const fb = formsOf[b] as number[];
          for (let x = 0; x < fa.length; x++) {
            for (let y = 0; y < fb.length; y++) {
              if (n === keys.length) {
                const more = new Float64Array(n * 2);
                more.set(keys);
                keys = scratch.pairKeys = more;
                entryGroup = scratch.pairGroup = grownInt(entryGroup, n * 2);
                entryLength = scratch.pairLength = grownInt(entryLength, n * 2);
              }
              keys[n] = pairKey(fa[x] as number, fb[y] as number);
              entryGroup[n] = g;
              entryLength[n] = l;
              n += 1;
            }
          }
        }
      }
    }
    const slotOf = createKeyTable(n, scratch, space);
    const slot = (scratch.pairSlot = atLeastInt(scratch.pairSlot, n));
    for (let e = 0; e < n; e++) slot[e] = slotOf.add(keys[e] as number);
    const slots = slotOf.size();
    // Counting sort by length, then (stable) by slot.
    const byLength = new Int32Array(maxLength + 2);
    for (let e = 0; e < n; e++) byLength[(entryLength[e] as number) + 1] = (byLength[(entryLength[e] as number) + 1] as number) + 1;
    for (let l = 0; l <= maxLength; l++) byLength[l + 1] = (byLength[l + 1] as number) + (byLength[l] as number);
    const lengthOrder = (scratch.lengthOrder = atLeastInt(scratch.lengthOrder, n));
    for (let e = 0; e < n; e++) {
      const l = entryLength[e] as number;
      lengthOrder[byLength[l] as number] = e;
      byLength[l] = (byLength[l] as number) + 1;
    }
    const starts = new Int32Array(slots + 1);
    for (let e = 0; e < n; e++) starts[(slot[e] as number) + 1] = (starts[(slot[e] as number) + 1] as number) + 1;
    for (let x = 0; x < slots; x++) starts[x + 1] = (starts[x + 1] as number) + (starts[x] as number);
    const fill = starts.slice(0, slots);
    const groups = (scratch.pairGroups[space] = atLeastInt(scratch.pairGroups[space] as Int32Array, n));
    const lengths = (scratch.pairLengths[space] = atLeastInt(scratch.pairLengths[space] as Int32Array, n));
    for (let o = 0; o < n; o++) {
      const e = lengthOrder[o] as number;
      const x = slot[e] as number;
      const at = fill[x] as number;
      groups[at] = entryGroup[e] as number;
      lengths[at] = entryLength[e] as number;
      fill[x] = at + 1;
    }
    return { slotOf, starts, groups, lengths };
  }

  // Probe forms of two payer tokens: a word has itself and at most MAX_INITIAL initials.
  const probeA = new Int32Array(MAX_INITIAL + 2);
  const probeB = new Int32Array(MAX_INITIAL + 2);
  const pairPick = new Int32Array(PAIR_MAX); // positions of the payer tokens whose pairs are probed
  const pairSize = new Float64Array(PAIR_MAX);
  /**
   * Adds to scratch.candidates every group of 2..PAIR_MAX words not yet seen that pairs two
   * of its words with two of the payer's tokens `tokenIds[tokensFrom, + p)` (2..PAIR_MAX of
   * them) and whose length can reach `floor` — with `fewest`, through the pairs of only some
   * of the payer's tokens (pairSlack tells how many were left out).
   */
  function pairProbe(space: 0 | 1, tokenIds: TokenIds, tokensFrom: number, p: number, floor: number, fewest: boolean): void {
    pairSlack = 0;
    const postings = (pairPostings[space] ??= buildPairs(space));
    if (postings.slotOf.size() === 0) return;
    const eps = 1e-9;
    const lo = Math.max(2, Math.ceil(p * (2 * floor - 1) - eps));
    const hi = Math.min(PAIR_MAX, Math.floor(p / (2 * floor - 1) + eps));
    if (lo > hi) return;
    // Asked (`fewest`, one token space), the pairs of only as many tokens as the floor needs,
    // the rarest by their word entries (any as many would find the same names): a search for
    // 0.85 by a three-word payer reads one pair's names, not three ("María w1" is held by
    // every "María w1 …" of the amount).
    const q = fewest ? pairTokensNeeded(p, floor, lo, hi) : p;
    for (let k = 0; k < p; k++) pairPick[k] = k;
    if (q < p) {
      for (let k = 0; k < p; k++) {
        const token = tokenIds[tokensFrom + k] as number;
        const slot = token < own.exactSlot.length ? (own.exactSlot[token] as number) : -1;
        pairSize[k] = slot < 0 ? 0 : (own.starts[slot + 1] as number) - (own.starts[slot] as number);
      }
      for (let i = 0; i < q; i++) selectRarest(pairPick, pairSize, i, p);
      pairSlack = p - q;
    }
    for (let a = 0; a < q; a++) {
      const formsA = probeForms(tokenIds[tokensFrom + (pairPick[a] as number)] as number, probeA);
      for (let b = a + 1; b < q; b++) {
        const formsB = probeForms(tokenIds[tokensFrom + (pairPick[b] as number)] as number, probeB);
        for (let x = 0; x < formsA; x++) {
          for (let y = 0; y < formsB; y++) {
            const slot = postings.slotOf.get(pairKey(probeA[x] as number, probeB[y] as number));
            if (slot < 0) continue;
            const rangeEnd = postings.starts[slot + 1] as number;
            const start = lowerBound(postings.lengths, postings.starts[slot] as number, rangeEnd, lo);
            const end = lowerBound(postings.lengths, start, rangeEnd, hi + 1);
            addEntries(postings.groups, start, end);
          }
        }
      }
    }
  }

  /** The group of name `name` in this amount, or −1. */
  function groupOf(name: number): number {
    return positionOf(groupName, from, to, name);
  }

  /**
   * Adds to scratch.candidates every group not yet seen whose name could score ≥ floor
   * against the payer tokens `tokenIds[tokensFrom, + p)` in this space. Returns the work done,
   * or −1 past `budget`.
   */
  function probe(postings: Postings, space: 0 | 1, tokenIds: TokenIds, tokensFrom: number, p: number, budget: number, counting: boolean, floor: number, skipMiddle = false): number {
    if (p === 0) return 0;
    if (p + 1 > scratch.rangeFrom.length) {
      scratch.rangeFrom = new Int32Array(p * 2 + 2);
      scratch.rangeTo = new Int32Array(p * 2 + 2);
      scratch.sizes = new Float64Array(p * 2 + 2);
      scratch.order = new Int32Array(p * 2 + 2);
    }
    const { rangeFrom, rangeTo, sizes, order } = scratch;
    const sizeStamp = scratch.sizeStamp[space] as Int32Array;
    const sizeValue = scratch.sizeValue[space] as Int32Array;
    let at = 0; // ranges read so far, in scratch.ranges
    // Rarest first, ties by position. The RAREST_KEPT rarest are kept in order as the sizes
    // are read; further tokens are chosen one at a time while the planned work below is added
    // up (a search past the budget stops after a few of them: a 30-word payer name sorted
    // whole cost more than its probe); the rest are sorted only when the probe goes on (see
    // orderRest).
    let rarest = 0; // order[0, rarest): the rarest tokens so far, by (size, position)
    for (let k = 0; k < p; k++) {
      const token = tokenIds[tokensFrom + k] as number;
      rangeFrom[k] = -1;
      let size: number;
      if (token < sizeStamp.length && sizeStamp[token] === postings.stamp) size = sizeValue[token] as number;
      else {
        // Read into the free part of scratch.ranges, not kept: only the tokens probed keep theirs.
        const end = addRanges(postings, token, 0);
        size = 0;
        for (let x = 0; x < end; x += 2) size += (scratch.ranges[x + 1] as number) - (scratch.ranges[x] as number);
        if (token < sizeStamp.length) {
          sizeStamp[token] = postings.stamp;
          sizeValue[token] = size;
        }
      }
      sizes[k] = size;
      // Later positions lose ties: a token goes before the kept ones strictly rarer than it.
      if (rarest === RAREST_KEPT && size >= (sizes[order[rarest - 1] as number] as number)) continue;
      let j = rarest < RAREST_KEPT ? rarest++ : rarest - 1;
      while (j > 0 && size < (sizes[order[j - 1] as number] as number)) {
        order[j] = order[j - 1] as number;
        j -= 1;
      }
      order[j] = k;
    }
    // Then the other positions, in any order (selectRarest and orderRest order them).
    for (let k = 0, next = rarest; k < p; k++) {
      let kept = false;
      for (let j = 0; j < rarest && !kept; j++) kept = order[j] === k;
      if (!kept) order[next++] = k;
    }
    let ranges = scratch.ranges;
    let work = p;
    const eps = 1e-9;
    const lo = Math.max(1, Math.ceil(p * (2 * floor - 1) - eps));
    const widest = longestReaching(p, p, floor);
    const lengths = postings.lengths;
    // What the probe below will read at least, known from the postings' bounds alone: past
    // the budget, stop before reading any of it (names of many words from a small vocabulary).
    let planned = work;
    let chosen = 0; // order[0, chosen) holds the rarest tokens, in order
    for (let i = 0; i < p; i++) {
      const r = p - i;
      const fresh = lo <= r ? longestReaching(r, p, floor) : lo - 1;
      if (fresh < lo) break;
      const k = i < rarest ? (order[i] as number) : selectRarest(order, sizes, i, p);
      chosen = i + 1;
      rangeFrom[k] = at;
      at = addRanges(postings, tokenIds[tokensFrom + k] as number, at);
      rangeTo[k] = at;
      ranges = scratch.ranges;
      for (let x = rangeFrom[k] as number; x < (rangeTo[k] as number); x += 2) {
        const rangeEnd = ranges[x + 1] as number;
        const start = lowerBound(lengths, ranges[x] as number, rangeEnd, lo);
        const end = fresh >= 0x7fffffff ? rangeEnd : lowerBound(lengths, start, rangeEnd, fresh + 1);
        planned += 2 + readable(lengths, start, end, skipMiddle);
      }
      if (planned > budget) return -1;
    }
    orderRest(order, sizes, chosen, p);
    for (let i = 0; i < p; i++) {
      // A name not found by the tokens probed so far pairs with at most r of the payer's
      // tokens, so only lengths [lo, fresh] can bring new candidates.
      const r = p - i;
      const fresh = lo <= r ? longestReaching(r, p, floor) : lo - 1;
      if (fresh < lo && (!counting || candidateCount === 0)) break;
      const k = order[i] as number;
      const token = tokenIds[tokensFrom + k] as number;
      if ((rangeFrom[k] as number) < 0) {
        rangeFrom[k] = at;
        at = addRanges(postings, token, at);
        rangeTo[k] = at;
        ranges = scratch.ranges;
      }
      let longer = 0; // entries of longer names (already candidates, if ever): counted, never new
      for (let x = rangeFrom[k] as number; x < (rangeTo[k] as number); x += 2) {
        const rangeEnd = ranges[x + 1] as number;
        const start = lowerBound(lengths, ranges[x] as number, rangeEnd, lo);
        const end = fresh >= 0x7fffffff ? rangeEnd : lowerBound(lengths, start, rangeEnd, fresh + 1);
        if (counting) longer += (widest >= 0x7fffffff ? rangeEnd : lowerBound(lengths, end, rangeEnd, widest + 1)) - end;
        work += 2 + readable(lengths, start, end, skipMiddle);
        if (work > budget) return -1;
        // Names of 2..PAIR_MAX words are left to the pair postings when asked.
        const middle = skipMiddle ? lowerBound(lengths, start, end, 2) : end;
        const after = skipMiddle ? lowerBound(lengths, middle, end, PAIR_MAX + 1) : end;
        addEntries(postings.groups, start, middle);
        addEntries(postings.groups, after, end);
      }
      if (!counting || candidateCount === 0 || longer === 0) continue;
      // Count this token for the candidates longer than `fresh`: by walking those entries, or
      // by looking the token up in each candidate, whichever is less work.
      if (longer <= candidateCount) {
        work += longer;
        if (work > budget) return -1;
        for (let x = rangeFrom[k] as number; x < (rangeTo[k] as number); x += 2) {
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
          const name = groupName[g] as number;
          const tokenIds = names.idsIn(space, name);
          const heldFrom = names.fromIn(space, name);
          const held = names.lengthIn(space, name);
          if (held <= fresh) continue; // counted above
          // An initial may pair with many words: counted as if it did (an upper bound).
          let pairs = initial || holds(tokenIds, heldFrom, held, token);
          for (let b = 0; !pairs && b < beginning.length; b++) pairs = holds(tokenIds, heldFrom, held, beginning[b] as number);
          if (pairs) hits[g - from] = (hits[g - from] as number) + 1;
        }
      }
    }
    return work;
  }

  /** Orders scratch.candidates by hits, most first (counting sort; stable). */
  function rankByHits(): void {
    if (candidateCount < 2) return;
    const candidates = scratch.candidates;
    let most = 0;
    for (let c = 0; c < candidateCount; c++) most = Math.max(most, hits[(candidates[c] as number) - from] as number);
    // Scratch arrays of the run (a search cut short ranks its candidates each time).
    const starts = (scratch.rankStarts = atLeastInt(scratch.rankStarts, most + 2));
    starts.fill(0, 0, most + 2);
    for (let c = 0; c < candidateCount; c++) {
      const h = most - (hits[(candidates[c] as number) - from] as number);
      starts[h + 1] = (starts[h + 1] as number) + 1;
    }
    for (let h = 0; h <= most; h++) starts[h + 1] = (starts[h + 1] as number) + (starts[h] as number);
    const ranked = (scratch.ranked = atLeastInt(scratch.ranked, candidateCount));
    for (let c = 0; c < candidateCount; c++) {
      const g = candidates[c] as number;
      const h = most - (hits[g - from] as number);
      ranked[starts[h] as number] = g;
      starts[h] = (starts[h] as number) + 1;
    }
    for (let c = 0; c < candidateCount; c++) candidates[c] = ranked[c] as number;
  }

  /**
   * Probes one token space for payer tokens `tokenIds[tokensFrom, + p)`: a payer of
   * 2..PAIR_MAX words through the pair postings first, then the word postings for the other lengths.
   */
  function look(space: 0 | 1, postings: Postings, tokenIds: TokenIds, tokensFrom: number, p: number, budget: number, counting: boolean, floor: number): number {
    if (p >= 2 && p <= PAIR_MAX) {
      pairProbe(space, tokenIds, tokensFrom, p, floor, counting && middleOnly);
      // With one token space (`counting`), the work done is only compared with the budget,
      // which a probe of at most PAIR_MAX tokens over no readable entries never reaches.
      if (counting && middleOnly) return 0;
      return probe(postings, space, tokenIds, tokensFrom, p, budget, false, floor, true);
    }
    return probe(postings, space, tokenIds, tokensFrom, p, budget, counting, floor);
  }

  /**
   * The groups scoring ≥ `floor` (FLOOR unless said) against payer name `payer`, best first
   * (ties by group). The result and its lists are the run's scratch, one set for floor FLOOR
   * and one for every other floor, rewritten by each search: a result is valid until the next
   * search of its kind in the run (the matcher keeps one of each, for the payer being walked).
   */
  function search(payer: number, floor = FLOOR): Found {
    stamp += 1;
    candidateCount = 0;
    pairSlack = 0;
    // The payer's token ids, read where the name table keeps them (valid: no name is added while matching).
    const tokenIds = names.ownIds(payer);
    const payerFrom = names.ownFrom(payer);
    const p = names.length(payer);
    // One token space only (the common case): the counts bound each candidate's score, and
    // those that cannot reach the floor are not scored. A payer name of 2..PAIR_MAX words
    // finds the names of 2..PAIR_MAX words through the pair postings (exact, no budget), and
    // only the others (one word, or more than PAIR_MAX) through the word postings.
    const oneSpace = names.isLatin(payer) && !hasNonLatin;
    // (No closure made per search: tsx names every closure it creates, a property write each time.)
    const paired = p >= 2 && p <= PAIR_MAX;
    let work = look(0, own, tokenIds, payerFrom, p, SEARCH_BUDGET, oneSpace, floor);
    if (work >= 0 && names.isLatin(payer)) {
      if (hasNonLatin) {
        if (!latin) {
          latin = build(1);
          owner.held.push(latin);
        }
        const more = look(1, latin, tokenIds, payerFrom, p, SEARCH_BUDGET - work, false, floor);
        work = more < 0 ? -1 : work + more;
      }
    } else if (work >= 0) {
      const more = look(0, own, names.latinIds(payer), names.latinFrom(payer), names.latinLength(payer), SEARCH_BUDGET - work, false, floor);
      work = more < 0 ? -1 : work + more;
    }
    if (work >= 0 && oneSpace && !paired) {
      // Keep the candidates whose counted pairs could reach the floor.
      let kept = 0;
      const candidates = scratch.candidates;
      for (let c = 0; c < candidateCount; c++) {
        const g = candidates[c] as number;
        const l = groupLength[g - from] as number;
        const w = Math.min(hits[g - from] as number, l, p);
        if ((w / Math.min(p, l) + w / Math.max(p, l)) / 2 >= floor - 1e-9) candidates[kept++] = g;
      }
      candidateCount = kept;
    }
    const complete = work >= 0;
    if (!complete) {
      // Cut short: the names sharing most words with the payer are scored first, within the
      // budget, and the payer's own name (if this amount holds it) always.
      const exact = groupOf(payer);
      if (exact >= 0 && seen[exact - from] !== stamp) {
        seen[exact - from] = stamp;
        hits[exact - from] = 0;
        if (candidateCount === scratch.candidates.length) scratch.candidates = grownInt(scratch.candidates, candidateCount + 1);
        scratch.candidates[candidateCount++] = exact;
      }
      rankByHits();
      if (exact >= 0) {
        const candidates = scratch.candidates;
        let at = 0;
        while (candidates[at] !== exact) at++;
        for (; at > 0; at--) candidates[at] = candidates[at - 1] as number;
        candidates[0] = exact;
      }
    }
    // A complete search scores every candidate it found (each can reach the floor by its
    // length and pairs); one cut short, within the budget.
    work = 0;
    let count = 0;
    const candidates = scratch.candidates;
    if (scratch.foundGroups.length < candidateCount) {
      scratch.foundGroups = new Int32Array(candidateCount * 2);
      scratch.foundScores = new Float64Array(candidateCount * 2);
    }
    const foundGroups = scratch.foundGroups;
    const foundScores = scratch.foundScores;
    // Pair hits bound a score: a name of 2..PAIR_MAX words that pairs m of its words with the
    // payer's is in at least m(m − 1)/2 of the pair postings probed, and nowhere else (the word
    // postings skip those lengths), so hits h allow at most the largest m with m(m − 1)/2 ≤ h.
    // A name sharing two words of three with the payer (one hit: at most 0.67) is not scored
    // by a search for 0.85. One token space only: with two, the hits of both add up.
    const pairBound = complete && oneSpace && paired;
    // Below the minimum, names whose bound is under it are left unscored for the matcher
    // (their count grows with the amount's names: every "María w1 …" shares two words).
    const lazy = floor < MIN_SCORE;
    const kind = floor === FLOOR ? 0 : 1;
    let tail = scratch.resultTail[kind] as Int32Array;
    let tailBounds = scratch.resultBounds[kind] as Float64Array;
    let tailCount = 0;
    for (let c = 0; c < candidateCount; c++) {
      const g = candidates[c] as number;
      if (!complete) {
        work += scoreCost(p, groupLength[g - from] as number);
        if (work > SEARCH_BUDGET && c > 0) break;
      }
      if (pairBound) {
        const l = groupLength[g - from] as number;
        if (l >= 2 && l <= PAIR_MAX) {
          const m = Math.min(Math.floor((1 + Math.sqrt(1 + 8 * (hits[g - from] as number))) / 2 + 1e-9) + pairSlack, l, p);
          const bound = (m / Math.min(p, l) + m / Math.max(p, l)) / 2;
          if (bound < floor - 1e-9) continue;
          if (lazy && bound < MIN_SCORE - 1e-6) {
            if (tailCount === tail.length) {
              tail = scratch.resultTail[kind] = grownInt(tail, tailCount + 1);
              tailBounds = scratch.resultBounds[kind] = grownFloat(tailBounds, tailCount + 1);
            }
            tail[tailCount] = g;
            tailBounds[tailCount] = bound;
            tailCount += 1;
            continue;
          }
        }
      }
      const score = names.score(payer, groupName[g] as number);
      if (score < floor) continue;
      foundGroups[count] = g;
      foundScores[count] = score;
      count += 1;
    }
    // By score (desc), then group (asc): by insertion while few (the usual case: a sort call
    // costs more than the few moves). The matcher orders the names it keeps of equal score by
    // name key (only an ambiguous request needs that order: most never do).
    const result = scratch.results[kind] as Found;
    result.complete = complete;
    result.tail = tail;
    result.tailBounds = tailBounds;
    result.tailCount = tailCount;
    result.count = count;
    if (count === 0) return result;
    if ((scratch.resultGroups[kind] as Int32Array).length < count) {
      scratch.resultGroups[kind] = new Int32Array(count * 2);
      scratch.resultScores[kind] = new Float64Array(count * 2);
    }
    const groups = scratch.resultGroups[kind] as Int32Array;
    const scores = scratch.resultScores[kind] as Float64Array;
    if (count <= 16) {
      for (let c = 0; c < count; c++) {
        const g = foundGroups[c] as number;
        const sc = foundScores[c] as number;
        let j = c - 1;
        while (j >= 0 && before(g, sc, groups[j] as number, scores[j] as number)) {
          groups[j + 1] = groups[j] as number;
          scores[j + 1] = scores[j] as number;
          j -= 1;
        }
        groups[j + 1] = g;
        scores[j + 1] = sc;
      }
    } else {
      const ranked: number[] = new Array<number>(count);
      for (let c = 0; c < count; c++) ranked[c] = c;
      ranked.sort((x, y) => (before(foundGroups[x] as number, foundScores[x] as number, foundGroups[y] as number, foundScores[y] as number) ? -1 : 1));
      for (let c = 0; c < count; c++) {
        groups[c] = foundGroups[ranked[c] as number] as number;
        scores[c] = foundScores[ranked[c] as number] as number;
      }
    }
    result.groups = groups;
    result.scores = scores;
    return result;
  }

  return { search, groupOf };
}

export type AmountIndex = ReturnType<typeof createAmountIndex>;

/** Score (desc), then group (asc). */
function before(gx: number, sx: number, gy: number, sy: number): boolean {
  return sx !== sy ? sx > sy : gx < gy;
}

/**
 * Dense slots for non-negative safe-integer keys, by open addressing in typed arrays (a Map of
 * numbers boxes the keys past 31 bits and chases pointers; this reads two flat arrays).
 */
type KeyTable = { add: (key: number) => number; get: (key: number) => number; size: () => number };

function createKeyTable(expected: number, scratch: Scratch, space: 0 | 1): KeyTable {
  let capacity = 16;
  while (capacity < expected * 2) capacity *= 2;
  const mask = capacity - 1;
  // The arrays of the previous amount's table, when large enough (see Scratch).
  scratch.tableKeys[space] = atLeastFloat(scratch.tableKeys[space] as Float64Array, capacity);
  scratch.tableValues[space] = atLeastInt(scratch.tableValues[space] as Int32Array, capacity);
  const keys = (scratch.tableKeys[space] as Float64Array).subarray(0, capacity).fill(-1);
  const values = scratch.tableValues[space] as Int32Array;
  let size = 0;
  const hash = (key: number): number => {
    const low = key >>> 0;
    const high = Math.floor(key / 4294967296);
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    return Math.imul(h, 0xc2b2ae35) ^ (h >>> 16);
  };
  return {
    add(key: number): number {
      for (let at = hash(key) & mask; ; at = (at + 1) & mask) {
        const held = keys[at] as number;
        if (held === key) return values[at] as number;
        if (held < 0) {
          keys[at] = key;
          values[at] = size;
          return size++;
        }
      }
    },
    get(key: number): number {
      for (let at = hash(key) & mask; ; at = (at + 1) & mask) {
        const held = keys[at] as number;
        if (held === key) return values[at] as number;
        if (held < 0) return -1;
      }
    },
    size: () => size,
  };
}

