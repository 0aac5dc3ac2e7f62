import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, UserError } from '../domain/errors.js';
import { minorToDecimalString } from '../domain/money.js';
import { isOpen, type RequestStatus } from '../domain/request-status.js';
import type { AccountDoc, BankTransactionDoc, ConciliationRequestDoc, MatchAttempt, Models, RequestMatch } from '../store/models.js';
import type { AccountLock } from './account-lock.js';
import { readRequestPage } from './request-page.js';
import { createStatusTotals } from './status-totals.js';
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
  /** The account's bank (its code). */
  bank: string;
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

/** What a summary reads of a request (a page projects these only: a request's attempts and events can be long). */
export type RequestSummaryFields = Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'externalId' | 'status' | 'amountMinor' | 'currency' | 'name' | 'registeredAt' | 'statusChangedAt'>;

function summaryOf(doc: RequestSummaryFields, account: { name: string; bank: string }): RequestSummary {
  return {
    id: doc._id,
    accountId: doc.accountId,
    accountName: account.name,
    bank: account.bank,
    externalId: doc.externalId,
    status: doc.status,
    amountMinor: doc.amountMinor,
    currency: doc.currency,
    name: doc.name,
    registeredAt: doc.registeredAt,
    statusChangedAt: doc.statusChangedAt,
  };
}

const money = (request: Pick<ConciliationRequestDoc, 'amountMinor' | 'currency'>) => `${minorToDecimalString(request.amountMinor, request.currency)} ${request.currency}`;

export function createRequestService(deps: { models: Models; accounts: AccountService; clock: Clock; lock: AccountLock; settlement: Settlement; outbox: Outbox }) {
  const { ConciliationRequest, BankTransaction, Account } = deps.models;
  const statusTotals = createStatusTotals(deps);

  async function find(userId: string, accountRef: string, externalId: string): Promise<{ doc: ConciliationRequestDoc; account: { name: string; bank: string } }> {
    const account = await deps.accounts.show(userId, accountRef);
    const doc = await ConciliationRequest.findOne({ accountId: account.id, externalId: externalId.trim() }).lean<ConciliationRequestDoc>();
    if (!doc) throw new NotFoundError(`No request "${externalId.trim()}" on "${account.name}". List them with: pending "${account.name}"`);
    return { doc, account };
  }

  async function retryLimitOf(accountId: string): Promise<number> {
    const account = await Account.findById(accountId).lean<AccountDoc>();
    if (!account) throw new NotFoundError('That account no longer exists.');
    return plainSettings(account).retry_limit;
  }

  return {
    /** Newest first, by exact keys (see request-page.ts: cheap on mongo-java-server, which sorts in memory). */
    async list(userId: string, filter: { account?: string; status?: RequestStatus; limit: number; offset: number }): Promise<{ total: number; items: RequestSummary[] }> {
      const accounts = filter.account ? [await deps.accounts.show(userId, filter.account)] : await deps.accounts.labels(userId);
      const byId = new Map(accounts.map((a) => [a.id, a]));
      const { total, docs } = await readRequestPage(deps.models, [...byId.keys()], filter, statusTotals);
      return { total, items: docs.map((d) => summaryOf(d, byId.get(d.accountId) ?? { name: d.accountId, bank: '' })) };
    },

    async show(userId: string, accountRef: string, externalId: string): Promise<RequestDetail> {
      const { doc, account } = await find(userId, accountRef, externalId);
      const candidates = doc.candidates.length > 0 ? await BankTransaction.find({ _id: { $in: doc.candidates } }).lean<BankTransactionDoc[]>() : [];
      const order = new Map(doc.candidates.map((id, i) => [id, i]));
      return {
        ...summaryOf(doc, account),
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
      const summary = await deps.lock(doc.accountId, async (lease) => {
        if (doc.status === 'expired' || doc.status === 'failed') {
          const now = deps.clock.now();
          const result = await ConciliationRequest.updateOne(
            { _id: doc._id, status: doc.status },
            { $set: { status: 'pending', statusChangedAt: now, registeredAt: now, errorCount: 0, retryAt: null, candidates: [] } },
          );
          reregistered = result.modifiedCount === 1;
        }
        return deps.settlement.evaluate({ id: doc.accountId, userId: doc.userId, retryLimit }, { requestIds: [doc._id] }, lease);
      });
      return { request: await this.show(userId, accountRef, externalId), summary, reregistered };
    },

    /**
     * An operator settles an open request with a transaction they chose. The reference (a
     * transaction id, or at least its first 6 characters, as `pending show` lists them) must
     * name exactly one of the request's candidates or, failing that, exactly one of the
     * account's transactions with the request's amount and currency, unused; anything else is
     * refused. The claim is the matcher's (fenced, atomic); requests that had the transaction
     * among their candidates are evaluated again afterwards.
     */
    async resolve(userId: string, accountRef: string, externalId: string, transactionRef: string, by: string): Promise<RequestDetail> {
      const { doc } = await find(userId, accountRef, externalId);
      if (!isOpen(doc.status)) throw new UserError(`"${doc.externalId}" is ${doc.status}; only an open request (ambiguous, not found, pending) can be resolved.`);
      const ref = transactionRef.trim().toLowerCase();
      if (ref.length < 6 || ref.length > 64) throw new UserError('Name the transaction by its id (at least its first 6 characters, as listed by pending show).');
      const retryLimit = await retryLimitOf(doc.accountId);
      await deps.lock(doc.accountId, async (lease) => {
        const current = await ConciliationRequest.findById(doc._id).lean<ConciliationRequestDoc>();
        if (!current || !isOpen(current.status) || current.status === 'processing') throw new UserError(`"${doc.externalId}" changed meanwhile (now ${current?.status ?? 'gone'}); look again with pending show.`);
        const transaction = await chosenTransaction(current, ref, transactionRef.trim());
        const claimed = (await deps.settlement.claims.claim(current.accountId, [{ requestId: current._id, transaction }], lease)).get(current._id);
        if (!claimed) {
          const now = await BankTransaction.findById(transaction._id, { usedBy: 1 }).lean<{ usedBy: string | null }>();
          if (now?.usedBy) throw new UserError('That transaction already settled another request.');
          throw new UserError(`"${doc.externalId}" changed meanwhile; look again with pending show.`);
        }
        const now = deps.clock.now();
        const match: RequestMatch = { transactionId: claimed._id, amountMinor: claimed.amountMinor, currency: claimed.currency, senderName: claimed.senderName ?? null, receivedAt: claimed.receivedAt, score: null, by: 'operator', at: now };
        const number = current.attemptCount + 1;
        const event = matchedEvent(current, number, match, now);
        const updated = await ConciliationRequest.findOneAndUpdate(
          { _id: current._id, status: current.status, $or: [{ processingFence: null }, { processingFence: { $lte: lease.fence } }] },
          {
            $set: { status: 'matched', statusChangedAt: now, match, candidates: [], errorCount: 0, retryAt: null },
            $inc: { attemptCount: 1 },
            $push: { attempts: { number, result: 'matched', reason: `resolved by ${by}`, candidates: [claimed._id], at: now }, pendingEvents: event },
          },
        ).lean();
        if (!updated) {
          await deps.settlement.claims.releaseUnsettled([{ _id: claimed._id, usedBy: current._id, claimFence: lease.fence }], lease);
          throw new UserError(`"${doc.externalId}" changed meanwhile; look again with pending show.`);
        }
        await deps.outbox.flushRequest(current._id, [event]);
        // Another request waiting on this transaction (ambiguous between them) is decided again now.
        await deps.settlement.transactionsUsed({ id: current.accountId, userId: current.userId, retryLimit }, [claimed._id], lease);
      });
      return this.show(userId, accountRef, externalId);
    },
  };

  /** The one transaction a reference names (see resolve), by plain prefix comparison; refused in one sentence otherwise. */
  async function chosenTransaction(request: ConciliationRequestDoc, ref: string, shown: string): Promise<BankTransactionDoc> {
    const named = (ids: string[]) => ids.filter((id) => id.toLowerCase().startsWith(ref));
    const amongCandidates = named(request.candidates ?? []);
    if (amongCandidates.length > 1) throw new UserError(`"${shown}" names more than one of the candidates; give more of its id.`);
    const chosen = amongCandidates[0];
    if (amongCandidates.length === 1 && chosen) {
      const candidate = await BankTransaction.findById(chosen).lean<BankTransactionDoc>();
      if (!candidate) throw new NotFoundError(`Transaction "${shown}" no longer exists.`);
      if (candidate.usedBy) throw new UserError('That transaction already settled another request.');
      return candidate;
    }
    const sameAmount = await BankTransaction.find({ accountId: request.accountId, amountMinor: request.amountMinor }).lean<BankTransactionDoc[]>();
    const mine = sameAmount.filter((t) => t.currency.toUpperCase() === request.currency.toUpperCase());
    const found = mine.filter((t) => t._id.toLowerCase().startsWith(ref));
    if (found.length > 1) throw new UserError(`"${shown}" names more than one transaction of ${money(request)}; give more of its id.`);
    const only = found[0];
    // The request exists; a transaction it cannot take is a bad choice (400 on the API), not a missing request.
    if (!only) throw new UserError(`No transaction "${shown}" among the candidates of "${request.externalId}" or this account's transactions of ${money(request)}; see pending show.`);
    if (only.usedBy) throw new UserError('That transaction already settled another request.');
    return only;
  }
}
