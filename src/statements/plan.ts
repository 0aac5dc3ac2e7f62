import { createHash } from 'node:crypto';
import type { BankMovement } from '../domain/fingerprint.js';
import type { StatementEntry } from './types.js';

/**
 * What an import does with each entry of a file (pure): booked credits become movements with a
 * stable identity; debits, reversals and pending entries are counted and left out.
 *
 * Identity (exactly once across re-imports and overlapping files): the bank's own id where the
 * file gives one that is unique in it (camt AcctSvcrRef per transaction, else the entry's with
 * the transaction's place in its batch, else the UETR; OFX FITID; the MT940 bank reference; a
 * CSV id column), otherwise a hash of what the file printed (booking date as written, amount,
 * currency, payer, references, description) with an occurrence counter, so two identical
 * transfers of a day stay two and a later, longer file of that day adds only the new ones.
 */

export type PlannedMovement = { entry: StatementEntry; movement: BankMovement; fingerprint: string };

export type ImportPlan = {
  movements: PlannedMovement[];
  debits: number;
  reversals: StatementEntry[];
  pending: StatementEntry[];
  /** OFX corrections: the new entry and the identity of the one it replaces. */
  corrections: { entry: StatementEntry; replaces: string }[];
};

function contentHash(e: StatementEntry): string {
  return createHash('sha256')
    .update([e.bookedAtText, String(e.amountMinor), e.currency, e.payer ?? '', e.references.join('\u001e'), e.description].join('\u001f'))
    .digest('hex')
    .slice(0, 32);
}

/** The text stored as the movement's description: references first (the matcher reads them). */
export function movementText(e: StatementEntry): string {
  return [...e.references, e.description].filter(Boolean).join(' · ').slice(0, 2000);
}

export function planImport(entries: readonly StatementEntry[]): ImportPlan {
  const plan: ImportPlan = { movements: [], debits: 0, reversals: [], pending: [], corrections: [] };
  const storable: StatementEntry[] = [];
  for (const entry of entries) {
    if (entry.reversal) plan.reversals.push(entry);
    else if (entry.direction === 'debit') plan.debits++;
    else if (entry.status === 'pending') plan.pending.push(entry);
    else storable.push(entry);
  }
  // A bank id seen twice in one file does not identify one payment: those fall back to content.
  const idCounts = new Map<string, number>();
  for (const entry of entries) if (entry.bankId) idCounts.set(entry.bankId, (idCounts.get(entry.bankId) ?? 0) + 1);
  const occurrences = new Map<string, number>();
  for (const entry of storable) {
    let fingerprint: string;
    if (entry.bankId && idCounts.get(entry.bankId) === 1) {
      fingerprint = `stmt:${entry.bankId}`;
    } else {
      const hash = contentHash(entry);
      const n = (occurrences.get(hash) ?? 0) + 1;
      occurrences.set(hash, n);
      fingerprint = `stmt:h:${hash}:${n}`;
    }
    if (entry.replaces) plan.corrections.push({ entry, replaces: `stmt:${entry.replaces}` });
    plan.movements.push({
      entry,
      fingerprint,
      movement: {
        receivedAt: entry.bookedAt,
        printedAt: entry.bookedAtText,
        amountMinor: entry.amountMinor,
        currency: entry.currency,
        senderName: entry.payer,
        description: movementText(entry),
        bankReference: entry.bankId,
      },
    });
  }
  return plan;
}
