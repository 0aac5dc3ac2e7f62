import { randomUUID } from 'node:crypto';
import { fingerprintAll, isInstantFingerprint, printedMinuteAtOffset, rekeyedFingerprint, type BankMovement } from '../domain/fingerprint.js';
import { freeClaimKey } from './claim-keys.js';
import { isDuplicateKey } from './database.js';
import { driverCollection, type BankTransactionDoc, type Models } from './models.js';

/** How the movements of a source are identified (a bank driver's `info` is one). */
export type IngestIdentity = {
  /** The bank's reference identifies a movement on its own. */
  referencesAreUnique: boolean;
  /** The source once identified movements by their instant, converted at this fixed offset (see `rekeyLegacy`). */
  legacyUtcOffsetMinutes?: number | undefined;
};

/** Fingerprints of the first scheme (`h:`…) sort between these two strings. */
const INSTANT_FINGERPRINTS = { $gte: 'h:', $lt: 'h;' };

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
  /** The date-time as the bank printed it (null for movements stored before it was kept). Optional: other layers build these too. */
  printedAt?: string | null;
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
    printedAt: doc.printedAt ?? null,
  };
}

/** A new document's id, chosen here so its (unique) free claim key can name it in the same upsert. */
function unclaimed(): { _id: string; claimKey: string; claimFence: number } {
  const id = randomUUID();
  return { _id: id, claimKey: freeClaimKey(id), claimFence: 0 };
}

/** Writes per round trip when storing or marking many movements (a large statement file, a long read). */
const INGEST_CHUNK = 1_000;

export type TransactionRepository = ReturnType<typeof createTransactionRepository>;

export function createTransactionRepository(deps: { models: Models }) {
  const { BankTransaction } = deps.models;
  /** Accounts whose first-scheme fingerprints this process has already re-keyed (one query per account per process). */
  const rekeyed = new Set<string>();

  /**
   * Migration of stored identities, done lazily per account before its first read that uses
   * printed-time identities, inside that read's ingest (so under the account's session lease,
   * which keeps reads of one account from overlapping). Each document is re-keyed by one
   * conditional single-document update, so an interrupted migration just goes on next time.
   */
  async function rekeyLegacy(accountId: string, utcOffsetMinutes: number): Promise<void> {
    if (rekeyed.has(accountId)) return;
    // A cursor: an account may hold many movements of the first scheme, they need not all be in memory.
    for await (const doc of BankTransaction.find({ accountId, fingerprint: INSTANT_FINGERPRINTS }).lean<BankTransactionDoc[]>().cursor()) {
      if (!isInstantFingerprint(doc.fingerprint)) continue;
      const printedAt = printedMinuteAtOffset(doc.receivedAt, utcOffsetMinutes);
      const movement = { ...toStored(doc), printedAt };
      try {
        await BankTransaction.updateOne({ _id: doc._id, fingerprint: doc.fingerprint }, { $set: { fingerprint: rekeyedFingerprint(doc.fingerprint, movement), printedAt } });
      } catch (error) {
        // A document with the new identity exists already: this one stays as it was (never deleted: it may be settled).
        if (!isDuplicateKey(error)) throw error;
      }
    }
    // Only once none is left (a cursor over documents being updated may miss one; a duplicate stays): else next read goes on.
    if (!(await BankTransaction.exists({ accountId, fingerprint: INSTANT_FINGERPRINTS }))) rekeyed.add(accountId);
  }

  return {
    /**
     * Stores each movement once per account (by fingerprint) and returns only the new ones.
     * Upserts with $setOnInsert: a concurrent or repeated read of the same movement is a no-op.
     * `identity` is a bank driver's info, or just whether references are unique.
     */
    async ingest(accountId: string, runId: string, transactions: BankMovement[], identity: boolean | IngestIdentity): Promise<StoredTransaction[]> {
      const { referencesAreUnique, legacyUtcOffsetMinutes } = typeof identity === 'boolean' ? { referencesAreUnique: identity, legacyUtcOffsetMinutes: undefined } : identity;
      if (legacyUtcOffsetMinutes !== undefined) await rekeyLegacy(accountId, legacyUtcOffsetMinutes);
      if (transactions.length === 0) return [];
      const fingerprints = fingerprintAll(transactions, referencesAreUnique);
      const result = await BankTransaction.bulkWrite(
        transactions.map((t, i) => ({
          updateOne: {
            filter: { accountId, fingerprint: fingerprints[i] },
            update: { $setOnInsert: { ...t, ...unclaimed(), accountId, fingerprint: fingerprints[i], runId, handled: false } },
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

    /**
     * Stores movements whose identities the caller derived (statement files carry the bank's own
     * ids), once per account; returns only the new ones. Same upsert as `ingest`.
     */
    async ingestIdentified(accountId: string, runId: string, items: { movement: BankMovement; fingerprint: string }[]): Promise<StoredTransaction[]> {
      const stored: StoredTransaction[] = [];
      for (let i = 0; i < items.length; i += INGEST_CHUNK) {
        const chunk = items.slice(i, i + INGEST_CHUNK);
        const result = await BankTransaction.bulkWrite(
          chunk.map(({ movement, fingerprint }) => ({
            updateOne: {
              filter: { accountId, fingerprint },
              update: { $setOnInsert: { ...movement, ...unclaimed(), accountId, fingerprint, runId, handled: false } },
              upsert: true,
            },
          })),
          { ordered: false },
        );
        const inserted = Object.keys(result.upsertedIds).map((index) => chunk[Number(index)]?.fingerprint as string);
        if (inserted.length === 0) continue;
        const docs = await BankTransaction.find({ accountId, fingerprint: { $in: inserted } }).lean<BankTransactionDoc[]>();
        stored.push(...docs.map(toStored));
      }
      return stored.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
    },

    /** Which of these identities the account already holds. */
    async existingFingerprints(accountId: string, fingerprints: string[]): Promise<Set<string>> {
      const found = new Set<string>();
      for (let i = 0; i < fingerprints.length; i += INGEST_CHUNK) {
        const docs = await BankTransaction.find({ accountId, fingerprint: { $in: fingerprints.slice(i, i + INGEST_CHUNK) } }, { fingerprint: 1 }).lean<{ fingerprint: string }[]>();
        for (const d of docs) found.add(d.fingerprint);
      }
      return found;
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

    /**
     * One single-document update per id, in bulk: mongo-java-server matches each document an
     * update changes against the whole filter again, so one update over an $in list of n ids
     * compared n × n (10k arrivals: a quarter of the engine's time in the step).
     */
    async markHandled(ids: string[]): Promise<void> {
      const transactions = driverCollection(BankTransaction as never);
      for (let i = 0; i < ids.length; i += INGEST_CHUNK) {
        await transactions.bulkWrite(
          ids.slice(i, i + INGEST_CHUNK).map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { handled: true } } } })),
          { ordered: false },
        );
      }
    },

    async count(accountId: string): Promise<number> {
      return BankTransaction.countDocuments({ accountId });
    },
  };
}
