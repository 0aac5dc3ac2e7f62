import { createHash } from 'node:crypto';

/** A bank movement as read: money in minor units, the bank's instant in UTC. */
export type BankMovement = {
  receivedAt: Date;
  /**
   * The movement's date or date-time exactly as the bank printed it, in ISO 8601 form without
   * an offset ("2026-11-26T14:05", "2026-11-26"): what its identity hashes. Bank drivers
   * always give it; a source that only has an instant may leave it out.
   */
  printedAt?: string | undefined;
  amountMinor: number;
  currency: string;
  senderName: string | null;
  description: string;
  bankReference: string | null;
};

/**
 * What a movement's content identity covers. `printedAt` rather than the instant: the instant
 * is the printed local time converted with the zone's rules, so a rule change (a country
 * dropping daylight saving, a driver's zone corrected) would otherwise give every stored
 * movement a new identity, and the next read would store them all again.
 */
function contentHash(when: string, t: BankMovement): string {
  return createHash('sha256')
    .update([when, String(t.amountMinor), t.currency.toUpperCase(), (t.senderName ?? '').trim(), t.description.trim()].join('\u001f'))
    .digest('hex')
    .slice(0, 32);
}

/** `p:` hashes the printed date-time; `h:` (the first scheme, and sources without one) the instant. */
function contentKey(t: BankMovement): string {
  return t.printedAt !== undefined ? `p:${contentHash(t.printedAt, t)}` : `h:${contentHash(t.receivedAt.toISOString(), t)}`;
}

/**
 * Stable identities for the movements of one read (SPEC §1). Where the bank's reference is
 * trustworthy it is the identity; otherwise a hash of the printed date, amount, currency,
 * sender and description, plus an occurrence counter so two identical transfers stay two.
 * Reads always cover whole days and are stable (each movement once, see
 * src/sessions/stable-read.ts), so every occurrence of an identical movement is seen in the
 * same read and re-reading gives the same fingerprints.
 */
export function fingerprintAll(transactions: BankMovement[], referencesAreUnique: boolean): string[] {
  const seen = new Map<string, number>();
  return transactions.map((t) => {
    if (referencesAreUnique && t.bankReference) return `ref:${t.bankReference}`;
    const key = contentKey(t);
    const occurrence = (seen.get(key) ?? 0) + 1;
    seen.set(key, occurrence);
    return `${key}:${occurrence}`;
  });
}

/** Whether a stored fingerprint is of the first scheme (`h:`, the instant hashed). */
export function isInstantFingerprint(fingerprint: string): boolean {
  return fingerprint.startsWith('h:');
}

/**
 * A first-scheme fingerprint re-keyed to the printed date-time, keeping its occurrence number.
 * Under the fixed offset that scheme converted with, printed time and instant map one to one,
 * so the groups of identical movements (and their counters) are the same in both schemes.
 */
export function rekeyedFingerprint(fingerprint: string, t: BankMovement & { printedAt: string }): string {
  const occurrence = fingerprint.slice(fingerprint.lastIndexOf(':') + 1);
  return `p:${contentHash(t.printedAt, t)}:${occurrence}`;
}

/** The printed minute of an instant under a fixed offset (how the first scheme's drivers read it). */
export function printedMinuteAtOffset(at: Date, utcOffsetMinutes: number): string {
  return new Date(at.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 16);
}

/** Two reads give the same movements (as a multiset: identical transfers count), whatever the order. */
export function sameMovements(a: BankMovement[], b: BankMovement[]): boolean {
  if (a.length !== b.length) return false;
  const key = (t: BankMovement) => `${contentKey(t)}\u001f${t.bankReference ?? ''}`;
  const counts = new Map<string, number>();
  for (const t of a) counts.set(key(t), (counts.get(key(t)) ?? 0) + 1);
  for (const t of b) {
    const left = (counts.get(key(t)) ?? 0) - 1;
    if (left < 0) return false;
    counts.set(key(t), left);
  }
  return true;
}
