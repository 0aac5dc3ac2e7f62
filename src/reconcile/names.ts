/**
 * Payer names, compared the way a person would (SPEC §4): accents, case and word order do
 * not matter, punctuation separates words, abbreviation dots vanish ("S.A." is "SA"),
 * company suffixes are ignored and an initial stands for a name ("J. Pérez" ~ "Juan Pérez").
 *
 * Scoring, in [0, 1]. Tokens are paired one to one: equal tokens count 1, an initial against
 * a word it begins counts 0.9. With m the paired weight, s and l the token counts of the
 * shorter and longer name, the score is the mean of both coverages: (m/s + m/l) / 2. So the
 * same name in any order scores 1, "J. Pérez" ~ "Juan Pérez" 0.95, "Juan Pérez" against
 * "Juan Carlos Pérez Gómez" 0.75 (a match), "Juan Pérez" against "Juana Pérez" 0.5 and
 * "ACME" against "ACME Holdings Uruguay Group" 0.625 (no match: one shared word of four).
 * The minimum is 0.7. There is no fuzzy spelling tolerance on purpose: a
 * different word is a different person when money is at stake, and the operator decides.
 */

export const MIN_SCORE = 0.7;
/** A best candidate is clear only if the next one scores at least this much less. */
export const CLEAR_MARGIN = 0.15;

const COMPANY_SUFFIXES = new Set(['sa', 'srl', 'ltda', 'inc', 'llc', 'ltd', 'sas', 'sac', 'saic', 'sl', 'gmbh', 'corp', 'cia', 'co']);

const cache = new Map<string, string[]>();

/** Normalised, sorted, de-duplicated tokens of a name (cached: payer names repeat a lot). */
export function nameTokens(name: string | null | undefined): string[] {
  if (!name) return [];
  let tokens = cache.get(name);
  if (tokens === undefined) {
    const words = name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/\./g, '')
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 0);
    const meaningful = words.filter((w) => !COMPANY_SUFFIXES.has(w));
    tokens = [...new Set(meaningful.length > 0 ? meaningful : words)].sort();
    if (cache.size > 200_000) cache.clear();
    cache.set(name, tokens);
  }
  return tokens;
}

/** Two names are the same key when their tokens are equal. */
export function nameKey(tokens: string[]): string {
  return tokens.join(' ');
}

export function scoreTokens(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const used = new Uint8Array(long.length);
  let matched = 0;
  const unpaired: string[] = [];
  // Equal words first (both lists are sorted and unique).
  for (const token of short) {
    const index = long.indexOf(token);
    if (index >= 0 && used[index] === 0) {
      used[index] = 1;
      matched += 1;
    } else unpaired.push(token);
  }
  // Then initials, either way round.
  for (const token of unpaired) {
    for (let i = 0; i < long.length; i++) {
      if (used[i] === 1) continue;
      const other = long[i] as string;
      if ((token.length === 1 && other.length > 1 && other[0] === token) || (other.length === 1 && token.length > 1 && token[0] === other)) {
        used[i] = 1;
        matched += 0.9;
        break;
      }
    }
  }
  return (matched / short.length + matched / long.length) / 2;
}

export function scoreNames(a: string | null | undefined, b: string | null | undefined): number {
  return scoreTokens(nameTokens(a), nameTokens(b));
}
