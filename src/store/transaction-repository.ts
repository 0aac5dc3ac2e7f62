import { fingerprintAll } from '../domain/fingerprint.js';
import type { RawTransaction } from '../banks/driver.js';
import type { BankTransactionDoc, Models } from './models.js';

export type StoredTransaction = {
  id: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  senderName: string | null;
  receivedAt: Date;
  description: string;
  bankReference: string | null;
  firstSeenAt: Date;
  usedBy: string | null;
};

export function toStored(doc: BankTransactionDoc): StoredTransaction {
  return {
    id: doc._id,
    accountId: doc.accountId,
    amountMinor: doc.amountMinor,
    currency: doc.currency,
    senderName: doc.senderName ?? null,
    receivedAt: doc.receivedAt,
    description: doc.description ?? '',
    bankReference: doc.bankReference ?? null,
    firstSeenAt: doc.firstSeenAt,
    usedBy: doc.usedBy ?? null,
  };
}

export type TransactionRepository = ReturnType<typeof createTransactionRepository>;

export function createTransactionRepository(deps: { models: Models }) {
  const { BankTransaction } = deps.models;
  return {
    /**
     * Stores each movement once per account (by fingerprint) and returns only the new ones.
     * Upserts with $setOnInsert: a concurrent or repeated read of the same movement is a no-op.
     */
    async ingest(accountId: string, runId: string, transactions: RawTransaction[], referencesAreUnique: boolean): Promise<StoredTransaction[]> {
      if (transactions.length === 0) return [];
      const fingerprints = fingerprintAll(transactions, referencesAreUnique);
      const result = await BankTransaction.bulkWrite(
        transactions.map((t, i) => ({
          updateOne: {
            filter: { accountId, fingerprint: fingerprints[i] },
            update: { $setOnInsert: { ...t, accountId, fingerprint: fingerprints[i], runId, handled: false } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      const insertedFingerprints = Object.keys(result.upsertedIds).map((index) => fingerprints[Number(index)] as string);
      if (insertedFingerprints.length === 0) return [];
      const docs = await BankTransaction.find({ accountId, fingerprint: { $in: insertedFingerprints } }).sort({ receivedAt: 1 }).lean<BankTransactionDoc[]>();
      return docs.map(toStored);
    },

    async recent(accountId: string, options: { limit: number; offset: number }): Promise<StoredTransaction[]> {
      const docs = await BankTransaction.find({ accountId }).sort({ receivedAt: -1, _id: 1 }).skip(options.offset).limit(options.limit).lean<BankTransactionDoc[]>();
      return docs.map(toStored);
    },

    /** Transactions whose reconciliation or passthrough step has not finished (after a crash), oldest first. */
    async unhandled(firstSeenBefore: Date, limit: number): Promise<StoredTransaction[]> {
      const docs = await BankTransaction.find({ handled: false, firstSeenAt: { $lt: firstSeenBefore } }).sort({ firstSeenAt: 1 }).limit(limit).lean<BankTransactionDoc[]>();
      return docs.map(toStored);
    },

    async markHandled(ids: string[]): Promise<void> {
      if (ids.length > 0) await BankTransaction.updateMany({ _id: { $in: ids } }, { $set: { handled: true } });
    },

    async count(accountId: string): Promise<number> {
      return BankTransaction.countDocuments({ accountId });
    },
  };
}
