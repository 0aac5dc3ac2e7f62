import anyAscii from 'any-ascii';
import { COMPANY_SUFFIXES, INITIAL_WEIGHT } from '../../src/reconcile/names.js';

/**
 * A second, plain reading of the name rules of src/reconcile/names.ts (its header), written
 * apart from the production code on purpose: character by character, no caches, no fast
 * path, and scoring by trying every pairing of initials. The reference property test scores
 * with this, so a slip in the production tokeniser or scorer shows up as a different decision.
 * Only the transliteration table (any-ascii) and the list of company suffixes are shared: they
 * are data, not logic.
 */

export type Name = { own: string[]; latin: string[]; latinScript: boolean };

const is = (re: RegExp) => (ch: string | undefined) => ch !== undefined && re.test(ch);
const isLetter = is(/^\p{L}$/u);
const isMark = is(/^\p{M}$/u);
const isDigit = is(/^\p{N}$/u);
const isHanOrHangul = is(/^[\p{sc=Han}\p{sc=Hangul}]$/u);
const isKana = is(/^[\p{sc=Hiragana}\p{sc=Katakana}\u30fc]$/u);
const isCjk = (ch: string | undefined) => isHanOrHangul(ch) || is(/^[\p{sc=Hiragana}\p{sc=Katakana}]$/u)(ch);
const isWordChar = (ch: string | undefined) => isLetter(ch) || isMark(ch) || isDigit(ch);
const isSpace = is(/^\s$/u);

function toAscii(text: string): string {
  let out = '';
  for (const ch of anyAscii(text.split('\uFFFD').join('?')).toLowerCase()) if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch === '?') out += ch;
  return out;
}

function removeAbbreviationJoiners(chars: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  // A letter unit: a letter and the marks after it; returns the index after it, or -1.
  const unit = (at: number) => {
    if (!isLetter(chars[at])) return -1;
    let end = at + 1;
    while (isMark(chars[end])) end++;
    return end;
  };
  while (i < chars.length) {
    const firstEnd = isWordChar(chars[i - 1]) ? -1 : unit(i);
    if (firstEnd < 0) {
      out.push(chars[i] as string);
      i++;
      continue;
    }
    // Longest chain of letter units joined by "." or "/", then back off until the next
    // character is not a letter, mark or digit.
    const ends = [firstEnd];
    for (;;) {
      const last = ends[ends.length - 1] as number;
      if (chars[last] !== '.' && chars[last] !== '/') break;
      const next = unit(last + 1);
      if (next < 0) break;
      ends.push(next);
    }
    while (ends.length > 1 && isWordChar(chars[ends[ends.length - 1] as number])) ends.pop();
    if (ends.length === 1) {
      out.push(chars[i] as string);
      i++;
      continue;
    }
    const end = ends[ends.length - 1] as number;
    for (let k = i; k < end; k++) if (chars[k] !== '.' && chars[k] !== '/') out.push(chars[k] as string);
    i = end;
  }
  return out;
}

function glueUnknownLetters(chars: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if ((ch === '?' || ch === '\uFFFD') && isWordChar(out[out.length - 1])) {
      let j = i;
      while (chars[j] === '?' || chars[j] === '\uFFFD') j++;
      if (isLetter(chars[j]) || isDigit(chars[j])) {
        out.push('\uFFFD');
        i = j - 1;
        continue;
      }
    }
    out.push(ch);
  }
  return out;
}

function joinHanAcrossSpaces(chars: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (isSpace(chars[i])) {
      let back = out.length - 1;
      while (isMark(out[back])) back--;
      let j = i;
      while (isSpace(chars[j])) j++;
      if (isHanOrHangul(out[back]) && isHanOrHangul(chars[j])) {
        i = j - 1;
        continue;
      }
    }
    out.push(chars[i] as string);
  }
  return out;
}

type Word = { own: string; latin: string[]; suffix: boolean };

function words(chars: string[]): Word[] {
  const found: Word[] = [];
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i];
    let j = i + 1;
    if (isHanOrHangul(ch)) {
      while (isHanOrHangul(chars[j]) || isMark(chars[j])) j++;
      const run = chars.slice(i, j);
      const latin = [toAscii(run[0] as string), toAscii(run.slice(1).join(''))].filter((w) => w.length > 0);
      found.push({ own: run.join(''), latin, suffix: false });
    } else if (isKana(ch)) {
      while (isKana(chars[j]) || isMark(chars[j])) j++;
      const own = chars
        .slice(i, j)
        .map((c) => {
          const code = c.codePointAt(0) as number;
          return code >= 0x3041 && code <= 0x3096 ? String.fromCodePoint(code + 0x60) : c;
        })
        .join('');
      const latin = toAscii(own);
      found.push({ own, latin: latin ? [latin] : [], suffix: false });
    } else if ((isLetter(ch) || isDigit(ch)) && !isCjk(ch)) {
      while ((isWordChar(chars[j]) || chars[j] === '\uFFFD') && !isCjk(chars[j]) && chars[j] !== '\u30fc') j++;
      const raw = chars.slice(i, j).join('');
      const oneLetter = isLetter(chars[i]) && chars.slice(i + 1, j).every((c) => isMark(c));
      const initial = oneLetter && raw.toLowerCase() !== raw.toUpperCase();
      const lower = raw.toLowerCase();
      const bare = [...lower.normalize('NFD')].filter((c) => !isMark(c)).join('');
      const latinScript = [...bare].every((c) => /^[\p{sc=Latin}\p{N}\uFFFD]$/u.test(c));
      let own: string;
      let latin: string;
      if (latinScript) {
        own = toAscii(bare);
        latin = own;
      } else {
        own = (/[\p{sc=Greek}\p{sc=Cyrillic}]/u.test(bare) ? bare : lower).normalize('NFC').split('ς').join('σ');
        latin = toAscii(own);
      }
      if (own.length > 0) {
        if (initial) found.push({ own: own + '.', latin: latin ? [latin + '.'] : [], suffix: false });
        else found.push({ own, latin: latin ? [latin] : [], suffix: COMPANY_SUFFIXES.has(latin) });
      }
    }
    i = j;
  }
  return found;
}

export function referenceName(name: string | null | undefined): Name {
  if (!name) return { own: [], latin: [], latinScript: true };
  let chars = [...name.normalize('NFKC')].filter((c) => !["'", '\u2018', '\u2019', '\u02bc', '`', '\u00b4'].includes(c));
  chars = removeAbbreviationJoiners(chars);
  chars = glueUnknownLetters(chars);
  chars = joinHanAcrossSpaces(chars);
  let list = words(chars);
  if (list.some((w) => !w.suffix)) list = list.filter((w) => !w.suffix);
  const own = [...new Set(list.map((w) => w.own))];
  const latinScript = own.every((t) => [...t].every((c) => c.charCodeAt(0) < 128));
  const latin = latinScript ? own : [...new Set(list.flatMap((w) => w.latin))];
  return { own, latin, latinScript };
}

/** Same name for the matcher: the same own tokens. */
export function referenceKey(name: string | null | undefined): string {
  return referenceName(name).own.slice().sort().join(' ');
}

function begins(initial: string, word: string): boolean {
  return initial.endsWith('.') && !word.endsWith('.') && word.length > initial.length - 1 && word.startsWith(initial.slice(0, -1));
}

/** Largest number of pairs between `left` and `right`, trying every assignment. */
function mostPairs(left: string[], right: string[]): number {
  if (left.length === 0) return 0;
  const [x, ...rest] = left as [string, ...string[]];
  let best = mostPairs(rest, right);
  for (let k = 0; k < right.length; k++) {
    const y = right[k] as string;
    if (begins(x, y) || begins(y, x)) best = Math.max(best, 1 + mostPairs(rest, [...right.slice(0, k), ...right.slice(k + 1)]));
  }
  return best;
}

function scoreSets(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const equal = a.filter((t) => b.includes(t));
  const pairs = mostPairs(
    a.filter((t) => !equal.includes(t)),
    b.filter((t) => !equal.includes(t)),
  );
  const weight = equal.length + INITIAL_WEIGHT * pairs;
  return (weight / Math.min(a.length, b.length) + weight / Math.max(a.length, b.length)) / 2;
}

export function referenceScore(a: string | null | undefined, b: string | null | undefined): number {
  return referenceScoreNames(referenceName(a), referenceName(b));
}

export function referenceScoreNames(x: Name, y: Name): number {
  const own = scoreSets(x.own, y.own);
  return x.latinScript === y.latinScript ? own : Math.max(own, scoreSets(x.latin, y.latin));
}
