/**
 * What a statement file yields, whatever its format: one entry per payment (a batched camt
 * entry is split into one entry per transaction), money in integer minor units.
 */

export type StatementFormat = 'camt' | 'mt940' | 'ofx' | 'csv';

export type StatementEntry = {
  /** Where in the file the entry was read: "line 12", "Ntry 3 / TxDtls 2", "STMTTRN 4". */
  where: string;
  direction: 'credit' | 'debit';
  /** The entry undoes an earlier one (camt RvslInd, MT940 RC/RD): never a payment to match. */
  reversal: boolean;
  /** Only booked entries are stored as movements; pending ones are kept apart until booked. */
  status: 'booked' | 'pending';
  /** Always positive: the direction says which way the money went. */
  amountMinor: number;
  currency: string;
  /** The booking date (a date-only value is midnight UTC of that date). */
  bookedAt: Date;
  /** The date or date-time exactly as the file printed it (what identities hash). */
  bookedAtText: string;
  payer: string | null;
  /** Reference texts the payer sent: remittance information, end-to-end id, creditor reference. */
  references: string[];
  /** Free text about the entry (additional information, transaction type). */
  description: string;
  /**
   * The bank's own identity of this payment where the format gives one that is unique
   * (camt AcctSvcrRef per transaction or UETR, OFX FITID, the MT940 `//` bank reference,
   * a CSV id column); null when only the content can identify it.
   */
  bankId: string | null;
  /** OFX CORRECTFITID: this entry replaces the one with that id. */
  replaces?: string;
};

export type RefusedEntry = { where: string; reason: string };

export type StatementRead = {
  format: StatementFormat;
  entries: StatementEntry[];
  refused: RefusedEntry[];
  /** The account the file is about, when it says (IBAN or the bank's account id). */
  accountId: string | null;
};

/** The whole file is refused: one plain sentence, nothing of it is imported. */
export class StatementFileError extends Error {
  override readonly name = 'StatementFileError';
}

/** A parser is fed decoded text piece by piece (so large files stream), then told the end. */
export type StatementParser = {
  write(text: string): void;
  end(): StatementRead;
};
