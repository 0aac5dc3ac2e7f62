import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, UserError } from '../domain/errors.js';
import { isOpen, type RequestStatus } from '../domain/request-status.js';
import type { AccountDoc, BankTransactionDoc, ConciliationRequestDoc, MatchAttempt, Models, RequestMatch } from '../store/models.js';
import type { AccountLock } from './account-lock.js';
import { matchedEvent } from './result-events.js';
import type { Outbox } from './outbox.js';
import type { EvaluationSummary, Settlement } from './settlement.js';

/**
 * What operators see and do with conciliation requests (SPEC §4 "Operators can…"): list and
 * inspect them, re-run matching, resolve an ambiguous one by choosing the transaction.
 */

export type RequestSummary = {
  id: string;
  accountId: string;
  accountName: string;
  externalId: string;
  status: RequestStatus;
  amountMinor: number;
  currency: string;
  name: string;
  registeredAt: Date;
  statusChangedAt: Date;
};
export type CandidateView = { id: string; amountMinor: number; currency: string; senderName: string | null; receivedAt: Date; usedBy: string | null };
export type RequestDetail = RequestSummary & { attemptCount: number; attempts: MatchAttempt[]; match: RequestMatch | null; candidates: CandidateView[]; errorCount: number };

export type RequestService = ReturnType<typeof createRequestService>;

function summaryOf(doc: ConciliationRequestDoc, accountName: string): RequestSummary {
  return {
    id: doc._id,
    accountId: doc.accountId,
    accountName,
    externalId: doc.externalId,
    status: doc.status,
    amountMinor: doc.amountMinor,
    currency: doc.currency,
    name: doc.name,
    registeredAt: doc.registeredAt,
    statusChangedAt: doc.statusChangedAt,
  };
}

export function createRequestService(deps: { models: Models; accounts: AccountService; clock: Clock; lock: AccountLock; settlement: Settlement; outbox: Outbox }) {
  const { ConciliationRequest, BankTransaction, Account } = deps.models;

  async function find(userId: string, accountRef: string, externalId: string): Promise<{ doc: ConciliationRequestDoc; accountName: string }> {
    const account = await deps.accounts.show(userId, accountRef);
    const doc = await ConciliationRequest.findOne({ accountId: account.id, externalId: externalId.trim() }).lean<ConciliationRequestDoc>();
    if (!doc) throw new NotFoundError(`No request "${externalId.trim()}" on "${account.name}". List them with: pending "${account.name}"`);
    return { doc, accountName: account.name };
  }

  async function retryLimitOf(accountId: string): Promise<number> {
    const account = await Account.findById(accountId).lean<AccountDoc>();
    if (!account) throw new NotFoundError('That account no longer exists.');
    return plainSettings(account).retry_limit;
  }

  return {
    async list(userId: string, filter: { account?: string; status?: RequestStatus; limit: number; offset: number }): Promise<{ total: number; items: RequestSummary[] }> {
      const accounts = filter.account ? [await deps.accounts.show(userId, filter.account)] : await deps.accounts.list(userId);
      const names = new Map(accounts.map((a) => [a.id, a.name]));
      const query = { accountId: { $in: [...names.keys()] }, ...(filter.status ? { status: filter.status } : {}) };
      const [total, docs] = await Promise.all([
        ConciliationRequest.countDocuments(query),
        ConciliationRequest.find(query).sort({ createdAt: -1, _id: 1 }).skip(filter.offset).limit(filter.limit).lean<ConciliationRequestDoc[]>(),
      ]);
      return { total, items: docs.map((d) => summaryOf(d, names.get(d.accountId) ?? d.accountId)) };
    },

    async show(userId: string, accountRef: string, externalId: string): Promise<RequestDetail> {
      const { doc, accountName } = await find(userId, accountRef, externalId);
      const candidates = doc.candidates.length > 0 ? await BankTransaction.find({ _id: { $in: doc.candidates } }).lean<BankTransactionDoc[]>() : [];
      const order = new Map(doc.candidates.map((id, i) => [id, i]));
      return {
        ...summaryOf(doc, accountName),
        attemptCount: doc.attemptCount,
        attempts: doc.attempts,
        match: doc.match,
        errorCount: doc.errorCount,
        candidates: candidates
          .sort((a, b) => (order.get(a._id) ?? 0) - (order.get(b._id) ?? 0))
          .map((t) => ({ id: t._id, amountMinor: t.amountMinor, currency: t.currency, senderName: t.senderName ?? null, receivedAt: t.receivedAt, usedBy: t.usedBy ?? null })),
      };
    },

    /**
     * Runs matching again now. An expired or failed request is registered again (its 5 days
     * start over), so a transfer that arrived late can still settle it.
     */
    async rematch(userId: string, accountRef: string, externalId: string): Promise<{ request: RequestDetail; summary: EvaluationSummary; reregistered: boolean }> {
      const { doc } = await find(userId, accountRef, externalId);
      if (doc.status === 'matched') throw new UserError(`"${doc.externalId}" is already matched.`);
      if (doc.status === 'cancelled') throw new UserError(`"${doc.externalId}" was cancelled (your system no longer lists it); it reopens when the endpoint lists it again.`);
      const retryLimit = await retryLimitOf(doc.accountId);
      let reregistered = false;
      const summary = await deps.lock(doc.accountId, async () => {
        if (doc.status === 'expired' || doc.status === 'failed') {
          const now = deps.clock.now();
          const result = await ConciliationRequest.updateOne(
            { _id: doc._id, status: doc.status },
            { $set: { status: 'pending', statusChangedAt: now, registeredAt: now, errorCount: 0, retryAt: null, candidates: [] } },
          );
          reregistered = result.modifiedCount === 1;
        }
        return deps.settlement.evaluate({ id: doc.accountId, userId: doc.userId, retryLimit }, { requestIds: [doc._id] });
      });
      return { request: await this.show(userId, accountRef, externalId), summary, reregistered };
    },

    /**
     * An operator settles an open request with a transaction they chose (an ambiguous one's
     * candidate, usually). The transaction must be this account's, unused, with the same
     * amount and currency; the claim is the same atomic one the matcher uses.
     */
    async resolve(userId: string, accountRef: string, externalId: string, transactionRef: string, by: string): Promise<RequestDetail> {
      const { doc } = await find(userId, accountRef, externalId);
      if (!isOpen(doc.status)) throw new UserError(`"${doc.externalId}" is ${doc.status}; only an open request (ambiguous, not found, pending) can be resolved.`);
      const ref = transactionRef.trim().toLowerCase();
      if (ref.length < 6) throw new UserError('Name the transaction by its id (at least its first 6 characters, as listed by pending show).');
      await deps.lock(doc.accountId, async () => {
        const current = await ConciliationRequest.findById(doc._id).lean<ConciliationRequestDoc>();
        if (!current || !isOpen(current.status) || current.status === 'processing') throw new UserError(`"${doc.externalId}" changed meanwhile (now ${current?.status ?? 'gone'}); look again with pending show.`);
        const matches = await BankTransaction.find({ accountId: doc.accountId, _id: { $regex: `^${ref.replace(/[^0-9a-f-]/g, '')}` } }).limit(2).lean<BankTransactionDoc[]>();
        if (matches.length === 0) throw new NotFoundError(`No transaction "${transactionRef.trim()}" on this account.`);
        if (matches.length > 1) throw new UserError(`"${transactionRef.trim()}" names more than one transaction; give more of its id.`);
        const transaction = matches[0] as BankTransactionDoc;
        if (transaction.amountMinor !== current.amountMinor || transaction.currency.toUpperCase() !== current.currency.toUpperCase()) {
          throw new UserError(`That transaction's amount or currency differs from the request's; a match needs both exactly.`);
        }
        const now = deps.clock.now();
        const claimed = await BankTransaction.findOneAndUpdate({ _id: transaction._id, usedBy: null }, { $set: { usedBy: current._id, usedAt: now } }, { returnDocument: 'after' }).lean<BankTransactionDoc>();
        if (!claimed) throw new UserError('That transaction already settled another request.');
        const match: RequestMatch = { transactionId: claimed._id, amountMinor: claimed.amountMinor, currency: claimed.currency, senderName: claimed.senderName ?? null, receivedAt: claimed.receivedAt, score: null, by: 'operator', at: now };
        const number = current.attemptCount + 1;
        const event = matchedEvent(current, number, match, now);
        const updated = await ConciliationRequest.findOneAndUpdate(
          { _id: current._id, status: current.status },
          {
            $set: { status: 'matched', statusChangedAt: now, match, candidates: [], errorCount: 0, retryAt: null },
            $inc: { attemptCount: 1 },
            $push: { attempts: { number, result: 'matched', reason: `resolved by ${by}`, candidates: [claimed._id], at: now }, pendingEvents: event },
          },
        ).lean();
        if (!updated) {
          await BankTransaction.updateOne({ _id: claimed._id, usedBy: current._id }, { $set: { usedBy: null, usedAt: null } });
          throw new UserError(`"${doc.externalId}" changed meanwhile; look again with pending show.`);
        }
        await deps.outbox.flushRequest(current._id, [event]);
      });
      return this.show(userId, accountRef, externalId);
    },
  };
}
