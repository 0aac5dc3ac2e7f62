import type { Clock } from '../domain/clock.js';
import { WAITING_STATUSES, type RequestStatus } from '../domain/request-status.js';
import type { Logger } from '../log.js';
import type { BankTransactionDoc, ConciliationRequestDoc, MatchAttempt, Models, PendingEvent, RequestMatch } from '../store/models.js';
import { matchRequests, WINDOW_MS, type MatchDecision, type MatchTransaction } from './matcher.js';
import type { Outbox } from './outbox.js';
import { ambiguousEvent, failedEvent, matchedEvent, type CandidateFacts } from './result-events.js';

/**
 * Settlement (SPEC §4): evaluates open requests of one account with the pure matcher and
 * records each decision. The caller holds the account's reconcile lock. Every write is one
 * atomic single-document update:
 *  1. the requests to evaluate become `processing` (remembering their previous status);
 *  2. a matched transaction is claimed (`usedBy: null` → request id), so it settles one request;
 *  3. the request's new status, its attempt and the events it causes are written together;
 *  4. the events are copied to the outbox (the sweeper finishes this after a crash).
 * A crash between 2 and 3 leaves the request `processing`: the next evaluation of the account
 * releases what it had claimed and evaluates it again. An evaluation that throws counts as an
 * error: retried with back-off up to the account's `retry_limit`, then `failed`.
 */

export type MatchFn = typeof matchRequests;
export type EvaluationTarget = {
  /** These requests (when open). */
  requestIds?: string[];
  /** Open requests with one of these amounts (new transactions arrived with them). */
  amounts?: { amountMinor: number; currency: string }[];
  /** Pending requests due for a first evaluation or a retry. */
  due?: boolean;
};
export type EvaluationSummary = { evaluated: number; matched: number; ambiguous: number; notFound: number; errors: number; failed: number };
export type AccountFacts = { id: string; userId: string; retryLimit: number };

/** Attempts kept on a request; older ones are dropped (their count stays in `attemptCount`). */
export const ATTEMPTS_KEPT = 50;
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 30 * 60_000;

const amountKey = (amountMinor: number, currency: string) => `${amountMinor}|${currency.toUpperCase()}`;
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export type Settlement = ReturnType<typeof createSettlement>;

export function createSettlement(deps: { models: Models; clock: Clock; log: Logger; outbox: Outbox; match?: MatchFn }) {
  const { ConciliationRequest, BankTransaction } = deps.models;
  const match = deps.match ?? matchRequests;
  const log = deps.log.child({ component: 'reconcile' });

  /** Requests left `processing` by a crash (the lock is ours, so nobody else is evaluating them). */
  async function recoverProcessing(accountId: string): Promise<string[]> {
    const stuck = await ConciliationRequest.find({ accountId, status: 'processing' }, { processingFrom: 1 }).lean<Pick<ConciliationRequestDoc, '_id' | 'processingFrom'>[]>();
    for (const request of stuck) {
      await BankTransaction.updateMany({ accountId, usedBy: request._id }, { $set: { usedBy: null, usedAt: null } });
      await ConciliationRequest.updateOne(
        { _id: request._id, status: 'processing' },
        { $set: { status: request.processingFrom ?? 'pending', processingFrom: null, processingSince: null } },
      );
    }
    if (stuck.length > 0) log.warn({ accountId, requests: stuck.length }, 'requests left processing by an interrupted evaluation were restored');
    return stuck.map((r) => r._id);
  }

  async function writeOutcome(
    request: ConciliationRequestDoc,
    status: RequestStatus,
    attempt: MatchAttempt,
    set: Record<string, unknown>,
    events: PendingEvent[],
  ): Promise<boolean> {
    const now = deps.clock.now();
    const updated = await ConciliationRequest.findOneAndUpdate(
      { _id: request._id, status: 'processing' },
      {
        $set: { status, statusChangedAt: status === request.status ? request.statusChangedAt : now, processingFrom: null, processingSince: null, ...set },
        $inc: { attemptCount: 1 },
        $push: { attempts: { $each: [attempt], $slice: -ATTEMPTS_KEPT }, pendingEvents: { $each: events } },
      },
      { returnDocument: 'after' },
    ).lean<ConciliationRequestDoc>();
    if (updated && events.length > 0) await deps.outbox.flushRequest(request._id, events);
    return updated !== null;
  }

  async function settle(request: ConciliationRequestDoc, decision: MatchDecision, transactions: Map<string, BankTransactionDoc>, summary: EvaluationSummary): Promise<void> {
    const now = deps.clock.now();
    const number = request.attemptCount + 1;
    if (decision.result === 'matched') {
      const claimed = await BankTransaction.findOneAndUpdate(
        { _id: decision.transactionId, accountId: request.accountId, usedBy: null },
        { $set: { usedBy: request._id, usedAt: now } },
        { returnDocument: 'after' },
      ).lean<BankTransactionDoc>();
      if (!claimed) {
        const attempt = { number, result: 'not_found', reason: 'the best transaction was just used by another request', candidates: [decision.transactionId], at: now };
        await writeOutcome(request, 'not_found', attempt, { candidates: [], errorCount: 0, retryAt: null }, []);
        summary.notFound += 1;
        return;
      }
      const matchRecord: RequestMatch = {
        transactionId: claimed._id,
        amountMinor: claimed.amountMinor,
        currency: claimed.currency,
        senderName: claimed.senderName ?? null,
        receivedAt: claimed.receivedAt,
        score: decision.score,
        by: 'matcher',
        at: now,
      };
      const attempt = { number, result: 'matched', reason: decision.reason, candidates: [claimed._id], at: now };
      const written = await writeOutcome(request, 'matched', attempt, { match: matchRecord, candidates: [], errorCount: 0, retryAt: null }, [matchedEvent(request, number, matchRecord, now)]);
      if (!written) {
        // Cancelled or changed while we evaluated: give the transaction back.
        await BankTransaction.updateOne({ _id: claimed._id, usedBy: request._id }, { $set: { usedBy: null, usedAt: null } });
        return;
      }
      summary.matched += 1;
      return;
    }
    if (decision.result === 'ambiguous') {
      const attempt = { number, result: 'ambiguous', reason: decision.reason, candidates: [...decision.candidates], at: now };
      // Operators hear about an ambiguity once, and again only if the candidates change.
      const news = request.status !== 'ambiguous' || !sameList(request.candidates ?? [], decision.candidates);
      const total = Number(/^(\d+)/.exec(decision.reason)?.[1] ?? decision.candidates.length);
      const facts: CandidateFacts[] = decision.candidates.map((id) => {
        const t = transactions.get(id);
        return { id, sender_name: t?.senderName ?? null, received_at: t ? t.receivedAt.toISOString() : '' };
      });
      await writeOutcome(request, 'ambiguous', attempt, { candidates: [...decision.candidates], errorCount: 0, retryAt: null }, news ? [ambiguousEvent(request, number, facts, total, now)] : []);
      summary.ambiguous += 1;
      return;
    }
    const attempt = { number, result: 'not_found', reason: decision.reason, candidates: [], at: now };
    await writeOutcome(request, 'not_found', attempt, { candidates: [], errorCount: 0, retryAt: null }, []);
    summary.notFound += 1;
  }

  async function recordError(requests: ConciliationRequestDoc[], account: AccountFacts, error: unknown, summary: EvaluationSummary): Promise<void> {
    const now = deps.clock.now();
    const sentence = `the evaluation failed: ${error instanceof Error ? error.message : String(error)}`;
    log.error({ err: error, accountId: account.id, requests: requests.length }, 'evaluation failed');
    for (const request of requests) {
      const errors = (request.errorCount ?? 0) + 1;
      const number = request.attemptCount + 1;
      const attempt = { number, result: 'error', reason: sentence, candidates: [], at: now };
      if (errors > account.retryLimit) {
        await writeOutcome(request, 'failed', attempt, { errorCount: errors, retryAt: null }, [failedEvent(request, number, sentence, now)]).catch(() => undefined);
        summary.failed += 1;
      } else {
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (errors - 1));
        await writeOutcome(request, 'pending', attempt, { errorCount: errors, retryAt: new Date(now.getTime() + delay) }, []).catch(() => undefined);
        summary.errors += 1;
      }
    }
  }

  return {
    recoverProcessing,

    /** Evaluates the account's open requests the target names (caller holds the account lock). */
    async evaluate(account: AccountFacts, target: EvaluationTarget): Promise<EvaluationSummary> {
      const summary: EvaluationSummary = { evaluated: 0, matched: 0, ambiguous: 0, notFound: 0, errors: 0, failed: 0 };
      const now = deps.clock.now();
      const restored = new Set(await recoverProcessing(account.id));
      const open = await ConciliationRequest.find({ accountId: account.id, status: { $in: WAITING_STATUSES } }).lean<ConciliationRequestDoc[]>();
      const ids = new Set(target.requestIds ?? []);
      const amounts = new Set((target.amounts ?? []).map((a) => amountKey(a.amountMinor, a.currency)));
      const wanted = open.filter(
        (r) =>
          restored.has(r._id) ||
          ids.has(r._id) ||
          amounts.has(amountKey(r.amountMinor, r.currency)) ||
          (target.due === true && r.status === 'pending' && (!r.retryAt || r.retryAt <= now)),
      );
      if (wanted.length === 0) return summary;
      summary.evaluated = wanted.length;

      const byStatus = new Map<RequestStatus, string[]>();
      for (const r of wanted) byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), r._id]);
      for (const [status, list] of byStatus) {
        await ConciliationRequest.updateMany({ _id: { $in: list }, status }, { $set: { status: 'processing', processingFrom: status, processingSince: now } });
      }

      try {
        // The other open requests with the same amounts take part, so one transaction that is
        // the clear best of two requests is seen as such (ambiguous, never a pick).
        const wantedAmounts = new Set(wanted.map((r) => amountKey(r.amountMinor, r.currency)));
        const rivals = open.filter((r) => wantedAmounts.has(amountKey(r.amountMinor, r.currency)));
        const earliest = Math.min(...rivals.map((r) => r.registeredAt.getTime())) - WINDOW_MS;
        const docs = await BankTransaction.find({
          accountId: account.id,
          usedBy: null,
          amountMinor: { $in: [...new Set(rivals.map((r) => r.amountMinor))] },
          receivedAt: { $gte: new Date(earliest) },
        }).lean<BankTransactionDoc[]>();
        const transactions: MatchTransaction[] = docs.map((t) => ({
          id: t._id,
          amountMinor: t.amountMinor,
          currency: t.currency,
          senderName: t.senderName ?? null,
          receivedAtMs: t.receivedAt.getTime(),
          reference: [t.description, t.bankReference].filter(Boolean).join(' ') || null,
        }));
        const decisions = match(
          rivals.map((r) => ({ id: r._id, amountMinor: r.amountMinor, currency: r.currency, name: r.name, registeredAtMs: r.registeredAt.getTime(), externalId: r.externalId })),
          transactions,
        );
        const decisionOf = new Map(decisions.map((d) => [d.requestId, d]));
        const byId = new Map(docs.map((d) => [d._id, d]));
        for (const request of wanted) {
          const decision = decisionOf.get(request._id);
          if (!decision) throw new Error(`the matcher returned no decision for request ${request._id}`);
          await settle(request, decision, byId, summary);
        }
      } catch (error) {
        const stillProcessing = await ConciliationRequest.find({ _id: { $in: wanted.map((r) => r._id) }, status: 'processing' }).lean<ConciliationRequestDoc[]>();
        const before = new Map(wanted.map((r) => [r._id, r]));
        await recordError(
          stillProcessing.map((r) => ({ ...r, status: before.get(r._id)?.status ?? r.status })),
          account,
          error,
          summary,
        );
      }
      log.debug({ accountId: account.id, ...summary }, 'requests evaluated');
      return summary;
    },
  };
}
