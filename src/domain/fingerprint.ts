import { createHash } from 'node:crypto';

/** A bank movement as read: money in minor units, the bank's instant in UTC. */
export type BankMovement = {
  receivedAt: Date;
  amountMinor: number;
  currency: string;
  senderName: string | null;
  description: string;
  bankReference: string | null;
};

/**
 * Stable identities for the movements of one read (SPEC §1). Where the bank's reference is
 * trustworthy it is the identity; otherwise a hash of date, amount, currency, sender and
 * description, plus an occurrence counter so two identical transfers stay two. Reads always
 * cover whole days, so every occurrence of an identical movement is seen in the same read and
 * re-reading gives the same fingerprints.
 */
export function fingerprintAll(transactions: BankMovement[], referencesAreUnique: boolean): string[] {
  const seen = new Map<string, number>();
  return transactions.map((t) => {
    if (referencesAreUnique && t.bankReference) return `ref:${t.bankReference}`;
    const hash = createHash('sha256')
      .update([t.receivedAt.toISOString(), String(t.amountMinor), t.currency.toUpperCase(), (t.senderName ?? '').trim(), t.description.trim()].join('\u001f'))
      .digest('hex')
      .slice(0, 32);
    const occurrence = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, occurrence);
    return `h:${hash}:${occurrence}`;
  });
}
