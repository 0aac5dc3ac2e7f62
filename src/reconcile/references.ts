import { appendTo } from '../domain/collections.js';

/**
 * Finds which open requests a transaction's reference text names (SPEC §4 "A reference beats
 * a name"): the request's external id, compared case-insensitively, as a whole token — not
 * touching a letter or digit on either side, so "O-1042" is found in "pago O-1042 gracias"
 * but not in "O-10421" or "XO-1042" — with the same amount and currency, the transaction
 * inside the request's window. Linear in the text: only stretches that start and end at word
 * boundaries and hold at most as many words as the longest external id are looked up.
 */

type RequestFacts = { amountMinor: number; currency: string; registeredAtMs: number; externalId?: string | null };
type TransactionFacts = { amountMinor: number; currency: string; receivedAtMs: number; reference?: string | null };

const WORD_CHAR = /[\p{L}\p{N}]/u;
const WORD = /[\p{L}\p{N}]+/gu;

function wordCount(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

/** [request index, transaction index] for every valid reference. */
export function findReferences(requests: RequestFacts[], transactions: TransactionFacts[], windowMs: number): [number, number][] {
  if (!transactions.some((t) => t.reference)) return [];
  const byId = new Map<string, number[]>();
  let maxWords = 0;
  requests.forEach((request, r) => {
    const id = request.externalId?.trim().toLowerCase();
    // An id that does not begin and end with a letter or digit cannot be told apart as a token.
    if (!id || !WORD_CHAR.test(id[0] as string) || !WORD_CHAR.test(id.at(-1) as string)) return;
    appendTo(byId, id, r);
    maxWords = Math.max(maxWords, wordCount(id));
  });
  if (byId.size === 0) return [];
  const links: [number, number][] = [];
  transactions.forEach((t, index) => {
    if (!t.reference) return;
    const text = t.reference.toLowerCase();
    const words = [...text.matchAll(WORD)].map((m) => [m.index, m.index + m[0].length] as const);
    const found = new Set<number>();
    for (let a = 0; a < words.length; a++) {
      for (let b = a; b < words.length && b < a + maxWords; b++) {
        const candidates = byId.get(text.slice((words[a] as readonly [number, number])[0], (words[b] as readonly [number, number])[1]));
        for (const r of candidates ?? []) found.add(r);
      }
    }
    for (const r of found) {
      const request = requests[r] as RequestFacts;
      if (request.amountMinor !== t.amountMinor || request.currency.toUpperCase() !== t.currency.toUpperCase()) continue;
      if (t.receivedAtMs < request.registeredAtMs - windowMs) continue;
      links.push([r, index]);
    }
  });
  return links;
}
