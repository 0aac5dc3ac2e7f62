import type { Model } from 'mongoose';
import { driverCollection, type ConciliationRequestDoc } from './models.js';
import { v7 as orderedUuid } from 'uuid';
import { keyDocuments } from './request-keys.js';

/** What a poll knows of a new request (the order, read through the poll's zod schema). */
export type NewRequest = Pick<ConciliationRequestDoc, 'accountId' | 'userId' | 'externalId' | 'amountMinor' | 'currency' | 'name' | 'registeredAt' | 'statusChangedAt'> & {
  externalIdType: 'string' | 'number';
  status: 'pending';
  listedLastPoll: boolean;
};

/**
 * The whole document mongoose would store for a new request (its schema's defaults and
 * timestamps; test/store/new-requests.test.ts holds it to the schema), without making a
 * mongoose document of each: a poll of 100k orders spent seconds of CPU on that casting and
 * validation, for values the poll's schema had already checked.
 */
export function newRequestDocument(input: NewRequest, now: Date): ConciliationRequestDoc & { createdAt: Date; updatedAt: Date } {
  return {
    _id: orderedUuid(),
    ...input,
    attemptCount: 0,
    attempts: [],
    errorCount: 0,
    retryAt: null,
    processingFrom: null,
    processingSince: null,
    processingFence: null,
    candidates: [],
    match: null,
    pendingEvents: [],
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Inserts new requests (list keys given as the schema's insert hook does) in one unordered
 * bulk; returns their ids in the order given. A duplicate (another worker registered the same
 * order first) throws after the others were inserted, as mongoose's insertMany did.
 */
export async function insertNewRequests(model: Model<ConciliationRequestDoc>, inputs: NewRequest[], now: Date = new Date()): Promise<string[]> {
  const docs = inputs.map((input) => newRequestDocument(input, now));
  await keyDocuments(model.db, docs);
  await driverCollection(model as never).insertMany(docs, { ordered: false });
  return docs.map((d) => d._id);
}
