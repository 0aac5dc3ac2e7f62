import { createAmountIndex, createNameTable, FLOOR, PAIR_MAX, SEARCH_BUDGET, TOP_FLOOR, type AmountIndex, type Found, type NameTable } from './name-search.js';
import { CLEAR_MARGIN, MIN_SCORE, scoreNames } from './names.js';
import { findReferences } from './references.js';
import { appendTo } from '../domain/collections.js';

/**
 * The matching engine (SPEC §4), pure: open requests against the account's unused bank
 * transactions. A candidate has exactly the same amount (integer minor units) and currency
 * (case-insensitive), and was received no more than 5 days before the request was
 * registered (any time after is fine). Among candidates the sender's name decides
 * (src/reconcile/names.ts): one clear best → matched; several without a clear margin, or
 * one transaction that is the clear best of two requests → ambiguous (never pick); nothing
 * at or above the minimum score → not_found. Same input, same output.
 *
 * Cost grows with the sizes, not their product. Both sides are radix-sorted by (currency,
 * amount) and walked together (no hash lookups per item); within an amount, transactions are
 * grouped by normalised sender name, newest first. An amount with few sender names is scanned
 * pair by pair; one with many is searched through its name index (name-search.ts: word-pair
 * lists for names of 2–6 words, exact; word lists, bounded, for the rest), once per distinct
 * payer name and amount. Requests
 * are evaluated in amount order for locality and decided into typed arrays; the decision
 * objects are built at the end, and requests with the same candidates share one list.
 * test/reconcile/matcher-reference.test.ts checks all of it against a plain reading of the rules.
 */

export const WINDOW_MS = 5 * 24 * 60 * 60 * 1000;

/** `externalId`: the customer's id of the order, looked for in transactions' reference text. */
export type MatchRequest = { id: string; amountMinor: number; currency: string; name: string | null; registeredAtMs: number; externalId?: string | null };
/** `reference`: the movement's reference text (remittance information, end-to-end id, description), if any. */
export type MatchTransaction = { id: string; amountMinor: number; currency: string; senderName: string | null; receivedAtMs: number; reference?: string | null };

/**
 * What a decision rests on, for callers to show: the external id found in the transaction's
 * reference text (null when the names decided), and the name score of the matched
 * transaction, or the best one considered (null when no name was scored).
 */
export type MatchEvidence = { readonly reference: string | null; readonly nameScore: number | null };

export type MatchDecision =
  | { requestId: string; result: 'matched'; transactionId: string; score: number; reason: string; evidence?: MatchEvidence }
  | { requestId: string; result: 'ambiguous'; candidates: readonly string[]; reason: string; evidence?: MatchEvidence }
  | { requestId: string; result: 'not_found'; reason: string; evidence?: MatchEvidence };

/**
 * Candidates recorded for an ambiguous request (the count is in the reason). Past this many,
 * which ones are recorded follows the input's order.
 */
export const MAX_RECORDED_CANDIDATES = 10;

/**
 * The large typed arrays of one call, each buffer reused once released. V8 starts a full
 * collection of the caller's whole heap (the input objects: ~320 MB at 1M × 1M, 0.3–0.6 s a
 * time) whenever live array buffers grow 64 MB past their level at the last one; a call that
 * allocated ~200 MB of arrays phase after phase ran two. Reused, they stay at what one phase
 * holds at a time. Only arrays under 4 KB are allocated as usual, so that a warm-up on small
 * inputs runs the reuse path too (code first run on a large input deoptimises its callers:
 * with a 64 KB floor, 100k × 100k took twice as long). Buffers live for the call only.
 */
const ARENA_MIN_BYTES = 1 << 12;

/**
 * An arena is the list of its released buffers, and its operations plain module functions:
 * closures made per call were new call targets each call, and optimised code that had
 * inlined one call's `ints` deoptimised on the next ("wrong call target"); the walk's
 * function is large, and its re-optimisation (60–180 ms of compiling on a shared core) then
 * fell, or not, into the caller's next call.
 */
type Arena = ArrayBuffer[];

/**
 * Every arena starts with this (never reused: too small), so that its array holds objects
 * from the start: an empty `[]` is an array of small integers until the first push, and the
 * arena's reads saw two element kinds each call ("wrong map").
 */
const NO_BUFFER = new ArrayBuffer(0);

function createArena(): Arena {
  return [NO_BUFFER];
}

function arenaInts(arena: Arena, length: number): Int32Array {
  if (length * 4 < ARENA_MIN_BYTES) return new Int32Array(length);
  const buffer = reuse(arena, length * 4);
  return buffer ? new Int32Array(buffer, 0, length).fill(0) : new Int32Array(length);
}

function arenaFloats(arena: Arena, length: number): Float64Array {
  if (length * 8 < ARENA_MIN_BYTES) return new Float64Array(length);
  const buffer = reuse(arena, length * 8);
  return buffer ? new Float64Array(buffer, 0, length).fill(0) : new Float64Array(length);
}

function arenaBytes(arena: Arena, length: number): Uint8Array {
  if (length < ARENA_MIN_BYTES) return new Uint8Array(length);
  const buffer = reuse(arena, length);
  return buffer ? new Uint8Array(buffer, 0, length).fill(0) : new Uint8Array(length);
}

/**
 * `list` grown to at least twice its length, its contents kept: into the largest released
 * buffer when that holds twice as much (all of it used), else a new one; `list`'s own buffer
 * released. Lists grown in the walk (candidates) took 4–6 MB of new buffers at 1M, while the
 * arena held more than that unused.
 */
function arenaGrow(arena: Arena, list: Int32Array): Int32Array {
  let largest = -1;
  for (let k = 0; k < arena.length; k++) if (largest < 0 || (arena[k] as ArrayBuffer).byteLength > (arena[largest] as ArrayBuffer).byteLength) largest = k;
  let bigger: Int32Array;
  if (largest >= 0 && (arena[largest] as ArrayBuffer).byteLength >= list.length * 8 && list.length * 8 >= ARENA_MIN_BYTES) {
    const buffer = arena[largest] as ArrayBuffer;
    arena[largest] = arena[arena.length - 1] as ArrayBuffer;
    arena.pop();
    bigger = new Int32Array(buffer, 0, buffer.byteLength >> 2);
  } else bigger = arenaInts(arena, list.length * 2);
  bigger.set(list);
  arenaFree(arena, list);
  return bigger;
}

/** Releases an array's buffer for reuse (arrays from the arena only; subarrays are not released). */
function arenaFree(arena: Arena, array: Int32Array | Float64Array): void {
  if (array.byteOffset === 0 && array.buffer.byteLength >= ARENA_MIN_BYTES) arena.push(array.buffer as ArrayBuffer);
}

/** The smallest released buffer of at least `bytes` (taken out of the arena), or undefined. */
function reuse(released: Arena, bytes: number): ArrayBuffer | undefined {
  let best = -1;
  for (let k = 0; k < released.length; k++) {
    const size = (released[k] as ArrayBuffer).byteLength;
    if (size >= bytes && (best < 0 || size < (released[best] as ArrayBuffer).byteLength)) best = k;
  }
  if (best < 0) return undefined;
  const buffer = released[best] as ArrayBuffer;
  released[best] = released[released.length - 1] as ArrayBuffer;
  released.pop();
  return buffer;
}

/**
 * Stable counting sort of element indexes by `key[element]`, a small integer in
 * [0, buckets); elements with a negative key are left out.
 * Returns the order and where each bucket starts (`starts[b]` to `starts[b + 1]`). The one
 * sort behind the radix passes and the transaction index: linear, no comparisons.
 */
function countingSort(input: Int32Array, count: number, key: Int32Array, buckets: number, arena: Arena, into?: Int32Array): { order: Int32Array; starts: Int32Array } {
  const starts = arenaInts(arena, buckets + 1);
  for (let k = 0; k < count; k++) {
    const b = key[input[k] as number] as number;
    if (b >= 0) starts[b + 1] = (starts[b + 1] as number) + 1;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
  const order = into ?? arenaInts(arena, starts[buckets] as number);
  // Filled through `starts` itself: bucket b's cursor ends where bucket b + 1 starts, so the
  // starts are then shifted back by one (no array of cursors: with an amount per bucket, 4 MB
  // more at the peak at 1M).
  for (let k = 0; k < count; k++) {
    const element = input[k] as number;
    const b = key[element] as number;
    if (b < 0) continue;
    order[starts[b] as number] = element;
    starts[b] = (starts[b] as number) + 1;
  }
  for (let b = buckets; b > 0; b--) starts[b] = starts[b - 1] as number;
  starts[0] = 0;
  return { order, starts };
}

function identity(count: number, arena: Arena): Int32Array {
  const order = arenaInts(arena, count);
  for (let k = 0; k < count; k++) order[k] = k;
  return order;
}

const RADIX_BITS = 11;
const RADIX = 2 ** RADIX_BITS;

/**
 * Positions `0..count-1` ordered stably by (`major`, `minor`): LSD radix sort, 11 bits a pass
 * (2048 buckets: the scattered writes of a pass stay within the cache), on non-negative safe
 * integers. Linear, and no hashing: sorting both sides and walking them together is cheaper
 * than a million random lookups in a hash table.
 */
function radixOrder(minor: Float64Array | Int32Array, major: Int32Array | undefined, count: number, arena: Arena): Int32Array {
  let order: Int32Array = identity(count, arena);
  let max = 0;
  let majors = 0;
  for (let k = 0; k < count; k++) if ((minor[k] as number) > max) max = minor[k] as number;
  if (major) for (let k = 0; k < count; k++) if ((major[k] as number) + 1 > majors) majors = (major[k] as number) + 1;
  let spare: Int32Array = arenaInts(arena, count);
  const scatter = (digits: Int32Array) => {
    const { order: sorted, starts } = countingSort(order, count, digits, RADIX, arena, spare);
    arenaFree(arena, starts);
    spare = order;
    order = sorted;
  };
  if (max < 2 ** 31) {
    // Keys that fit 31 bits: each pass takes its digit from the key by bit operations (no
    // array of digits: 4 bytes an element less at the peak).
    let keys: Int32Array;
    if (minor instanceof Int32Array) keys = minor;
    else {
      keys = arenaInts(arena, count);
      for (let k = 0; k < count; k++) keys[k] = minor[k] as number;
    }
    [order, spare] = radixPasses(keys, max, order, spare, count);
    if (keys !== minor) arenaFree(arena, keys);
  } else {
    // Digits computed in one plain loop a pass (floating-point division and modulo, which are slow).
    const digits = arenaInts(arena, count);
    for (let divisor = 1; divisor <= max; divisor *= RADIX) {
      for (let k = 0; k < count; k++) digits[k] = Math.floor((minor[k] as number) / divisor) % RADIX;
      scatter(digits);
    }
    arenaFree(arena, digits);
  }
  if (major && majors > RADIX) {
    // Many majors (currency code numbers, past MANY_CURRENCIES): radix passes too, not one
    // counting sort whose hundreds of thousands of buckets sent each write to another cache
    // line (at 1M with 250k codes: 0.35 s of sorting codes into ids and merging gone, and the
    // sort by (code, amount) no slower).
    [order, spare] = radixPasses(major, majors - 1, order, spare, count, MAJOR_RADIX_BITS);
    arenaFree(arena, spare);
  } else if (major && majors > 1) {
    const { order: sorted, starts } = countingSort(order, count, major, majors, arena, spare);
    arenaFree(arena, starts); arenaFree(arena, order);
    order = sorted;
  } else arenaFree(arena, spare);
  return order;
}

/** Digits of the major key's passes: 13 bits took a 26-bit code number in two passes, not three (−15 % on that sort, 1M). */
const MAJOR_RADIX_BITS = 13;

/**
 * `order[0, count)` (element indexes) sorted stably by `keys[element]` (non-negative, at most
 * `max` < 2^31): LSD passes of at most `bits` (as few passes as that allows, the bits spread
 * evenly over them), each taking its digit from the key by bit operations, between `order`
 * and `spare`. Returns [sorted, the other array].
 */
function radixPasses(keys: Int32Array, max: number, order: Int32Array, spare: Int32Array, count: number, bits = RADIX_BITS): [Int32Array, Int32Array] {
  if (max <= 0) return [order, spare];
  const width = bitWidth(max);
  const step = evenStep(width, bits);
  const mask = 2 ** step - 1;
  const starts = new Int32Array(mask + 2);
  for (let shift = 0; shift < width; shift += step) {
    starts.fill(0);
    for (let k = 0; k < count; k++) {
      const b = (((keys[order[k] as number] as number) >>> shift) & mask) + 1;
      starts[b] = (starts[b] as number) + 1;
    }
    for (let b = 0; b <= mask; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
    for (let k = 0; k < count; k++) {
      const element = order[k] as number;
      const b = ((keys[element] as number) >>> shift) & mask;
      spare[starts[b] as number] = element;
      starts[b] = (starts[b] as number) + 1;
    }
    const sorted = spare;
    spare = order;
    order = sorted;
  }
  return [order, spare];
}

/** Bits that hold `max` (1 to 31). */
function bitWidth(max: number): number {
  let width = 1;
  while (width < 31 && max >= 2 ** width) width += 1;
  return width;
}

/** Digit size of LSD passes over `width` bits: as few passes of at most `bits` as that takes, the bits spread evenly over them. */
function evenStep(width: number, bits: number): number {
  return Math.ceil(width / Math.ceil(width / bits));
}

/** Digits of a pass that carries its keys: three arrays written a bucket at a time (2^11 buckets each keep the writes' cache lines within L2). */
const CARRY_RADIX_BITS = 11;

/** Keys sorted by (major, minor) with what they sort: `order[k]` the k-th element's payload (its position when there is no payload), its keys `minor[k]` and `major[k]`. */
type KeyedOrder = { order: Int32Array; minor: Int32Array | Float64Array; major: Int32Array };

/**
 * Elements sorted stably by (`major`, `minor`) — the same order as radixOrder's — with their
 * keys carried through the passes: each pass reads its keys in sequence, where an order of
 * positions read them at random (`keys[order[k]]`, a cache miss each at 1M), and the passes
 * after the sort read the sorted keys in sequence too. The digits of every pass are counted
 * in one pass over the input; a pass whose digit is the same for all is skipped.
 * `minor`, `major` and `payload` are consumed (their buffers reused or released). A minor key
 * of 2^31 or more (amounts that far apart) takes radixOrder and a gather instead.
 */
function sortCarryingKeys(minor: Int32Array | Float64Array, major: Int32Array, payload: Int32Array | undefined, count: number, arena: Arena): KeyedOrder {
  let maxMinor = 0;
  let maxMajor = 0;
  for (let k = 0; k < count; k++) {
    if ((minor[k] as number) > maxMinor) maxMinor = minor[k] as number;
    if ((major[k] as number) > maxMajor) maxMajor = major[k] as number;
  }
  if (maxMinor >= 2 ** 31) return gatherSorted(minor, major, payload, count, arena);
  let keyMinor: Int32Array;
  if (minor instanceof Int32Array) keyMinor = minor;
  else {
    keyMinor = arenaInts(arena, count);
    for (let k = 0; k < count; k++) keyMinor[k] = minor[k] as number;
    arenaFree(arena, minor);
  }
  let keyMajor = major;
  let carried = payload ?? identity(count, arena);
  // Passes: the minor key's digits, then the major key's (LSD), each `step` bits at `shift` of its key.
  const passes: { major: boolean; shift: number; step: number }[] = [];
  for (const [isMajor, max] of [[false, maxMinor], [true, maxMajor]] as const) {
    if (max <= 0) continue;
    const width = bitWidth(max);
    const step = evenStep(width, CARRY_RADIX_BITS);
    for (let shift = 0; shift < width; shift += step) passes.push({ major: isMajor, shift, step });
  }
  const stride = 2 ** CARRY_RADIX_BITS + 1;
  const counts = new Int32Array(passes.length * stride);
  countDigits(keyMinor, keyMajor, count, passes, counts, stride);
  let spareMinor = arenaInts(arena, count);
  let spareMajor = arenaInts(arena, count);
  let spareCarried = arenaInts(arena, count);
  for (let p = 0; p < passes.length; p++) {
    const { major: isMajor, shift, step } = passes[p] as { major: boolean; shift: number; step: number };
    const starts = counts.subarray(p * stride, p * stride + (2 ** step) + 1);
    // Every element in one bucket: this pass would not move any.
    let full = false;
    for (let b = 0; b < 2 ** step && !full; b++) full = starts[b + 1] === count;
    if (full) continue;
    for (let b = 0; b < 2 ** step; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
    scatterCarrying(isMajor ? keyMajor : keyMinor, shift, 2 ** step - 1, starts, keyMinor, keyMajor, carried, spareMinor, spareMajor, spareCarried, count);
    [keyMinor, spareMinor] = [spareMinor, keyMinor];
    [keyMajor, spareMajor] = [spareMajor, keyMajor];
    [carried, spareCarried] = [spareCarried, carried];
  }
  arenaFree(arena, spareMinor); arenaFree(arena, spareMajor); arenaFree(arena, spareCarried);
  return { order: carried, minor: keyMinor, major: keyMajor };
}

/** Each pass's digit counts, in `counts[p * stride + digit + 1]` (one pass over the keys, in sequence). */
function countDigits(keyMinor: Int32Array, keyMajor: Int32Array, count: number, passes: { major: boolean; shift: number; step: number }[], counts: Int32Array, stride: number): void {
  for (let p = 0; p < passes.length; p++) {
    const { major: isMajor, shift, step } = passes[p] as { major: boolean; shift: number; step: number };
    const keys = isMajor ? keyMajor : keyMinor;
    const mask = 2 ** step - 1;
    const base = p * stride + 1;
    for (let k = 0; k < count; k++) {
      const b = base + (((keys[k] as number) >>> shift) & mask);
      counts[b] = (counts[b] as number) + 1;
    }
  }
}

/** One LSD pass: the triples (minor, major, carried) from their arrays into the spare ones, by the digit of `digitKeys` at `shift`. */
function scatterCarrying(digitKeys: Int32Array, shift: number, mask: number, starts: Int32Array, minor: Int32Array, major: Int32Array, carried: Int32Array, toMinor: Int32Array, toMajor: Int32Array, toCarried: Int32Array, count: number): void {
  for (let k = 0; k < count; k++) {
    const b = ((digitKeys[k] as number) >>> shift) & mask;
    const at = starts[b] as number;
    starts[b] = at + 1;
    toMinor[at] = minor[k] as number;
    toMajor[at] = major[k] as number;
    toCarried[at] = carried[k] as number;
  }
}

/** sortCarryingKeys for minor keys past 31 bits: radixOrder's positions, then the keys and payloads gathered into that order. */
function gatherSorted(minor: Int32Array | Float64Array, major: Int32Array, payload: Int32Array | undefined, count: number, arena: Arena): KeyedOrder {
  const positions = radixOrder(minor, major, count, arena);
  const sortedMinor = arenaFloats(arena, count);
  const sortedMajor = arenaInts(arena, count);
  for (let k = 0; k < count; k++) {
    const at = positions[k] as number;
    sortedMinor[k] = minor[at] as number;
    sortedMajor[k] = major[at] as number;
    if (payload) positions[k] = payload[at] as number;
  }
  arenaFree(arena, minor); arenaFree(arena, major);
  if (payload) arenaFree(arena, payload);
  return { order: positions, minor: sortedMinor, major: sortedMajor };
}

/** A code of up to 6 ASCII characters as a number (length, then 7 bits a character, a–z upper-cased), or −1. */
function shortCode(code: string): number {
  if (code.length > 6) return -1;
  let key = code.length;
  for (let k = 0; k < code.length; k++) {
    let c = code.charCodeAt(k);
    if (c >= 128) return -1;
    if (c >= 97 && c <= 122) c -= 32;
    key = key * 128 + c;
  }
  return key;
}

/**
 * Non-negative integer keys (below 2^53) → values, by open addressing in typed arrays; grows.
 * Plain objects and module functions, as is the currency table below: closures made per call
 * deoptimised the optimised index on the next call ("wrong call target"), and so did the map
 * of a class instance made per call (its fields' map is held only by its instances, and a
 * collection between calls dropped it and the code that checked for it: "weak objects").
 */
type CodeTable = { keys: Float64Array; values: Int32Array; size: number };

function createCodeTable(): CodeTable {
  return { keys: new Float64Array(64).fill(-1), values: new Int32Array(64), size: 0 };
}

function codeGet(table: CodeTable, key: number): number {
  const at = codeSlot(table.keys, key);
  return table.keys[at] === key ? (table.values[at] as number) : -1;
}

function codeSet(table: CodeTable, key: number, value: number): void {
  if ((table.size + 1) * 2 > table.keys.length) {
    const oldKeys = table.keys;
    const oldValues = table.values;
    const keys = new Float64Array(oldKeys.length * 2).fill(-1);
    const values = new Int32Array(oldKeys.length * 2);
    for (let x = 0; x < oldKeys.length; x++) {
      if (oldKeys[x] === -1) continue;
      const at = codeSlot(keys, oldKeys[x] as number);
      keys[at] = oldKeys[x] as number;
      values[at] = oldValues[x] as number;
    }
    table.keys = keys;
    table.values = values;
  }
  const at = codeSlot(table.keys, key);
  if (table.keys[at] !== key) table.size += 1;
  table.keys[at] = key;
  table.values[at] = value;
}

function codeSlot(table: Float64Array, key: number): number {
  const mask = table.length - 1;
  let h = Math.imul((key % 4294967296) ^ Math.floor(key / 4294967296), 0x9e3779b1);
  h ^= h >>> 15;
  let at = h & mask;
  while (table[at] !== key && table[at] !== -1) at = (at + 1) & mask;
  return at;
}

/**
 * Currency codes → dense ids. Codes of up to 6 ASCII characters (every ISO code) by a number
 * made of their upper-cased characters, in a flat table: a Map of strings hashed each code
 * object (a million of them, most distinct objects) and missed the cache once it held many
 * codes. Others by a Map (upper-cased code → id).
 */
type CurrencyIds = { short: CodeTable; other: Map<string, number>; count: number };

/** The code's id; a new one when `create`, else −1 for a code not seen. */
function currencyId(currencies: CurrencyIds, code: string, create: boolean): number {
  let key = shortCode(code);
  if (key < 0) {
    // Upper-casing can make a short ASCII code of one that is not ("usſ" → "USS").
    const upper = code.toUpperCase();
    key = shortCode(upper);
    if (key < 0) {
      let id = currencies.other.get(upper);
      if (id === undefined) {
        if (!create) return -1;
        id = currencies.count++;
        currencies.other.set(upper, id);
      }
      return id;
    }
  }
  let id = codeGet(currencies.short, key);
  if (id < 0) {
    if (!create) return -1;
    id = currencies.count++;
    codeSet(currencies.short, key, id);
  }
  return id;
}

/**
 * Past this many distinct codes among the transactions, currencies are numbered by their codes
 * (currencyNumbersPastTable) rather than through the table, whose random reads missed the cache
 * once it held many codes (a quarter of a second of the many-currencies shape at 1M: 250k codes).
 */
const MANY_CURRENCIES = 1024;

/** A short code's key (shortCode of the code or of it upper-cased), or −1 for another code. */
function shortKeyOf(code: string): number {
  const key = shortCode(code);
  // Upper-casing can make a short ASCII code of one that is not ("usſ" → "USS").
  return key >= 0 ? key : shortCode(code.toUpperCase());
}

/**
 * Currency numbers for many distinct codes: each code's key − the transactions' lowest key, the
 * same code the same number (as currencyId gives the same id), in the order of the keys; a
 * request's code outside the transactions' keys −1. Not dense ids: the index only groups,
 * orders and compares currencies, and a request of a code between two of the transactions'
 * finds no amount, as one outside them finds no currency (the same decision, "no unused bank
 * transaction with this exact amount and currency"). No sorting and no table: the sort by
 * (currency, amount) takes the numbers as its major key in radix passes. On entry
 * `txCurrency` holds the transactions' keys from `from` on (ids of the table before) and
 * `reqCurrency` the requests' keys (−1: not a key below 2^31); `wide`: a transaction's code had
 * no such key (then all are read again as floats and given dense ids, currencyIdsByFloatKeys).
 */
function currencyNumbersPastTable(transactions: MatchTransaction[], requests: MatchRequest[], txCurrency: Int32Array, from: number, reqCurrency: Int32Array, wide: boolean, arena: Arena): void {
  const n = transactions.length;
  const m = requests.length;
  for (let i = 0; i < from && !wide; i++) {
    const key = shortKeyOf((transactions[i] as MatchTransaction).currency);
    if (key < 0 || key >= 2 ** 31) wide = true;
    txCurrency[i] = key;
  }
  if (wide) {
    currencyIdsByFloatKeys(transactions, requests, txCurrency, reqCurrency, arena);
    return;
  }
  let lowest = 2 ** 31;
  let highest = -1;
  for (let i = 0; i < n; i++) {
    const key = txCurrency[i] as number;
    if (key < lowest) lowest = key;
    if (key > highest) highest = key;
  }
  for (let i = 0; i < n; i++) txCurrency[i] = (txCurrency[i] as number) - lowest;
  for (let r = 0; r < m; r++) {
    const key = reqCurrency[r] as number;
    reqCurrency[r] = key >= lowest && key <= highest ? key - lowest : -1;
  }
}

/** A code's key as a float: its short key, else 2^49 + an id of the upper-cased code (−1: not seen, unless `create`). */
function currencyKey(other: Map<string, number>, code: string, create: boolean): number {
  const key = shortKeyOf(code);
  if (key >= 0) return key;
  const upper = code.toUpperCase();
  let id = other.get(upper);
  if (id === undefined) {
    if (!create) return -1;
    id = other.size;
    other.set(upper, id);
  }
  return 2 ** 49 + id;
}

/** Dense currency ids by sorting every code read again as a float key (a transaction's code of 5 or more letters, or not short, past MANY_CURRENCIES codes). */
function currencyIdsByFloatKeys(transactions: MatchTransaction[], requests: MatchRequest[], txCurrency: Int32Array, reqCurrency: Int32Array, arena: Arena): void {
  const n = transactions.length;
  const m = requests.length;
  const other = new Map<string, number>();
  const txKey = arenaFloats(arena, n);
  let lowest = Infinity;
  let highest = -Infinity;
  for (let i = 0; i < n; i++) {
    const key = currencyKey(other, (transactions[i] as MatchTransaction).currency, true);
    txKey[i] = key;
    if (key < lowest) lowest = key;
    if (key > highest) highest = key;
  }
  for (let i = 0; i < n; i++) txKey[i] = (txKey[i] as number) - lowest;
  const reqKey = arenaFloats(arena, m);
  for (let r = 0; r < m; r++) {
    const key = currencyKey(other, (requests[r] as MatchRequest).currency, false);
    const known = key >= lowest && key <= highest;
    reqCurrency[r] = known ? 0 : -1;
    reqKey[r] = known ? key - lowest : 0;
  }
  const txOrder = radixOrder(txKey, undefined, n, arena);
  let id = -1;
  for (let k = 0; k < n; k++) {
    const i = txOrder[k] as number;
    if (k === 0 || txKey[i] !== txKey[txOrder[k - 1] as number]) id += 1;
    txCurrency[i] = id;
  }
  const reqOrder = radixOrder(reqKey, undefined, m, arena);
  let k = 0;
  for (let q = 0; q < m; q++) {
    const r = reqOrder[q] as number;
    if (reqCurrency[r] === -1) continue;
    const key = reqKey[r] as number;
    while (k < n && (txKey[txOrder[k] as number] as number) < key) k++;
    reqCurrency[r] = k < n && txKey[txOrder[k] as number] === key ? (txCurrency[txOrder[k] as number] as number) : -1;
  }
  arenaFree(arena, reqOrder); arenaFree(arena, txOrder); arenaFree(arena, reqKey); arenaFree(arena, txKey);
}

/**
 * indexTransactions' first pass, in input order: each transaction's currency (an id, or past
 * MANY_CURRENCIES codes its code key from `sortedFrom` on), time, id and sender name id; the
 * amounts' range. A function of its own, as are the matcher's other passes that read names:
 * the name table's code, inlined into the loop, can meet a case the warm-up never did (its
 * raw-name cache full past 65,536 names) and deoptimise; then only this small function is
 * compiled again, not the whole index (~70 ms of compiling on a shared core, in the call).
 */
function readTransactions(transactions: MatchTransaction[], names: NameTable, currencies: CurrencyIds, txCurrency: Int32Array, txName: Int32Array, txTime: Float64Array, txId: string[]): { lowest: number; highest: number; named: number; sortedFrom: number; wideKeys: boolean } {
  const n = transactions.length;
  let lowest = 0;
  let highest = 0;
  let lastCurrency = '';
  let lastCurrencyId = -1;
  let named = 0;
  // Past MANY_CURRENCIES codes: each transaction's code key from `sortedFrom` on, numbered by currencyNumbersPastTable below.
  let sortedFrom = -1;
  let wideKeys = false;
  let lastName: string | null | undefined;
  let lastNameId = -1;
  for (let i = 0; i < n; i++) {
    const t = transactions[i] as MatchTransaction;
    if (sortedFrom >= 0) {
      const key = shortKeyOf(t.currency);
      if (key < 0 || key >= 2 ** 31) wideKeys = true;
      txCurrency[i] = key;
    } else {
      if (t.currency !== lastCurrency) {
        lastCurrencyId = currencyId(currencies, t.currency, true);
        lastCurrency = t.currency;
        if (currencies.count > MANY_CURRENCIES) sortedFrom = i + 1;
      }
      txCurrency[i] = lastCurrencyId;
    }
    if (!Number.isSafeInteger(t.amountMinor)) throw new Error(`transaction ${t.id} has an amount that is not a whole number of minor units`);
    if (t.amountMinor < lowest) lowest = t.amountMinor;
    if (t.amountMinor > highest) highest = t.amountMinor;
    txTime[i] = t.receivedAtMs;
    txId[i] = t.id;
    // The last name's id again for the same name (compared by content, without hashing).
    const sender = t.senderName;
    let name = lastNameId;
    if (sender !== lastName || i === 0) {
      name = names.id(sender);
      lastName = sender;
      lastNameId = name;
    }
    txName[i] = name;
    // A transaction without a sender name is never a match (nothing confirms the payer), but
    // it still counts for "the amount exists".
    if (name >= 0) named += 1;
  }
  return { lowest, highest, named, sortedFrom, wideKeys };
}

/**
 * Transactions indexed without hashing composite keys: currencies become integers (dense ids,
 * or past MANY_CURRENCIES codes numbers from their codes) and sender names dense ids; transactions and requests are radix-sorted by (currency, amount) and
 * walked together, so each distinct amount gets an id and each request finds its own in a
 * single pass. Two stable counting sorts (by name, then by amount) then lay the transactions
 * out so that each amount is a contiguous run of groups, one group per sender name in
 * ascending id order, each group newest first.
 */
function indexTransactions(transactions: MatchTransaction[], requests: MatchRequest[], names: NameTable, arena: Arena) {
  const n = transactions.length;
  const currencies: CurrencyIds = { short: createCodeTable(), other: new Map(), count: 0 };
  const txCurrency = arenaInts(arena, n);
  const txName = arenaInts(arena, n);
  const txTime = arenaFloats(arena, n);
  const txId: string[] = sized(n); // read here, in input order, so later random reads touch one array, not every object
  const read = readTransactions(transactions, names, currencies, txCurrency, txName, txTime, txId);
  const { named, sortedFrom, wideKeys } = read;
  const senderNames = names.nameCount();
  const m = requests.length;
  const reqCurrency = arenaInts(arena, m);
  const range = readRequests(requests, currencies, sortedFrom, reqCurrency, read.lowest, read.highest);
  const lowest = range.lowest;
  const highest = range.highest;
  if (sortedFrom >= 0) currencyNumbersPastTable(transactions, requests, txCurrency, sortedFrom, reqCurrency, wideKeys, arena);

  // Distinct (currency, amount) of the transactions, ascending, and each transaction's id of it.
  // Keys as 32-bit integers while every amount fits (half the memory; no copy for the radix sort).
  const narrow = highest - lowest < 2 ** 31;
  const txKey = narrow ? arenaInts(arena, n) : arenaFloats(arena, n);
  for (let i = 0; i < n; i++) txKey[i] = (transactions[i] as MatchTransaction).amountMinor - lowest;
  const txSorted = sortCarryingKeys(txKey, txCurrency, undefined, n, arena);
  const txAmount = arenaInts(arena, n);
  // Counted first, then laid out in typed arrays of that size (lists grown by push were tens
  // of MB of garbage with n/2 amounts).
  const amountCount = countAmounts(txSorted.minor, txSorted.major, n);
  const amountKey = narrow ? arenaInts(arena, amountCount) : arenaFloats(arena, amountCount);
  const amountCurrency = arenaInts(arena, amountCount);
  const latest = arenaFloats(arena, amountCount);
  layOutAmounts(txSorted.order, txSorted.minor, txSorted.major, txTime, n, amountKey, amountCurrency, latest, txAmount);
  arenaFree(arena, txSorted.order); arenaFree(arena, txSorted.minor); arenaFree(arena, txSorted.major);

  // Requests in (currency, amount) order, each with its amount's id (−1: no such amount).
  const known = arenaInts(arena, m);
  let knownCount = 0;
  for (let r = 0; r < m; r++) if ((reqCurrency[r] as number) >= 0) known[knownCount++] = r;
  const unknownCurrency: number[] = []; // requests of a currency no transaction has
  if (knownCount < m) for (let r = 0; r < m; r++) if ((reqCurrency[r] as number) < 0) unknownCurrency.push(r);
  const reqKey = narrow ? arenaInts(arena, knownCount) : arenaFloats(arena, knownCount);
  const reqMajor = arenaInts(arena, knownCount);
  for (let k = 0; k < knownCount; k++) {
    const r = known[k] as number;
    reqKey[k] = (requests[r] as MatchRequest).amountMinor - lowest;
    reqMajor[k] = reqCurrency[r] as number;
  }
  arenaFree(arena, reqCurrency);
  const reqSorted = sortCarryingKeys(reqKey, reqMajor, known, knownCount, arena);
  const requestOrder = arenaInts(arena, m);
  const requestAmount = arenaInts(arena, m).fill(-1);
  amountsOfRequests(reqSorted.order, reqSorted.major, reqSorted.minor, knownCount, amountCurrency, amountKey, amountCount, requestOrder, requestAmount);
  let tail = knownCount;
  for (const r of unknownCurrency) requestOrder[tail++] = r;
  arenaFree(arena, reqSorted.order); arenaFree(arena, reqSorted.minor); arenaFree(arena, reqSorted.major); arenaFree(arena, amountKey); arenaFree(arena, amountCurrency);

  // Stable counting sort by name (transactions without one left out), then by amount:
  // (amount, name) runs in ascending order, each amount's run starting at bucketFirst.
  const all = identity(n, arena);
  const { order: byName, starts: nameStarts } = countingSort(all, n, txName, senderNames, arena);
  arenaFree(arena, nameStarts);
  const { order, starts: bucketFirst } = countingSort(byName, named, txAmount, amountCount, arena, all.subarray(0, named));
  arenaFree(arena, byName); arenaFree(arena, txAmount);

  // Groups: maximal runs of one (amount, name); each sorted newest first (ties by id).
  let groupStart = arenaInts(arena, named + 1);
  let groupName = arenaInts(arena, named);
  const bucketGroups = arenaInts(arena, amountCount + 1); // per amount: first group
  const keyScratch: SortScratch = { keys: new Float64Array(0), arena };
  const groups = buildGroups(order, bucketFirst, amountCount, txName, txTime, txId, keyScratch, groupStart, groupName, bucketGroups);
  groupStart[groups] = named;
  arenaFree(arena, bucketFirst); arenaFree(arena, txName); arenaFree(arena, keyScratch.keys);
  if (groups * 2 < named) {
    // Few groups (many transactions per name and amount): only as many as there are.
    const start = arenaInts(arena, groups + 1);
    start.set(groupStart.subarray(0, groups + 1));
    const name = arenaInts(arena, groups);
    name.set(groupName.subarray(0, groups));
    arenaFree(arena, groupStart); arenaFree(arena, groupName);
    groupStart = start;
    groupName = name;
  }
  const time = arenaFloats(arena, named);
  for (let k = 0; k < named; k++) time[k] = txTime[order[k] as number] as number;
  arenaFree(arena, txTime);
  let longestGroup = 0;
  for (let g = 0; g < groups; g++) longestGroup = Math.max(longestGroup, (groupStart[g + 1] as number) - (groupStart[g] as number));
  return {
    senderNames,
    txId,
    requestOrder,
    requestAmount,
    latest,
    bucketGroups,
    groupStart,
    groupName: groupName.subarray(0, groups),
    order,
    time,
    longestGroup,
  };
}

/** Each request's currency (an id, or its code key when the ids come by sorting: `sortedFrom` ≥ 0), and the amounts' range widened by the requests'. */
function readRequests(requests: MatchRequest[], currencies: CurrencyIds, sortedFrom: number, reqCurrency: Int32Array, lowest: number, highest: number): { lowest: number; highest: number } {
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r] as MatchRequest;
    if (sortedFrom < 0) reqCurrency[r] = currencyId(currencies, request.currency, false);
    else {
      const key = shortKeyOf(request.currency);
      reqCurrency[r] = key < 2 ** 31 ? key : -1;
    }
    if (!Number.isSafeInteger(request.amountMinor)) throw new Error(`request ${request.id} has an amount that is not a whole number of minor units`);
    if (request.amountMinor < lowest) lowest = request.amountMinor;
    if (request.amountMinor > highest) highest = request.amountMinor;
  }
  return { lowest, highest };
}

/*
 * indexTransactions' loops, each a function of its own: a large function is optimised only
 * by on-stack replacement, loop by loop, and that code is not kept from call to call (the
 * index was compiled again, three or four times, in a measured call: 10–35 ms each on one
 * core, or not, by the collector's timing); small functions are optimised whole and keep it.
 */

/** How many distinct (currency, amount) keys the sorted keys hold. */
function countAmounts(minor: Int32Array | Float64Array, major: Int32Array, n: number): number {
  let amountCount = n > 0 ? 1 : 0;
  for (let k = 1; k < n; k++) if (minor[k] !== minor[k - 1] || major[k] !== major[k - 1]) amountCount += 1;
  return amountCount;
}

/** Each distinct (currency, amount), ascending, with its latest time, and each transaction's amount id (`order`: transactions by those keys, `minor` and `major` their keys). */
function layOutAmounts(order: Int32Array, minor: Int32Array | Float64Array, major: Int32Array, txTime: Float64Array, n: number, amountKey: Int32Array | Float64Array, amountCurrency: Int32Array, latest: Float64Array, txAmount: Int32Array): void {
  let last = -1;
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    if (k === 0 || minor[k] !== minor[k - 1] || major[k] !== major[k - 1]) {
      last += 1;
      amountKey[last] = minor[k] as number;
      amountCurrency[last] = major[k] as number;
      latest[last] = txTime[i] as number;
    } else if ((txTime[i] as number) > (latest[last] as number)) latest[last] = txTime[i] as number;
    txAmount[i] = last;
  }
}

/** The known requests (`sorted`, by currency `major` and amount `minor`) into `requestOrder`, each with its amount's id in `requestAmount` (left −1: no such amount). */
function amountsOfRequests(sorted: Int32Array, major: Int32Array, minor: Int32Array | Float64Array, knownCount: number, amountCurrency: Int32Array, amountKey: Int32Array | Float64Array, amountCount: number, requestOrder: Int32Array, requestAmount: Int32Array): void {
  let a = 0;
  for (let k = 0; k < knownCount; k++) {
    const r = sorted[k] as number;
    requestOrder[k] = r;
    const currency = major[k] as number;
    const key = minor[k] as number;
    while (a < amountCount && ((amountCurrency[a] as number) < currency || (amountCurrency[a] === currency && (amountKey[a] as number) < key))) a++;
    if (a < amountCount && amountCurrency[a] === currency && amountKey[a] === key) requestAmount[r] = a;
  }
}

/**
 * Groups: maximal runs of one (amount, name) in `order` (by amount, then name), each sorted
 * newest first (ties by id); per amount its first group in `bucketGroups`. Returns how many.
 */
function buildGroups(order: Int32Array, bucketFirst: Int32Array, amountCount: number, txName: Int32Array, txTime: Float64Array, txId: string[], keyScratch: SortScratch, groupStart: Int32Array, groupName: Int32Array, bucketGroups: Int32Array): number {
  let groups = 0;
  const newestFirst = (x: number, y: number) => {
    const byTime = (txTime[y] as number) - (txTime[x] as number);
    if (byTime !== 0) return byTime;
    const ix = txId[x] as string;
    const iy = txId[y] as string;
    return ix < iy ? -1 : ix > iy ? 1 : 0;
  };
  for (let x = 0; x < amountCount; x++) {
    bucketGroups[x] = groups;
    const end = bucketFirst[x + 1] as number;
    let k = bucketFirst[x] as number;
    while (k < end) {
      const name = txName[order[k] as number] as number;
      let to = k + 1;
      while (to < end && txName[order[to] as number] === name) to++;
      if (to - k === 2) {
        if (newestFirst(order[k] as number, order[k + 1] as number) > 0) {
          const swap = order[k] as number;
          order[k] = order[k + 1] as number;
          order[k + 1] = swap;
        }
      } else if (to - k > KEYED_SORT) sortNewestFirst(order, k, to, txTime, txId, newestFirst, keyScratch);
      else if (to - k > 2) order.subarray(k, to).sort(newestFirst);
      groupStart[groups] = k;
      groupName[groups] = name;
      groups += 1;
      k = to;
    }
  }
  bucketGroups[amountCount] = groups;
  return groups;
}

/** Groups longer than this are sorted by numeric keys (a comparator call per comparison costs more). */
const KEYED_SORT = 64;
/** Groups at least this long (and spanning less than 2^31 ms) are sorted by radix instead. */
const RADIX_GROUP = 4096;

/**
 * `order[from, to)` sorted newest first, ties by id (as `newestFirst`): by one native sort of
 * numeric keys (time from the newest, times the count, plus the position: equal times keep
 * their order), then each run of equal times by id. A group of a million transactions (one
 * amount, one payer) took a comparator call per comparison, 0.4 s. Keys that would not be
 * exact (fractional times, or a span times the count past 2^53) fall back to the comparator.
 */
type SortScratch = { keys: Float64Array; arena: Arena };

function sortNewestFirst(order: Int32Array, from: number, to: number, time: Float64Array, ids: string[], newestFirst: (x: number, y: number) => number, scratch: SortScratch): void {
  const count = to - from;
  let newest = -Infinity;
  let oldest = Infinity;
  for (let k = from; k < to; k++) {
    const t = time[order[k] as number] as number;
    if (!Number.isInteger(t)) {
      order.subarray(from, to).sort(newestFirst);
      return;
    }
    if (t > newest) newest = t;
    if (t < oldest) oldest = t;
  }
  const radix = count >= RADIX_GROUP && newest - oldest < 2 ** 31;
  if (!radix && (newest - oldest + 1) * count >= 2 ** 53) {
    order.subarray(from, to).sort(newestFirst);
    return;
  }
  if (radix) {
    // A large group by LSD radix sort of the ages (stable: equal times keep their order), linear:
    // the native sort of a million keys was 0.4 s of one amount and one name at 1M.
    const { arena } = scratch;
    const ages = arenaInts(arena, count);
    for (let k = 0; k < count; k++) ages[k] = newest - (time[order[from + k] as number] as number);
    let positions = arenaInts(arena, count);
    let spare = arenaInts(arena, count);
    for (let k = 0; k < count; k++) positions[k] = k;
    [positions, spare] = radixPasses(ages, newest - oldest, positions, spare, count);
    const elements = ages; // the ages are no longer needed: the group's elements, as they were
    elements.set(order.subarray(from, to));
    for (let k = 0; k < count; k++) order[from + k] = elements[positions[k] as number] as number;
    arenaFree(arena, ages); arenaFree(arena, positions); arenaFree(arena, spare);
  } else {
    if (scratch.keys.length < count) {
      arenaFree(scratch.arena, scratch.keys);
      scratch.keys = arenaFloats(scratch.arena, Math.max(count, scratch.keys.length * 2));
    }
    const keys = scratch.keys.subarray(0, count);
    for (let k = 0; k < count; k++) keys[k] = (newest - (time[order[from + k] as number] as number)) * count + k;
    keys.sort();
    const elements = order.slice(from, to);
    for (let k = 0; k < count; k++) order[from + k] = elements[(keys[k] as number) % count] as number;
  }
  // Equal times: by id.
  const byId = (x: number, y: number) => ((ids[x] as string) < (ids[y] as string) ? -1 : (ids[x] as string) > (ids[y] as string) ? 1 : 0);
  for (let k = from; k < to; ) {
    const t = time[order[k] as number] as number;
    let end = k + 1;
    while (end < to && time[order[end] as number] === t) end++;
    if (end - k > 1) order.subarray(k, end).sort(byId);
    k = end;
  }
}

/**
 * Amounts with at most this many sender names are scanned name by name (no index needed;
 * both ways are exact). 16 rather than 8: amounts of realistic data (about two names each)
 * then never reach the index, whose first use in a process deoptimised the whole walk
 * (about 0.25 s of a 100k call).
 */
const FEW_NAMES = 16;

/**
 * Where the times of `time[from, to)` (descending) that are ≥ `at` end (`from` + how many),
 * galloping from `hint`, any position in [from, to] (the answer for a nearby `at`): twice
 * the log of the distance, so the window counts of requests walked in time order cost about
 * a step each, and touch the times near the last ones. A binary search per request over a
 * million times (one amount, one payer) missed the cache at nearly every step.
 */
function windowEnd(time: Float64Array, from: number, to: number, at: number, hint: number): number {
  // The answer is in [lo, hi].
  let lo = from;
  let hi = to;
  if (hint < to && (time[hint] as number) >= at) {
    lo = hint + 1;
    for (let step = 1; ; step *= 2) {
      const probe = hint + step;
      if (probe >= to) break;
      if ((time[probe] as number) < at) {
        hi = probe;
        break;
      }
      lo = probe + 1;
    }
  } else {
    hi = hint;
    for (let step = 1; ; step *= 2) {
      const probe = hint - step;
      if (probe < from) break;
      if ((time[probe] as number) >= at) {
        lo = probe + 1;
        break;
      }
      hi = probe;
    }
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((time[mid] as number) >= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Groups longer than this have their window counts found from the last one's (see
 * windowEnd) with the requests walked in time order within a payer and amount (one more
 * counting sort of the requests, by a coarse time bucket); shorter ones need no order.
 */
const TIME_ORDERED_GROUP = 256;
/** Requests per time bucket (about), and the most buckets. */
const TIME_BUCKET_REQUESTS = 16;
const TIME_BUCKETS = 1 << 16;

const NO_AMOUNT = 'no unused bank transaction with this exact amount and currency';
const TOO_OLD = 'transactions with this amount arrived more than 5 days before the request';
const NO_NAME = 'no transaction with this amount has a sender name like the payer';
const BOUND_REASON = `too many sender names with this amount resemble the payer to rule out a rival (more than ${SEARCH_BUDGET} steps of search): decide by hand`;

const countReasons: string[] = [];
/**
 * The reason of `count` equally plausible transactions, one string per count below 1000.
 * Larger counts get a string each: a table by count shared them (one amount and one name at
 * 1M: 384k distinct counts for 1M requests, 30 MB less retained), but its reads in request
 * order were random, and the decisions took ~65 ms longer than the scavenges it saved.
 */
function countReason(count: number): string {
  if (count >= 1000) return `${count} transactions are equally plausible`;
  return (countReasons[count] ??= `${count} transactions are equally plausible`);
}

const scoreReasons = new Map<number, string>();
function scoreReason(score: number): string {
  // Keyed by a small integer (a fast hash); scores 1e-9 apart print the same anyway.
  const key = Math.round(score * 1e9);
  let reason = scoreReasons.get(key);
  if (reason === undefined) scoreReasons.set(key, (reason = `name score ${score.toFixed(2)}`));
  return reason;
}

const lowScoreReasons = new Map<number, string>();
function lowScoreReason(score: number): string {
  const key = Math.round(score * 1e9);
  let reason = lowScoreReasons.get(key);
  if (reason === undefined) {
    if (lowScoreReasons.size > 10_000) lowScoreReasons.clear();
    reason = `sender names do not match the payer well enough (best ${score.toFixed(2)} < ${MIN_SCORE})`;
    lowScoreReasons.set(key, reason);
  }
  return reason;
}

// Outcomes while matching, turned into decisions at the end.
const NOT_FOUND_AMOUNT = 0;
const NOT_FOUND_OLD = 1;
const NOT_FOUND_NAME = 2;
const NOT_FOUND_SCORE = 3;
const MATCHED = 4;
const AMBIGUOUS = 5;
const SHARED = 6;
const BOUND = 7;

/**
 * `input[0, count)` (request indexes) ordered stably by a coarse bucket of `at[r]` (one
 * counting sort; times that are not finite go first): near enough in time for windowEnd.
 */
function timeOrder(input: Int32Array, at: Float64Array, count: number, arena: Arena): Int32Array {
  let lowest = Infinity;
  let highest = -Infinity;
  for (let k = 0; k < count; k++) {
    const t = at[input[k] as number] as number;
    if (!Number.isFinite(t)) continue;
    if (t < lowest) lowest = t;
    if (t > highest) highest = t;
  }
  const buckets = Math.max(1, Math.min(TIME_BUCKETS, Math.floor(count / TIME_BUCKET_REQUESTS)));
  const scale = highest > lowest ? buckets / (highest - lowest) : 0;
  const bucket = arenaInts(arena, at.length);
  for (let k = 0; k < count; k++) {
    const r = input[k] as number;
    const t = at[r] as number;
    bucket[r] = Number.isFinite(t) ? Math.min(buckets - 1, Math.floor((t - lowest) * scale)) : 0;
  }
  const { order, starts } = countingSort(input, count, bucket, buckets, arena);
  arenaFree(arena, starts); arenaFree(arena, bucket);
  return order;
}

/** Each request's window start, and its payer's name id + 1 (0: none, or no such amount): a function of its own, as readTransactions. */
function readPayers(requests: MatchRequest[], requestAmount: Int32Array, names: NameTable, windowStart: Float64Array, payerKey: Int32Array): void {
  let lastName: string | null | undefined;
  let lastKey = -1; // −1: none yet
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r] as MatchRequest;
    windowStart[r] = request.registeredAtMs - WINDOW_MS;
    if ((requestAmount[r] as number) < 0) continue;
    const name = request.name;
    if (name !== lastName || lastKey < 0) {
      lastName = name;
      lastKey = names.id(name) + 1;
    }
    payerKey[r] = lastKey;
  }
}

/**
 * The walk's searches of the amount being walked, kept from request to request: the amount's
 * name index, and the payer's searches (wide, and narrow: names within the margin of a
 * perfect score); `best` and `complete`: searchPlausible's answer besides its count.
 */
type Searches = { amount: number; index: AmountIndex | undefined; payer: number; wide: Found | undefined; narrow: Found | undefined; best: number; complete: boolean };

/**
 * For an amount with many sender names: the plausible groups of the request (names with a
 * transaction in the window from `from`, within the margin of the best, best first, ties by
 * name) into `plausibleGroups`/`plausibleScores`; returns how many, the best score in
 * `s.best` (−1: none) and whether the search was complete in `s.complete`. A function of its
 * own, too large to be inlined: the search's results (arrays of several kinds) met in a large
 * call a kind the warm-up had not, and the walk deoptimised on it ("wrong map"), its
 * recompiling 100–180 ms on one core.
 */
function searchPlausible(s: Searches, names: NameTable, groupName: Int32Array, gFrom: number, gTo: number, amount: number, payer: number, from: number, time: Float64Array, groupStart: Int32Array, plausibleGroups: Int32Array, plausibleScores: Float64Array): number {
  if (amount !== s.amount) {
    s.amount = amount;
    s.index = createAmountIndex(names, groupName, gFrom, gTo);
    s.payer = -1;
  }
  if (payer !== s.payer) {
    s.payer = payer;
    s.wide = undefined;
    s.narrow = undefined;
  }
  const amountIndex = s.index as AmountIndex;
  let bestScore = -1;
  let count = 0;
  // A payer of 2..PAIR_MAX words is searched wide first: its pairs find the names of
  // 2..PAIR_MAX words exactly, and those that could only score below the minimum are left
  // unscored (the tail), so the wide search costs about what the narrow one does and
  // decides every request alone when complete. Otherwise, or when it was cut short, or
  // when the payer's own name paid in the window, the narrow search (rivals of a perfect
  // score only: within the margin of 1) comes first, as it reads less: when the payer's own
  // name paid in the window it is enough (the wide search would find the same rivals, and
  // its tail cannot hold one), and it reads the pairs of only as many words as 0.85 needs
  // (one pair for three words: the wide one read every "María w1 …" of the amount for
  // "María w1 w2"); when it is cut short by the bound the wide one would be too (it reads at
  // least as much), so what the narrow one scored is taken.
  const payerLength = names.length(payer);
  const paired = payerLength >= 2 && payerLength <= PAIR_MAX;
  const own = paired ? amountIndex.groupOf(payer) : -1;
  const ownPaid = own >= 0 && (time[groupStart[own] as number] as number) >= from;
  let found = paired && !ownPaid ? (s.wide ??= amountIndex.search(payer)) : undefined;
  if (!found || !found.complete) {
    const top = (s.narrow ??= amountIndex.search(payer, TOP_FLOOR));
    let settled = false;
    if (top.complete) {
      for (let c = 0; c < top.count; c++) {
        const g = top.groups[c] as number;
        if ((time[groupStart[g] as number] as number) < from) continue;
        settled = (top.scores[c] as number) >= 1 - 1e-12;
        break;
      }
    }
    if (settled) found = top;
    else if (!paired) found = top.complete ? (s.wide ??= amountIndex.search(payer)) : top;
    else {
      // As when the wide search comes first: it decides when complete, else the narrow one
      // if cut short, else the wide one.
      const wide = (s.wide ??= amountIndex.search(payer));
      found = wide.complete || top.complete ? wide : top;
    }
  }
  s.complete = found.complete;
  for (let c = 0; c < found.count; c++) {
    const g = found.groups[c] as number;
    if ((time[groupStart[g] as number] as number) < from) continue;
    const score = found.scores[c] as number;
    if (bestScore < 0) {
      bestScore = score;
      // The best in the window is below the minimum: not found, whatever the rivals.
      if (found.complete && score < MIN_SCORE) break;
    } else if (score <= bestScore - CLEAR_MARGIN) break;
    plausibleGroups[count] = g;
    plausibleScores[count] = score;
    count += 1;
  }
  // Names the search left unscored (bound below the minimum; complete searches only) are
  // scored only when their bound can change the decision: a higher best of a request not
  // found, or a rival within the margin of the best. Every "María w1 …" of an amount shares
  // two words with "María w1 w2": scored eagerly, their count grew with the amount.
  const tail = found.tail;
  const tailCount = found.tailCount;
  if (tailCount > 0) {
    const bounds = found.tailBounds;
    if (bestScore < MIN_SCORE) {
      for (let c = 0; c < tailCount; c++) {
        if ((bounds[c] as number) <= bestScore) continue; // it can at most tie
        const g = tail[c] as number;
        if ((time[groupStart[g] as number] as number) < from) continue;
        const score = names.score(payer, groupName[g] as number);
        if (score >= FLOOR && score > bestScore) bestScore = score;
      }
    } else {
      const cut = bestScore - CLEAR_MARGIN;
      for (let c = 0; c < tailCount; c++) {
        if ((bounds[c] as number) <= cut) continue;
        const g = tail[c] as number;
        if ((time[groupStart[g] as number] as number) < from) continue;
        const score = names.score(payer, groupName[g] as number);
        if (score < FLOOR || score <= cut) continue;
        plausibleGroups[count] = g;
        plausibleScores[count] = score;
        count += 1;
      }
    }
  }
  // The search ties equal scores by group: names of equal score go by name key here.
  if (count > 1) sortGroups(plausibleGroups, plausibleScores, count, groupName, names);
  s.best = bestScore;
  return count;
}

function matchByName(requests: MatchRequest[], transactions: MatchTransaction[]): MatchDecision[] {
  const names = createNameTable(transactions.length + requests.length);
  const arena = createArena();
  const index = indexTransactions(transactions, requests, names, arena);
  const { bucketGroups, groupStart, groupName, order, time, longestGroup, latest, requestOrder, requestAmount, txId } = index;
  const m = requests.length;
  // What the decisions need from each request, read once in input order (the walk below goes
  // in amount order): the window, and the payer's name id + 1 (0: none, or no such amount).
  const windowStart = arenaFloats(arena, m);
  const payerKey = arenaInts(arena, m);
  readPayers(requests, requestAmount, names, windowStart, payerKey);
  // Walk order: by amount, and within an amount by payer name (two stable counting sorts),
  // so the requests of one payer and amount come together and share one search without a
  // table of searches; within those, by time when a group is long (windowEnd). Decisions do
  // not depend on the order.
  const amountKey = requestAmount; // amount id + 1 (0: none), in place
  for (let r = 0; r < m; r++) amountKey[r] = (amountKey[r] as number) + 1;
  const timeOrdered = longestGroup > TIME_ORDERED_GROUP;
  let payerInput = requestOrder;
  if (timeOrdered) payerInput = timeOrder(requestOrder, windowStart, m, arena);
  const { order: byPayer, starts: payerStarts } = countingSort(payerInput, m, payerKey, names.nameCount() + 1, arena);
  arenaFree(arena, payerStarts);
  if (payerInput !== requestOrder) arenaFree(arena, payerInput);
  // Into requestOrder's array (read by the first sort only); amountStarts[a + 1]: amount a's first request.
  const { order: walkOrder, starts: amountStarts } = countingSort(byPayer, m, amountKey, latest.length + 1, arena, requestOrder);
  arenaFree(arena, byPayer);
  // The same, laid out in walk order so the walk reads them in sequence: gathered through
  // released buffers when the arena holds two of 4 bytes a request (independent random reads,
  // which overlap), else permuted in place, cycle by cycle (a copy of each was 12 MB more at
  // the peak at 1M; but each step of a cycle waits for the read before it: 60 ms at 1M).
  const walkFrom = windowStart;
  let walkPayerKey = payerKey; // payer name id + 1
  const gathered = gatherToWalkOrder(arena, walkOrder, windowStart, payerKey, m);
  if (gathered) walkPayerKey = gathered;
  else {
    for (let start = 0; start < m; start++) {
      if ((walkOrder[start] as number) < 0) continue;
      const firstFrom = windowStart[start] as number;
      const firstPayer = payerKey[start] as number;
      for (let k = start; ; ) {
        const r = walkOrder[k] as number;
        walkOrder[k] = -1 - r;
        if (r === start) {
          walkFrom[k] = firstFrom;
          walkPayerKey[k] = firstPayer;
          break;
        }
        walkFrom[k] = windowStart[r] as number;
        walkPayerKey[k] = payerKey[r] as number;
        k = r;
      }
    }
    for (let k = 0; k < m; k++) walkOrder[k] = -1 - (walkOrder[k] as number);
  }
  arenaFree(arena, amountKey);
  const walkOutcome = arenaBytes(arena, m); // by walk position, as walkCounts
  // Written in walk order into the walk's own arrays (each position is read once, at its
  // start), then put back in request order below: at 1M × 1M with many currencies, 8 MB of
  // new array buffers for the scores took the call past the 64 MB of external memory at
  // which V8 marks the caller's whole heap (a full collection, ~0.4 s).
  const walkChosen = walkPayerKey; // MATCHED, SHARED: transaction index; AMBIGUOUS, BOUND: candidate list id
  const value = walkFrom; // best name score considered (−1: none)
  const walkCounts = arenaInts(arena, m); // AMBIGUOUS: plausible transactions; SHARED: requests sharing the transaction
  // Sized so that no array grows in the walk but `recorded` and the lists, which start small
  // so that their growth runs in any warm-up: code first run on a large input deoptimises the whole walk.
  let recorded: Int32Array = new Int32Array(64); // candidate transaction indexes of ambiguous requests
  let recordedLength = 0;
  // Candidate lists: slices of `recorded`, one after another, by list id (at most one per
  // request): list l is recorded[listStart[l], listStart[l + 1]) (the last ends at recordedLength).
  let listStart: Int32Array = new Int32Array(64);
  let lists = 0;
  // Plausible groups of the current request (reused: no allocation per request).
  let mostGroups = 0; // an amount's groups: the most a request can find plausible
  for (let x = 0; x + 1 < bucketGroups.length; x++) mostGroups = Math.max(mostGroups, (bucketGroups[x + 1] as number) - (bucketGroups[x] as number));
  // Per group of the amount being walked (group − its first), set when the walk enters the
  // amount: its latest candidate list (requests with the same first plausible group usually
  // share it), and where the last window counted in it ended (windowEnd's hint). Sized by
  // the largest amount, not by all groups: 8 MB less at 1M when every amount is small.
  const lastList = arenaInts(arena, mostGroups);
  const windowAt = arenaInts(arena, mostGroups);
  const plausibleGroups = new Int32Array(mostGroups + 1);
  const plausibleScores = new Float64Array(mostGroups + 1);
  // The amount being walked: its name index, and the searches of the payer being walked.
  const searches: Searches = { amount: -1, index: undefined, payer: -1, wide: undefined, narrow: undefined, best: -1, complete: true };
  // Requests in amount order: each amount's transactions are read while they are in cache.
  let amount = -1;
  let enteredAmount = -1; // the amount whose lastList and windowAt are set
  let amountEnd = amountStarts[1] as number; // where the requests of `amount` end
  for (let k = 0; k < m; k++) {
    while (k >= amountEnd) {
      amount += 1;
      amountEnd = amountStarts[amount + 2] as number;
    }
    const from = walkFrom[k] as number;
    value[k] = -1;
    if (amount < 0) {
      walkOutcome[k] = NOT_FOUND_AMOUNT;
      continue;
    }
    if ((latest[amount] as number) < from) {
      walkOutcome[k] = NOT_FOUND_OLD;
      continue;
    }
    const payer = (walkPayerKey[k] as number) - 1;
    walkChosen[k] = 0;
    if (payer < 0) {
      walkOutcome[k] = NOT_FOUND_NAME;
      continue;
    }
    const gFrom = bucketGroups[amount] as number;
    const gTo = bucketGroups[amount + 1] as number;
    if (amount !== enteredAmount) {
      enteredAmount = amount;
      for (let g = gFrom; g < gTo; g++) {
        lastList[g - gFrom] = -1;
        windowAt[g - gFrom] = groupStart[g] as number;
      }
    }

    // The sender names of this amount with a transaction inside the window and a score within
    // the margin of the best, best first (ties by name): by scanning an amount with few
    // names, or from the search of the amount's name index for this payer name.
    let bestScore = -1;
    let count = 0;
    let complete = true;
    if (gTo - gFrom <= FEW_NAMES) {
      for (let g = gFrom; g < gTo; g++) {
        if ((time[groupStart[g] as number] as number) < from) continue;
        const score = names.score(payer, groupName[g] as number);
        if (score < FLOOR) continue;
        if (score > bestScore) bestScore = score;
        plausibleGroups[count] = g;
        plausibleScores[count] = score;
        count += 1;
      }
      let kept = 0;
      for (let c = 0; c < count; c++) {
        if ((plausibleScores[c] as number) > bestScore - CLEAR_MARGIN) {
          plausibleGroups[kept] = plausibleGroups[c] as number;
          plausibleScores[kept] = plausibleScores[c] as number;
          kept += 1;
        }
      }
      count = kept;
      if (count > 1) sortGroups(plausibleGroups, plausibleScores, count, groupName, names);
    } else {
      count = searchPlausible(searches, names, groupName, gFrom, gTo, amount, payer, from, time, groupStart, plausibleGroups, plausibleScores);
      bestScore = searches.best;
      complete = searches.complete;
    }
    value[k] = bestScore;
    if (complete && bestScore < MIN_SCORE) {
      walkOutcome[k] = bestScore >= 0 ? NOT_FOUND_SCORE : NOT_FOUND_NAME;
      continue;
    }
    // One in-window transaction in one group: a clear best. Otherwise all of them are plausible.
    const g0 = count > 0 ? (plausibleGroups[0] as number) : -1;
    const first = g0 >= 0 ? (groupStart[g0] as number) : -1;
    if (complete && count === 1 && (first + 1 >= (groupStart[g0 + 1] as number) || (time[first + 1] as number) < from)) {
      const i = order[first] as number;
      walkOutcome[k] = MATCHED;
      walkChosen[k] = i;
      continue;
    }
    // Best names first, newest first within a name.
    if (recordedLength + MAX_RECORDED_CANDIDATES > recorded.length) recorded = arenaGrow(arena, recorded);
    walkOutcome[k] = complete ? AMBIGUOUS : BOUND;
    let total = 0;
    let kept = 0;
    for (let c = 0; c < count; c++) {
      const g = plausibleGroups[c] as number;
      const start = groupStart[g] as number;
      const end = windowEnd(time, start, groupStart[g + 1] as number, from, timeOrdered ? (windowAt[g - gFrom] as number) : start);
      windowAt[g - gFrom] = end;
      const inWindow = end - start;
      total += inWindow;
      for (let at = start; at < start + inWindow && kept < MAX_RECORDED_CANDIDATES; at++) recorded[recordedLength + kept++] = order[at] as number;
    }
    walkCounts[k] = total;
    // Requests of the same payer and amount usually share their candidates: keep one list for them.
    const previous = g0 >= 0 ? (lastList[g0 - gFrom] as number) : -1;
    if (previous >= 0 && (previous + 1 < lists ? (listStart[previous + 1] as number) : recordedLength) - (listStart[previous] as number) === kept && sameSlice(recorded, listStart[previous] as number, recordedLength, kept)) walkChosen[k] = previous;
    else {
      if (lists === listStart.length) {
        listStart = arenaGrow(arena, listStart);
      }
      listStart[lists] = recordedLength;
      if (g0 >= 0) lastList[g0 - gFrom] = lists;
      walkChosen[k] = lists;
      lists += 1;
      recordedLength += kept;
    }
  }

  // The index is no longer read: its buffers serve toRequestOrder.
  arenaFree(arena, time); arenaFree(arena, order); arenaFree(arena, groupStart); arenaFree(arena, latest); arenaFree(arena, bucketGroups);
  const chosen = toRequestOrder(arena, walkOrder, value, walkChosen, m);
  const outcome = arenaBytes(arena, m);
  const counts = arenaInts(arena, m);
  scatterOutcomes(walkOrder, walkOutcome, walkCounts, outcome, counts, m);
  // One transaction cannot settle two requests: when it is the clear best of several, none is
  // picked. Found after the walk with two bits per transaction (chosen once, chosen again).
  const n = transactions.length;
  const once = new Uint8Array((n >> 3) + 1);
  const again = new Uint8Array((n >> 3) + 1);
  let anyAgain = false;
  for (let r = 0; r < m; r++) {
    if (outcome[r] !== MATCHED) continue;
    const i = chosen[r] as number;
    const bit = 1 << (i & 7);
    if (((once[i >> 3] as number) & bit) === 0) once[i >> 3] = (once[i >> 3] as number) | bit;
    else {
      again[i >> 3] = (again[i >> 3] as number) | bit;
      anyAgain = true;
    }
  }
  if (anyAgain) {
    const shared = new Map<number, number[]>(); // transactions chosen more than once → the requests that chose them
    for (let r = 0; r < m; r++) {
      if (outcome[r] !== MATCHED) continue;
      const i = chosen[r] as number;
      if (((again[i >> 3] as number) & (1 << (i & 7))) !== 0) appendTo(shared, i, r);
    }
    for (const chosenBy of shared.values()) {
      for (const r of chosenBy) {
        outcome[r] = SHARED;
        counts[r] = chosenBy.length;
      }
    }
  }

  if (lists === listStart.length) listStart = arenaGrow(arena, listStart);
  listStart[lists] = recordedLength;
  return buildDecisions(requests, txId, outcome, chosen, value, counts, recorded, listStart, lists);
}

/**
 * `windowStart` put in walk order in place and `payerKey` gathered into walk order, through
 * released buffers of the arena (4 bytes a request each; none allocated): returns the payer
 * keys in walk order (`payerKey`'s buffer released), or undefined, nothing changed, when the
 * arena has fewer than two such buffers. A Float64Array is moved as two 32-bit words.
 */
function gatherToWalkOrder(arena: Arena, walkOrder: Int32Array, windowStart: Float64Array, payerKey: Int32Array, m: number): Int32Array | undefined {
  if (m * 4 < ARENA_MIN_BYTES) return undefined;
  const a = reuse(arena, m * 4);
  if (!a) return undefined;
  const b = reuse(arena, m * 4);
  if (!b) {
    arena.push(a);
    return undefined;
  }
  const words = new Int32Array(windowStart.buffer, windowStart.byteOffset, 2 * m);
  const low = new Int32Array(a, 0, m);
  const high = new Int32Array(b, 0, m);
  for (let k = 0; k < m; k++) {
    const r = walkOrder[k] as number;
    low[k] = words[2 * r] as number;
    high[k] = words[2 * r + 1] as number;
  }
  for (let k = 0; k < m; k++) {
    words[2 * k] = low[k] as number;
    words[2 * k + 1] = high[k] as number;
  }
  // The payer keys into `a` (its low words no longer needed).
  for (let k = 0; k < m; k++) low[k] = payerKey[walkOrder[k] as number] as number;
  arena.push(b);
  arenaFree(arena, payerKey);
  return low;
}

/** The walk's outcomes and counts (by walk position) into `outcome` and `counts` by request. */
function scatterOutcomes(walkOrder: Int32Array, walkOutcome: Uint8Array, walkCounts: Int32Array, outcome: Uint8Array, counts: Int32Array, m: number): void {
  for (let k = 0; k < m; k++) {
    const r = walkOrder[k] as number;
    outcome[r] = walkOutcome[k] as number;
    counts[r] = walkCounts[k] as number;
  }
}

/**
 * `value` and `chosen`, written by walk position (`walkOrder[k]`: its request), put in request
 * order: scattered through two released buffers of the arena when it holds them (independent
 * writes, which overlap; `value` in place, moved as two 32-bit words; `chosen` into one of
 * them, its own buffer released), else in place, cycle by cycle (visited positions marked in
 * walkOrder as −1 − r, then restored). Returns `chosen` in request order.
 */
function toRequestOrder(arena: Arena, walkOrder: Int32Array, value: Float64Array, chosen: Int32Array, m: number): Int32Array {
  const a = m * 4 >= ARENA_MIN_BYTES ? reuse(arena, m * 4) : undefined;
  const b = a ? reuse(arena, m * 4) : undefined;
  if (a && b) {
    const words = new Int32Array(value.buffer, value.byteOffset, 2 * m);
    const low = new Int32Array(a, 0, m);
    const high = new Int32Array(b, 0, m);
    for (let k = 0; k < m; k++) {
      const r = walkOrder[k] as number;
      low[r] = words[2 * k] as number;
      high[r] = words[2 * k + 1] as number;
    }
    for (let r = 0; r < m; r++) {
      words[2 * r] = low[r] as number;
      words[2 * r + 1] = high[r] as number;
    }
    for (let k = 0; k < m; k++) low[walkOrder[k] as number] = chosen[k] as number;
    arena.push(b);
    arenaFree(arena, chosen);
    return low;
  }
  if (a) arena.push(a);
  for (let start = 0; start < m; start++) {
    if ((walkOrder[start] as number) < 0) continue;
    let v = value[start] as number;
    let c = chosen[start] as number;
    for (let k = start; ; ) {
      const r = walkOrder[k] as number;
      walkOrder[k] = -1 - r;
      const nextV = value[r] as number;
      const nextC = chosen[r] as number;
      value[r] = v;
      chosen[r] = c;
      if (r === start) break;
      v = nextV;
      c = nextC;
      k = r;
    }
  }
  for (let k = 0; k < m; k++) walkOrder[k] = -1 - (walkOrder[k] as number);
  return chosen;
}

/**
 * The decision objects, from what the walk recorded per request. A function of its own: its
 * rarer outcomes and reasons (first met in a large call) deoptimise only it, not the walk.
 */
function buildDecisions(requests: MatchRequest[], txId: string[], outcome: Uint8Array, chosen: Int32Array, value: Float64Array, counts: Int32Array, recorded: Int32Array, listStart: Int32Array, lists: number): MatchDecision[] {
  const m = requests.length;
  const decisions: MatchDecision[] = sized(m);
  const listIds: (readonly string[] | undefined)[] = sized(lists); // candidate ids by list, made once
  // A list is frozen when a second decision takes it (shared, no decision can change
  // another's): freezing each cost ~170 ns, a third of the decisions of 30-word names, whose
  // lists are each one request's.
  const shared = new Uint8Array(lists);
  const candidatesOf = (list: number): readonly string[] => {
    let candidates = listIds[list];
    if (!candidates) {
      const from = listStart[list] as number;
      const ids: string[] = new Array((listStart[list + 1] as number) - from);
      for (let c = 0; c < ids.length; c++) ids[c] = txId[recorded[from + c] as number] as string;
      candidates = ids;
      listIds[list] = candidates;
    } else if (shared[list] === 0) {
      shared[list] = 1;
      Object.freeze(candidates);
    }
    return candidates;
  };
  const evidenceOf = new Map<number, MatchEvidence>(); // by best score: shared, frozen
  const NO_SCORE: MatchEvidence = Object.freeze({ reference: null, nameScore: null });
  // The last score's evidence first (scores repeat: 1, 1/2, 2/3 …), then the table.
  let lastScore = -1;
  let lastEvidence = NO_SCORE;
  const evidence = (score: number): MatchEvidence => {
    if (score < 0) return NO_SCORE;
    if (score === lastScore) return lastEvidence;
    let e = evidenceOf.get(score);
    if (!e) evidenceOf.set(score, (e = Object.freeze({ reference: null, nameScore: score })));
    lastScore = score;
    lastEvidence = e;
    return e;
  };
  for (let r = 0; r < m; r++) {
    const requestId = (requests[r] as MatchRequest).id;
    const e = evidence(value[r] as number);
    switch (outcome[r]) {
      case NOT_FOUND_AMOUNT:
        decisions[r] = { requestId, result: 'not_found', reason: NO_AMOUNT, evidence: NO_SCORE };
        break;
      case NOT_FOUND_OLD:
        decisions[r] = { requestId, result: 'not_found', reason: TOO_OLD, evidence: NO_SCORE };
        break;
      case NOT_FOUND_NAME:
        decisions[r] = { requestId, result: 'not_found', reason: NO_NAME, evidence: NO_SCORE };
        break;
      case NOT_FOUND_SCORE:
        decisions[r] = { requestId, result: 'not_found', reason: lowScoreReason(value[r] as number), evidence: e };
        break;
      case MATCHED: {
        const score = value[r] as number;
        decisions[r] = { requestId, result: 'matched', transactionId: txId[chosen[r] as number] as string, score, reason: scoreReason(score), evidence: e };
        break;
      }
      case AMBIGUOUS:
        decisions[r] = { requestId, result: 'ambiguous', candidates: candidatesOf(chosen[r] as number), reason: countReason(counts[r] as number), evidence: e };
        break;
      case BOUND:
        decisions[r] = { requestId, result: 'ambiguous', candidates: candidatesOf(chosen[r] as number), reason: BOUND_REASON, evidence: e };
        break;
      default:
        decisions[r] = {
          requestId,
          result: 'ambiguous',
          candidates: [txId[chosen[r] as number] as string],
          reason: `the same transaction is the best match for ${counts[r] as number} requests`,
          evidence: e,
        };
    }
  }
  return decisions;
}

function sameSlice(list: Int32Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (list[a + k] !== list[b + k]) return false;
  return true;
}

/**
 * An array of `length` holes: `new Array(length)` in optimised code allocates inline only up
 * to a size, and deoptimises the function the first time it is asked for more.
 */
function sized<T>(length: number): T[] {
  const list: T[] = [];
  list.length = length;
  return list;
}

/**
 * The first `count` groups by score (desc), then name key (asc): by insertion while few (the
 * lists are short, and usually ordered by score already), else by one sort.
 */
function sortGroups(groups: Int32Array, scores: Float64Array, count: number, groupName: Int32Array, names: NameTable): void {
  if (count > 16) {
    const ranked = Array.from({ length: count }, (_, c) => c);
    ranked.sort((x, y) => (scores[y] as number) - (scores[x] as number) || (names.key(groupName[groups[x] as number] as number) < names.key(groupName[groups[y] as number] as number) ? -1 : 1));
    const g = Int32Array.from(ranked, (c) => groups[c] as number);
    const s = Float64Array.from(ranked, (c) => scores[c] as number);
    groups.set(g);
    scores.set(s);
    return;
  }
  for (let k = 1; k < count; k++) {
    const g = groups[k] as number;
    const s = scores[k] as number;
    let j = k - 1;
    // Keys are read only for a tie of scores.
    while (j >= 0) {
      const sj = scores[j] as number;
      if (sj > s || (sj === s && names.key(groupName[groups[j] as number] as number) <= names.key(groupName[g] as number))) break;
      groups[j + 1] = groups[j] as number;
      scores[j + 1] = sj;
      j -= 1;
    }
    groups[j + 1] = g;
    scores[j + 1] = s;
  }
}

/**
 * A reference beats a name (SPEC §4): a transaction whose reference text holds an open
 * request's external id as a whole token, with the same amount and currency and inside the
 * request's window, is that request's match whatever the payer's name. A transaction that
 * references two requests leaves them ambiguous, and so does a request referenced by two
 * transactions. Those requests and transactions are then left out of matching by name, which
 * decides the rest exactly as without references.
 */
export function matchRequests(requests: MatchRequest[], transactions: MatchTransaction[]): MatchDecision[] {
  const links = findReferences(requests, transactions, WINDOW_MS);
  if (links.length === 0) return matchByName(requests, transactions);
  const byTransaction = new Map<number, number[]>();
  const byRequest = new Map<number, number[]>();
  for (const [r, t] of links) {
    appendTo(byTransaction, t, r);
    appendTo(byRequest, r, t);
  }
  const decided = new Map<number, MatchDecision>();
  const idOf = (r: number) => (requests[r] as MatchRequest).externalId as string;
  const score = (r: number, t: number) => scoreNames((requests[r] as MatchRequest).name, (transactions[t] as MatchTransaction).senderName);
  // A transaction referencing several requests: none of them is picked.
  for (const [t, rs] of byTransaction) {
    if (rs.length < 2) continue;
    for (const r of rs) {
      decided.set(r, {
        requestId: (requests[r] as MatchRequest).id,
        result: 'ambiguous',
        candidates: [(transactions[t] as MatchTransaction).id],
        reason: `the transaction's reference names ${rs.length} requests (${rs.map(idOf).join(', ')})`,
        evidence: { reference: idOf(r), nameScore: score(r, t) },
      });
    }
  }
  for (const [r, ts] of byRequest) {
    if (decided.has(r)) continue;
    const request = requests[r] as MatchRequest;
    if (ts.length > 1) {
      const ordered = [...ts].sort((a, b) => (transactions[b] as MatchTransaction).receivedAtMs - (transactions[a] as MatchTransaction).receivedAtMs || ((transactions[a] as MatchTransaction).id < (transactions[b] as MatchTransaction).id ? -1 : 1));
      decided.set(r, {
        requestId: request.id,
        result: 'ambiguous',
        candidates: ordered.slice(0, MAX_RECORDED_CANDIDATES).map((t) => (transactions[t] as MatchTransaction).id),
        reason: `${ts.length} transactions reference ${idOf(r)}`,
        evidence: { reference: idOf(r), nameScore: ts.reduce((most, t) => Math.max(most, score(r, t)), 0) },
      });
      continue;
    }
    const t = ts[0] as number;
    const nameScore = score(r, t);
    decided.set(r, {
      requestId: request.id,
      result: 'matched',
      transactionId: (transactions[t] as MatchTransaction).id,
      score: nameScore,
      reason: `reference ${idOf(r)} in the transaction's reference text (name score ${nameScore.toFixed(2)})`,
      evidence: { reference: idOf(r), nameScore },
    });
  }
  const restRequests = requests.filter((_, r) => !decided.has(r));
  const restTransactions = transactions.filter((_, t) => !byTransaction.has(t));
  const byName = new Map(matchByName(restRequests, restTransactions).map((d) => [d.requestId, d]));
  return requests.map((request, r) => decided.get(r) ?? (byName.get(request.id) as MatchDecision));
}
