import anyAscii from 'any-ascii';

/**
 * Payer names, compared the way a person would (SPEC §4), in any script.
 *
 * Words are runs of Unicode letters and digits (a combining mark stays with its letter), so
 * ø, ł, ß, æ, đ, þ and every non-Latin script stay whole words. Punctuation separates
 * words; single letters joined by dots or a slash are one abbreviation ("S.A.", "A/S" are
 * "sa", "as"); apostrophes vanish ("O'Brien" is "obrien"); a "?" or "\uFFFD" between letters,
 * which banks print for a letter they cannot encode, stays inside its word ("S?ren" is one
 * word, equal only to itself). Han and Hangul names are written without spaces, so a space
 * between two of their characters is ignored ("王 小明" is "王小明").
 *
 * Each word has two forms. Its own form: Latin words folded to ASCII (any-ascii: accents
 * gone, ø → o, ł → l, ß → ss, æ → ae, ı and İ → i); Greek and Cyrillic words lower-cased
 * without accents; other scripts lower-cased as written; hiragana as katakana. Its
 * transliteration (any-ascii; a Han or Hangul name as its first character — the family
 * name — and the rest, as pinyin and Korean romanisation write them). A name's tokens are
 * its words' own forms; a name is Latin when all of them are ASCII. Two names are scored on
 * their own forms and, when one of them is Latin and the other is not, also on their
 * transliterations; the better score counts. Two non-Latin names are compared in their own
 * script only: transliteration loses distinctions (王小明 and 汪晓鸣 are both "wangxiaoming").
 *
 * An initial is a word of exactly one cased letter standing alone ("J." or "J", "И."); a
 * single Han character, a digit or a piece of a longer word never is. Company suffixes (S.A.,
 * SRL, LTDA, Inc, GmbH, A/S, ООО …) are ignored unless nothing else is left.
 *
 * Scoring, in [0, 1]. Equal tokens pair first (1 each); then initials pair with words they
 * begin, either way round, as many pairs as possible (0.9 each). With m the paired weight, s
 * and l the token counts of the shorter and longer name, the score is the mean of both
 * coverages: (m/s + m/l) / 2. So the same name in any order scores 1, "J. Pérez" ~ "Juan
 * Pérez" 0.95, "Juan Pérez" against "Juan Carlos Pérez Gómez" 0.75 (a match), "Juan Pérez"
 * against "Juana Pérez" 0.5 and "ACME" against "ACME Holdings Uruguay Group" 0.625 (no
 * match: one shared word of four). The minimum is 0.7. There is no fuzzy spelling tolerance
 * on purpose: a different word is a different person when money is at stake, and the
 * operator decides.
 */

export const MIN_SCORE = 0.7;
/** A best candidate is clear only if the next one scores at least this much less. */
export const CLEAR_MARGIN = 0.15;
/** Weight of an initial paired with a word it begins. */
export const INITIAL_WEIGHT = 0.9;

/** Company suffixes, in their ASCII form. */
export const COMPANY_SUFFIXES: ReadonlySet<string> = new Set([
  'sa', 'srl', 'ltda', 'inc', 'llc', 'ltd', 'sas', 'sac', 'saic', 'sl', 'gmbh', 'corp', 'cia', 'co',
  'ag', 'ab', 'as', 'aps', 'oy', 'bv', 'nv', 'spa', 'sro', 'plc', 'pty', 'ooo', 'oao', 'zao', 'pao', 'tov',
]);

/** A name as the matcher compares it; every field follows from `tokens`. */
export type ParsedName = {
  /** Own-form tokens, sorted (code units), unique; an initial ends with ".". */
  readonly tokens: readonly string[];
  /** Transliterated tokens, sorted, unique (the same array as `tokens` for a Latin name). */
  readonly latin: readonly string[];
  /** Every token is ASCII. */
  readonly isLatin: boolean;
  /** `tokens` joined by spaces: equal keys, equal names. */
  readonly key: string;
};

/** A parsed name without its key (for callers that key names their own way, such as the matcher). */
export type NameParts = Omit<ParsedName, 'key'>;

const EMPTY: ParsedName = Object.freeze({ tokens: [], latin: [], isLatin: true, key: '' });

function withKey(parts: NameParts): ParsedName {
  const tokens = parts.tokens;
  return { tokens, latin: parts.latin, isLatin: parts.isLatin, key: tokens.length === 1 ? (tokens[0] as string) : tokens.join(' ') };
}

const APOSTROPHES = /['\u2018\u2019\u02bc`\u00b4]/g;
const ABBREVIATION = /(?<![\p{L}\p{M}\p{N}])\p{L}\p{M}*(?:[./]\p{L}\p{M}*)+(?![\p{L}\p{M}\p{N}])/gu;
const ABBREVIATION_JOINERS = /[./]/g;
const UNKNOWN_LETTER = /(?<=[\p{L}\p{M}\p{N}])[?\uFFFD]+(?=[\p{L}\p{N}])/gu;
const HAN_SPACE = /(?<=[\p{sc=Han}\p{sc=Hangul}]\p{M}*)\s+(?=[\p{sc=Han}\p{sc=Hangul}])/gu;
const WORD =
  /(?:[\p{sc=Han}\p{sc=Hangul}]\p{M}*)+|(?:[\p{sc=Hiragana}\p{sc=Katakana}\u30fc]\p{M}*)+|(?:(?![\p{sc=Han}\p{sc=Hangul}\p{sc=Hiragana}\p{sc=Katakana}])[\p{L}\p{N}])(?:(?![\p{sc=Han}\p{sc=Hangul}\p{sc=Hiragana}\p{sc=Katakana}\u30fc])[\p{L}\p{M}\p{N}\uFFFD])*/gu;
const HAN_HANGUL_START = /^[\p{sc=Han}\p{sc=Hangul}]/u;
const KANA_START = /^[\p{sc=Hiragana}\p{sc=Katakana}\u30fc]/u;
const LATIN_WORD = /^[\p{sc=Latin}\p{N}\uFFFD]+$/u;
const GREEK_OR_CYRILLIC = /[\p{sc=Greek}\p{sc=Cyrillic}]/u;
const MARKS = /\p{M}/gu;
const ONE_LETTER = /^\p{L}\p{M}*$/u;
const NOT_ASCII_WORD = /[^a-z0-9?]/g;
const ASCII = /^[\p{ASCII}]*$/u;

/** ASCII form of a word, lower case, letters and digits only (a "\uFFFD" becomes "?"). */
function ascii(word: string): string {
  return anyAscii(word.replace(/\uFFFD/g, '?')).toLowerCase().replace(NOT_ASCII_WORD, '');
}

function kanaAsKatakana(word: string): string {
  let out = '';
  for (const ch of word) {
    const code = ch.codePointAt(0) as number;
    out += code >= 0x3041 && code <= 0x3096 ? String.fromCodePoint(code + 0x60) : ch;
  }
  return out;
}

type Word = { own: string; latin: string[]; suffix: boolean };

function word(raw: string): Word | undefined {
  if (HAN_HANGUL_START.test(raw)) {
    const chars = [...raw];
    const latin = [ascii(chars[0] as string), ascii(chars.slice(1).join(''))].filter((w) => w !== '');
    return { own: raw, latin, suffix: false };
  }
  if (KANA_START.test(raw)) {
    const own = kanaAsKatakana(raw);
    const latin = ascii(own);
    return { own, latin: latin === '' ? [] : [latin], suffix: false };
  }
  const initial = ONE_LETTER.test(raw) && raw.toLowerCase() !== raw.toUpperCase();
  const lower = raw.toLowerCase();
  const bare = lower.normalize('NFD').replace(MARKS, '');
  let own: string;
  let latin: string;
  if (LATIN_WORD.test(bare)) {
    own = ascii(bare);
    if (own === '') return undefined;
    latin = own;
  } else {
    own = (GREEK_OR_CYRILLIC.test(bare) ? bare : lower).normalize('NFC').replace(/ς/g, 'σ');
    latin = ascii(own);
  }
  if (initial) return { own: `${own}.`, latin: latin === '' ? [] : [`${latin}.`], suffix: false };
  return { own, latin: latin === '' ? [] : [latin], suffix: COMPANY_SUFFIXES.has(latin) };
}

function sortedUnique(list: string[]): string[] {
  list.sort();
  let kept = 0;
  for (let k = 0; k < list.length; k++) if (k === 0 || list[k] !== list[kept - 1]) list[kept++] = list[k] as string;
  list.length = kept;
  return list;
}

/** Parses a name without the cache or the fast path (exported for the test that compares them). */
export function parseSlow(name: string): ParsedName {
  const text = name
    .normalize('NFKC')
    .replace(APOSTROPHES, '')
    .replace(ABBREVIATION, (abbreviation) => abbreviation.replace(ABBREVIATION_JOINERS, ''))
    .replace(UNKNOWN_LETTER, '\uFFFD')
    .replace(HAN_SPACE, '');
  const words: Word[] = [];
  for (const match of text.matchAll(WORD)) {
    const w = word(match[0]);
    if (w) words.push(w);
  }
  return finish(words);
}

/**
 * The common case, names written with Latin letters below U+0250 that have no compatibility
 * form, parsed in one pass over the characters with a table of folded letters: the same
 * result as `parse` (test/reconcile/names.test.ts compares them on random names), several
 * times faster, which counts when a poll brings a million distinct names.
 */
const FAST_LIMIT = 0x250;
const Kind = {
  Other: 0,
  Letter: 1,
  Digit: 2,
  Apostrophe: 3,
  Joiner: 4, // "." or "/"
  Unknown: 5, // "?"
  Dropped: 6, // a joiner inside an abbreviation
  Unusable: 255, // a character the fast path leaves to `parseSlow`
} as const;
const kindOf = new Uint8Array(FAST_LIMIT);
const foldOf: string[] = new Array<string>(FAST_LIMIT).fill('');
const casedOf = new Uint8Array(FAST_LIMIT);
let fastUsable = true;
for (let code = 0; code < FAST_LIMIT; code++) {
  const ch = String.fromCharCode(code);
  if (ch.normalize('NFKC') !== ch.normalize('NFC')) kindOf[code] = Kind.Unusable;
  else if (/\p{L}/u.test(ch)) {
    kindOf[code] = Kind.Letter;
    foldOf[code] = ascii(ch.toLowerCase().normalize('NFD').replace(MARKS, ''));
    casedOf[code] = ch.toLowerCase() !== ch.toUpperCase() ? 1 : 0;
    if (!LATIN_WORD.test(ch)) fastUsable = false;
  } else if (/\p{N}/u.test(ch)) {
    kindOf[code] = Kind.Digit;
    foldOf[code] = ascii(ch);
  } else if (/\p{M}/u.test(ch)) kindOf[code] = Kind.Unusable;
  else if (ch === "'" || ch === '`') kindOf[code] = Kind.Apostrophe;
  else if (ch === '.' || ch === '/') kindOf[code] = Kind.Joiner;
  else if (ch === '?') kindOf[code] = Kind.Unknown;
}

function isWordKind(kind: number): boolean {
  return kind === Kind.Letter || kind === Kind.Digit;
}

// Each letter's fold as UTF-16 code units (foldOf as codes): the fast path writes words as codes.
const foldFrom = new Int32Array(FAST_LIMIT + 1);
let MOST_FOLDED = 1;
const foldCodes: number[] = [];
for (let code = 0; code < FAST_LIMIT; code++) {
  foldFrom[code] = foldCodes.length;
  const fold = foldOf[code] as string;
  for (let k = 0; k < fold.length; k++) foldCodes.push(fold.charCodeAt(k));
  if (fold.length > MOST_FOLDED) MOST_FOLDED = fold.length;
}
foldFrom[FAST_LIMIT] = foldCodes.length;
const FOLD_CODES = Uint16Array.from(foldCodes);

/** Company suffixes as small integers (length, then 7 bits per ASCII code): looked up without making a string per word. */
const SUFFIX_KEYS = new Set<number>();
let LONGEST_SUFFIX = 0;
for (const suffix of COMPANY_SUFFIXES) {
  let key = suffix.length;
  for (let k = 0; k < suffix.length; k++) key = key * 128 + suffix.charCodeAt(k);
  SUFFIX_KEYS.add(key);
  LONGEST_SUFFIX = Math.max(LONGEST_SUFFIX, suffix.length);
}
function isSuffixCodes(codes: Uint16Array, from: number, to: number): boolean {
  if (to - from < 2 || to - from > LONGEST_SUFFIX) return false;
  let key = to - from;
  for (let k = from; k < to; k++) {
    const code = codes[k] as number;
    if (code >= 128) return false;
    key = key * 128 + code;
  }
  return SUFFIX_KEYS.has(key);
}

let scratchKinds = new Uint8Array(256);
let scratchCodes = new Uint16Array(256);

/**
 * The fast path's tokens as UTF-16 code units, in the order of the name, repeats kept:
 * token t is `codes[t === 0 ? 0 : ends[t - 1], ends[t])`. Overwritten by the next call.
 */
export type CodeTokens = { codes: Uint16Array; ends: Int32Array; suffix: Uint8Array };
const fastTokens: CodeTokens = { codes: new Uint16Array(1024), ends: new Int32Array(256), suffix: new Uint8Array(256) };

/** The tokens of the last parseFastCodes call (see CodeTokens). */
export function fastTokenCodes(): CodeTokens {
  return fastTokens;
}

/**
 * `parse` for names the fast path handles, as codes (fastTokenCodes): the token count (0: no
 * usable name), or −1 when the fast path does not apply. For a caller that interns tokens by
 * their codes (the matcher's name table), without a string per word.
 */
export function parseFastCodes(name: string): number {
  if (!fastUsable) return -1;
  // Characters, apostrophes dropped (as `parse` does first).
  const n = name.length;
  if (n > scratchKinds.length) {
    scratchKinds = new Uint8Array(n * 2);
    scratchCodes = new Uint16Array(n * 2);
  }
  // A word writes at most MOST_FOLDED codes a character, and a mark ("." or "?").
  if (n * (MOST_FOLDED + 1) + 2 > fastTokens.codes.length) fastTokens.codes = new Uint16Array(n * (MOST_FOLDED + 1) * 2 + 2);
  if (n + 1 > fastTokens.ends.length) {
    fastTokens.ends = new Int32Array(n * 2 + 2);
    fastTokens.suffix = new Uint8Array(n * 2 + 2);
  }
  const kinds = scratchKinds;
  const codes = scratchCodes;
  let length = 0;
  let joiners = 0;
  for (let k = 0; k < n; k++) {
    const code = name.charCodeAt(k);
    if (code >= FAST_LIMIT) return -1;
    const kind = kindOf[code] as number;
    if (kind === Kind.Unusable) return -1;
    if (kind === Kind.Apostrophe) continue;
    if (kind === Kind.Joiner) joiners += 1;
    kinds[length] = kind;
    codes[length] = code;
    length += 1;
  }
  // Abbreviations: single letters joined by "." or "/", standing alone, lose their joiners.
  for (let k = 0; joiners > 0 && k < length; k++) {
    if (kinds[k] !== Kind.Letter || (k > 0 && isWordKind(kinds[k - 1] as number))) continue;
    let last = k;
    while (last + 2 < length && kinds[last + 1] === Kind.Joiner && kinds[last + 2] === Kind.Letter) last += 2;
    if (last + 1 < length && isWordKind(kinds[last + 1] as number)) last -= 2;
    if (last > k) {
      for (let j = k + 1; j < last; j += 2) kinds[j] = Kind.Dropped;
      k = last;
    } else {
      // Not an abbreviation: skip the rest of this word.
      while (k + 1 < length && isWordKind(kinds[k + 1] as number)) k++;
    }
  }
  // Words: runs of letters and digits, folded; "?" between them stays inside; dropped joiners are skipped.
  const out = fastTokens.codes;
  const ends = fastTokens.ends;
  const suffix = fastTokens.suffix;
  let written = 0;
  let count = 0;
  let suffixes = 0;
  let k = 0;
  while (k < length) {
    if (!isWordKind(kinds[k] as number)) {
      k++;
      continue;
    }
    const begin = written;
    let chars = 0;
    let lastCode = 0;
    while (k < length) {
      const kind = kinds[k] as number;
      if (isWordKind(kind)) {
        const code = codes[k] as number;
        if (code < 128) out[written++] = FOLD_CODES[foldFrom[code] as number] as number; // ASCII: one code
        else for (let f = foldFrom[code] as number; f < (foldFrom[code + 1] as number); f++) out[written++] = FOLD_CODES[f] as number;
        chars += 1;
        lastCode = code;
        k++;
      } else if (kind === Kind.Dropped) k++;
      else if (kind === Kind.Unknown) {
        let to = k;
        while (to < length && kinds[to] === Kind.Unknown) to++;
        if (to < length && isWordKind(kinds[to] as number)) {
          out[written++] = 63; // "?"
          chars += 2; // never a single letter
          k = to;
        } else break;
      } else break;
    }
    if (written === begin) continue;
    if (chars === 1 && kinds[k - 1] === Kind.Letter && casedOf[lastCode] === 1) {
      out[written++] = 46; // "."
      suffix[count] = 0;
    } else if (isSuffixCodes(out, begin, written)) {
      suffix[count] = 1;
      suffixes += 1;
    } else suffix[count] = 0;
    ends[count++] = written;
  }
  // Company suffixes are dropped unless nothing else is left.
  if (suffixes > 0 && suffixes < count) {
    let kept = 0;
    let to = 0;
    for (let t = 0, from = 0; t < count; from = ends[t] as number, t++) {
      const end = ends[t] as number;
      if (suffix[t] === 1) continue;
      for (let c = from; c < end; c++) out[to++] = out[c] as number;
      ends[kept] = to;
      suffix[kept] = 0;
      kept += 1;
    }
    count = kept;
  }
  return count;
}

/** An ASCII character as scanSimpleWords reads it: a letter's or digit's folded code, OTHER (a separator) or NOT_PLAIN. */
const OTHER = -1;
const NOT_PLAIN = -2;
const ASCII_FOLD = new Int32Array(128);
for (let code = 0; code < 128; code++) {
  const kind = kindOf[code] as number;
  if (kind === Kind.Letter || kind === Kind.Digit) {
    if ((foldFrom[code + 1] as number) - (foldFrom[code] as number) !== 1) throw new Error(`ASCII ${code} does not fold to one code`);
    ASCII_FOLD[code] = FOLD_CODES[foldFrom[code] as number] as number;
  } else ASCII_FOLD[code] = kind === Kind.Other ? OTHER : NOT_PLAIN;
}

/** Hash of UTF-16 codes (32 bits), as scanSimpleWords computes it word by word: codes first, then the length. */
export function hashCodes(codes: Uint16Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let k = from; k < to; k++) h = Math.imul(h ^ (codes[k] as number), 0x01000193);
  h = Math.imul(h ^ (to - from), 0x01000193);
  return h ^ (h >>> 15);
}

/** Whether a token's codes are a company suffix (its codes as parseFastCodes writes them). */
export function isSuffixToken(codes: Uint16Array, from: number, to: number): boolean {
  return isSuffixCodes(codes, from, to);
}

/**
 * The words of the last scanSimpleWords call: word w is `codes[w === 0 ? 0 : ends[w - 1], ends[w])`,
 * with `hashes[w]` its hashCodes. Overwritten by the next call.
 */
export type SimpleWords = { codes: Uint16Array; ends: Int32Array; hashes: Int32Array };
const simpleWords: SimpleWords = { codes: new Uint16Array(1024), ends: new Int32Array(256), hashes: new Int32Array(256) };

/** The words of the last scanSimpleWords call (see SimpleWords). */
export function simpleWordCodes(): SimpleWords {
  return simpleWords;
}

/**
 * parseFastCodes in one pass for a name of letters, digits and separators only — no
 * apostrophe, "." or "/", "?", or character the fast path leaves to parseSlow: the same
 * words, in the same order, each word's hash computed as it is written. Company suffixes are
 * kept: the caller drops them as parseFastCodes does (every suffix word when some word is
 * not one; isSuffixToken tells them). Returns the word count, or −1 when the name holds any
 * other character (then parseFastCodes applies). Long names (30 words) were read three times
 * by parseFastCodes and their words hashed a fourth.
 */
export function scanSimpleWords(name: string): number {
  if (!fastUsable) return -1;
  const n = name.length;
  if (n * (MOST_FOLDED + 1) + 2 > simpleWords.codes.length) simpleWords.codes = new Uint16Array(n * (MOST_FOLDED + 1) * 2 + 2);
  if (n + 1 > simpleWords.ends.length) {
    simpleWords.ends = new Int32Array(n * 2 + 2);
    simpleWords.hashes = new Int32Array(n * 2 + 2);
  }
  const out = simpleWords.codes;
  const ends = simpleWords.ends;
  const hashes = simpleWords.hashes;
  let written = 0;
  let count = 0;
  let begin = 0;
  let chars = 0; // characters of the word being read (0: between words)
  let lastCode = 0;
  let h = 0x811c9dc5;
  for (let k = 0; k <= n; k++) {
    const code = k < n ? name.charCodeAt(k) : 32;
    if (code < 128) {
      const c = ASCII_FOLD[code] as number;
      if (c >= 0) {
        out[written++] = c;
        h = Math.imul(h ^ c, 0x01000193);
        chars += 1;
        lastCode = code;
        continue;
      }
      if (c === NOT_PLAIN) return -1;
    } else {
      if (code >= FAST_LIMIT) return -1;
      const kind = kindOf[code] as number;
      if (kind === Kind.Letter || kind === Kind.Digit) {
        for (let f = foldFrom[code] as number; f < (foldFrom[code + 1] as number); f++) {
          const c = FOLD_CODES[f] as number;
          out[written++] = c;
          h = Math.imul(h ^ c, 0x01000193);
        }
        chars += 1;
        lastCode = code;
        continue;
      }
      if (kind !== Kind.Other) return -1;
    }
    if (chars === 0) continue;
    // The end of a word: a single cased letter (only letters are cased) is an initial.
    if (written > begin) {
      if (chars === 1 && casedOf[lastCode] === 1) {
        out[written++] = 46; // "."
        h = Math.imul(h ^ 46, 0x01000193);
      }
      h = Math.imul(h ^ (written - begin), 0x01000193);
      hashes[count] = h ^ (h >>> 15);
      ends[count++] = written;
      begin = written;
    }
    chars = 0;
    h = 0x811c9dc5;
  }
  return count;
}

/** `parse` for names the fast path handles (without the key), or undefined. */
function parseFast(name: string, sorted = true): NameParts | undefined {
  const count = parseFastCodes(name);
  if (count < 0) return undefined;
  if (count === 0) return EMPTY;
  const tokens: string[] = new Array<string>(count);
  const { codes, ends } = fastTokens;
  for (let t = 0, from = 0; t < count; from = ends[t] as number, t++) tokens[t] = String.fromCharCode.apply(null, codes.subarray(from, ends[t] as number) as unknown as number[]);
  if (sorted) sortedUnique(tokens);
  return { tokens, latin: tokens, isLatin: true };
}

function finish(words: Word[]): ParsedName {
  const kept = words.some((w) => w.suffix) && !words.every((w) => w.suffix) ? words.filter((w) => !w.suffix) : words;
  if (kept.length === 0) return EMPTY;
  const tokens = sortedUnique(kept.map((w) => w.own));
  const isLatin = tokens.every((t) => ASCII.test(t));
  const latin = isLatin ? tokens : sortedUnique(kept.flatMap((w) => w.latin));
  return { tokens, latin, isLatin, key: tokens.join(' ') };
}

const cache = new Map<string, ParsedName>();

/** A name parsed, without the cache (for callers that keep their own, such as the matcher). */
export function parseNameUncached(name: string | null | undefined): ParsedName {
  if (!name) return EMPTY;
  const fast = parseFast(name);
  return fast ? withKey(fast) : parseSlow(name);
}

/** A name's tokens, without the cache or the key: no tokens, no usable name. */
export function parseNameParts(name: string | null | undefined, sorted = true): NameParts {
  if (!name) return EMPTY;
  return parseFast(name, sorted) ?? parseSlow(name);
}

/**
 * `parseNameParts(name, false)`: the same, except that a Latin name's tokens may be in any
 * order and repeat (callers that sort token ids save sorting strings; sortTokens gives the
 * sorted form when it is needed).
 */
export function parseNamePartsUnsorted(name: string | null | undefined): NameParts {
  return parseNameParts(name, false);
}

/** Tokens sorted (code units) and unique, as a new list. */
export function sortTokens(tokens: readonly string[]): string[] {
  return sortedUnique([...tokens]);
}

/** A name parsed (cached: payer names repeat a lot). */
export function parseName(name: string | null | undefined): ParsedName {
  if (!name) return EMPTY;
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = parseNameUncached(name);
    if (cache.size > 200_000) cache.clear();
    cache.set(name, parsed);
  }
  return parsed;
}

/** Own-form tokens of a name, sorted and unique; an initial ends with ".". */
export function nameTokens(name: string | null | undefined): string[] {
  return parseName(name).tokens as string[];
}

/** Two names are the same key when their tokens are equal. */
export function nameKey(tokens: readonly string[]): string {
  return tokens.join(' ');
}

/** Whether a token is an initial ("j.", "zh."). */
export function isInitial(token: string): boolean {
  return token.endsWith('.');
}

/** An initial `initial` ("j.") begins `word` ("juan"): a longer word, not an initial itself. */
export function initialBegins(initial: string, word: string): boolean {
  const letters = initial.length - 1;
  return word.length > letters && !word.endsWith('.') && word.startsWith(initial.slice(0, letters));
}

/**
 * Score of two token lists (each sorted and unique). Equal tokens first, then the largest
 * pairing of the remaining initials with words they begin (augmenting paths: the lists are
 * short, and only tokens that could pair take part).
 */
export function scoreTokens(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let equal = 0;
  const restA: string[] = [];
  const restB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && x === y) {
      equal += 1;
      i += 1;
      j += 1;
    } else if (y === undefined || (x !== undefined && x < y)) {
      restA.push(x as string);
      i += 1;
    } else {
      restB.push(y);
      j += 1;
    }
  }
  return shareScore(pairedWeight(equal, restA, restB), a.length, b.length);
}

/** What two names share: their equal tokens, and the left-over initials paired with words they begin (an initial counts INITIAL_WEIGHT). */
export function pairedWeight(equal: number, restA: string[], restB: string[]): number {
  return equal + INITIAL_WEIGHT * (restA.length > 0 && restB.length > 0 ? pairInitials(restA, restB) : 0);
}

/** A score from the weight two names share: the mean of its share of the shorter name and of the longer (both lengths > 0). */
export function shareScore(matched: number, lengthA: number, lengthB: number): number {
  const short = Math.min(lengthA, lengthB);
  const long = Math.max(lengthA, lengthB);
  return (matched / short + matched / long) / 2;
}

function compatible(x: string, y: string): boolean {
  return isInitial(x) ? initialBegins(x, y) : isInitial(y) && initialBegins(y, x);
}

/** Size of a maximum one-to-one pairing of `left` with `right` by `compatible`. */
export function pairInitials(left: string[], right: string[]): number {
  if (!left.some(isInitial) && !right.some(isInitial)) return 0;
  const owner = new Int32Array(right.length).fill(-1);
  const seen = new Uint8Array(right.length);
  let pairs = 0;
  for (let l = 0; l < left.length; l++) {
    seen.fill(0);
    if (augment(l, left, right, owner, seen)) pairs += 1;
  }
  return pairs;
}

/** An augmenting path from `left[x]` (module level: tsx names a closure each time it is made). */
function augment(x: number, left: string[], right: string[], owner: Int32Array, seen: Uint8Array): boolean {
  for (let r = 0; r < right.length; r++) {
    if (seen[r] === 1 || !compatible(left[x] as string, right[r] as string)) continue;
    seen[r] = 1;
    if (owner[r] === -1 || augment(owner[r] as number, left, right, owner, seen)) {
      owner[r] = x;
      return true;
    }
  }
  return false;
}

/** Whether two parsed names are also compared by transliteration (exactly one is Latin). */
export function bridged(a: ParsedName, b: ParsedName): boolean {
  return a.isLatin !== b.isLatin;
}

export function scoreParsed(a: ParsedName, b: ParsedName): number {
  const own = scoreTokens(a.tokens, b.tokens);
  if (!bridged(a, b)) return own;
  return Math.max(own, scoreTokens(a.latin, b.latin));
}

export function scoreNames(a: string | null | undefined, b: string | null | undefined): number {
  return scoreParsed(parseName(a), parseName(b));
}
