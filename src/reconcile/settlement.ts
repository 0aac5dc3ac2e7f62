import type { AnyBulkWriteOperation, PushOperator } from 'mongodb';
import type { Clock } from '../domain/clock.js';
import { z } from 'zod';
import { REQUEST_STATUSES, WAITING_STATUSES, type RequestStatus } from '../domain/request-status.js';
import type { Logger } from '../log.js';
import { driverCollection, type BankTransactionDoc, type ConciliationRequestDoc, type DriverDocument, type MatchAttempt, type Models, type OutboxEventDoc, type PendingEvent, type RequestMatch } from '../store/models.js';
import { LeaseLostError, type LockLease } from './account-lock.js';
import { createClaims, type ClaimPair, type Claims } from './claims.js';
import { matchRequests, WINDOW_MS, type MatchDecision, type MatchTransaction } from './matcher.js';
import type { Outbox } from './outbox.js';
import { ambiguousEvent, failedEvent, matchedEvent, type CandidateFacts } from './result-events.js';

/**
 * Settlement (SPEC §4): evaluates open requests of one account with the pure matcher and
 * records each decision, under the account's reconcile lease (account-lock.ts), in chunks of
 * `chunkSize` requests with bulk writes (each write still a single-document update):
 *  1. the chunk's requests that are to claim a transaction become `processing` (remembering
 *     their previous status), stamped with the lease's fencing number (in the same command as
 *     the previous chunk's outcomes);
 *  2. their transactions are claimed (fenced: claims.ts), so each settles one request and
 *     each request holds one (a request still holding what an interrupted step left has it
 *     freed first);
 *  3. each request's new status, its attempt and the events it causes are written together,
 *     conditional on the request still being `processing` under this lease (one that claimed)
 *     or still in the status read (any other);
 *  4. claims whose request was not written `matched` are given back (unless it is matched
 *     with them), and the events are copied to the outbox (the sweeper finishes this after a
 *     crash); chat is told of them once the evaluation ends (the sweeper's chat backlog tells
 *     what a crash left untold).
 * The lease is checked before each chunk's writes; once it is lost the step stops, and the
 * next holder's recovery (run first in every locked step) takes its requests over and frees
 * what they held. An evaluation that throws counts as an error for the requests it was
 * evaluating: their claims are released, then they are retried with back-off up to the
 * account's `retry_limit`, then `failed`. When requests were matched, the open requests that
 * had one of those transactions among their candidates are evaluated again (their ambiguity
 * may be over).
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
/** Requests per chunk of writes. */
export const SETTLEMENT_CHUNK = 1_000;
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 30 * 60_000;
/** Up to this many requests named by id are read by id (see load). */
const FEW_IDS = 100;
/** Rounds of re-evaluating requests whose candidates were just used (each round is smaller). */
const MAX_ROUNDS = 4;
/** Ids per read by id. */
const READ_BY_ID = 10_000;
/** Requests to evaluate again, and (after a round) the requests they and their rivals are among: read by id, not by a scan of the account's open requests. */
type Stale = { ids: string[]; among?: string[] };
const NOTHING_STALE: Stale = { ids: [] };

/** What an evaluation reads of a request: not its attempts, events or match (a request keeps up to ATTEMPTS_KEPT attempts; 100k of them were most of what a poll read). */
const EVALUATED_FIELDS = { attempts: 0, pendingEvents: 0, match: 0 } as const;
/** What an evaluation reads of a transaction: what the matcher, the claim and the match record use. */
const TRANSACTION_FIELDS = { amountMinor: 1, currency: 1, senderName: 1, receivedAt: 1, description: 1, bankReference: 1, usedBy: 1, claimFence: 1 } as const;
const amountKey = (amountMinor: number, currency: string) => `${amountMinor}|${currency.toUpperCase()}`;
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const emptySummary = (): EvaluationSummary => ({ evaluated: 0, matched: 0, ambiguous: 0, notFound: 0, errors: 0, failed: 0 });

/** The fields an outcome writes, as the request schema stores them (models.ts). */
const OUTCOME_SCHEMA = z.object({
  status: z.enum(REQUEST_STATUSES),
  attempt: z.object({ number: z.number().int(), result: z.string(), reason: z.string(), candidates: z.array(z.string()), at: z.date() }),
  candidates: z.array(z.string()).optional(),
  errorCount: z.number().int().optional(),
  retryAt: z.date().nullable().optional(),
  match: z.record(z.string(), z.unknown()).nullable().optional(),
});

type Outcome = { request: ConciliationRequestDoc; status: RequestStatus; attempt: MatchAttempt; set: Record<string, unknown>; events: PendingEvent[]; marked: boolean };

export type Settlement = ReturnType<typeof createSettlement>;

export function createSettlement(deps: { models: Models; clock: Clock; log: Logger; outbox: Outbox; match?: MatchFn; chunkSize?: number }) {
  const { ConciliationRequest, BankTransaction } = deps.models;
  const requests = driverCollection(ConciliationRequest as never);
  const match = deps.match ?? matchRequests;
  const chunkSize = deps.chunkSize ?? SETTLEMENT_CHUNK;
  const log = deps.log.child({ component: 'reconcile' });
  const claims: Claims = createClaims({ models: deps.models, clock: deps.clock });
  /** Requests the lease's recovery restored: its first evaluation takes them in. */
  const restoredBy = new WeakMap<LockLease, Set<string>>();

  /**
   * First in every locked step: requests left `processing` (a crash, a step that threw, or a
   * holder whose lease lapsed) are taken over and restored, and what they held is freed. The
   * look for them (a read of the account's requests) is spared when the holder before ended its
   * step cleanly (account-lock.ts); `always` looks anyway, `ids` restores these (a poll and
   * the sweeper see requests still `processing`: marks a lapsed holder wrote after a clean
   * step had begun).
   */
  async function recover(lease: LockLease, scope: { always?: boolean; ids?: string[] } = {}): Promise<string[]> {
    if (!scope.ids && !scope.always && lease.previousEndedClean) return [];
    const ids = scope.ids ?? (await ConciliationRequest.find({ accountId: lease.accountId, status: 'processing' }, { _id: 1 }).lean<{ _id: string }[]>()).map((r) => r._id);
    if (ids.length === 0) return [];
    const freed = await claims.releaseUnsettled(await claims.heldBy(lease.accountId, ids), lease, ids);
    restoredBy.set(lease, new Set([...(restoredBy.get(lease) ?? []), ...ids]));
    log.warn({ accountId: lease.accountId, requests: ids.length, transactionsFreed: freed.length }, 'requests left processing by an interrupted evaluation were restored');
    return ids;
  }

  /**
   * What the schema would refuse in an outcome (outcomes go to the driver, not through
   * mongoose's casting): undefined when it can be stored. Checked with zod, per outcome.
   */
  function outcomeProblem(o: Outcome): string | undefined {
    const checked = OUTCOME_SCHEMA.safeParse({ status: o.status, attempt: o.attempt, ...o.set });
    return checked.success ? undefined : checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  }

  /** A request marked `processing` (it claims) is written only while still marked under this lease; any other only if its status is still the one read. */
  function outcomeWrite(o: Outcome, fence: number, now: Date): AnyBulkWriteOperation<DriverDocument> {
    return {
      updateOne: {
        filter: o.marked ? { _id: o.request._id, status: 'processing', processingFence: fence } : { _id: o.request._id, status: o.request.status },
        update: {
          $set: { status: o.status, statusChangedAt: o.status === o.request.status ? o.request.statusChangedAt : now, processingFrom: null, processingSince: null, ...o.set, updatedAt: now },
          $inc: { attemptCount: 1 },
          // The driver's types refuse $push (and $pull) on a document type with an index signature.
          $push: { attempts: { $each: [o.attempt], $slice: -ATTEMPTS_KEPT }, pendingEvents: { $each: o.events } } as unknown as PushOperator<DriverDocument>,
        },
      },
    };
  }

  /**
   * Writes outcomes (fenced), gives back claims whose request did not end `matched`, copies
   * events (their chat notice is left in `told`). `marks`: the next chunk's processing marks,
   * written in the same command (one round trip and one commit fewer per chunk; they concern
   * other requests).
   */
  async function writeOutcomes(outcomes: Outcome[], claimed: Map<string, BankTransactionDoc>, lease: LockLease, told: OutboxEventDoc[], marks: AnyBulkWriteOperation<DriverDocument>[] = []): Promise<Set<string>> {
    const now = deps.clock.now();
    if (outcomes.length === 0) {
      if (marks.length > 0) await requests.bulkWrite(marks, { ordered: false });
      return new Set();
    }
    // An outcome that is not what the schema stores (a defective decision) is not written, and
    // throws after the others were (as mongoose's casting did): the caller records it as an error.
    const refused = outcomes.map((o) => ({ o, problem: outcomeProblem(o) })).filter((r) => r.problem !== undefined);
    const writable = refused.length === 0 ? outcomes : outcomes.filter((o) => !refused.some((r) => r.o === o));
    const result = await requests.bulkWrite([...writable.map((o) => outcomeWrite(o, lease.fence, now)), ...marks], { ordered: false });
    if (refused.length > 0) throw new Error(`the outcome of request ${refused[0]?.o.request._id} cannot be stored: ${refused[0]?.problem}`);
    if (result.matchedCount === outcomes.length + marks.length) {
      // Every conditional write applied: the claims are settled, the events are the ones built here.
      await deps.outbox.flushRequests(
        outcomes.flatMap((o) => o.events.map((event) => ({ requestId: o.request._id, event }))),
        told,
      );
      return new Set(outcomes.filter((o) => o.status === 'matched').map((o) => o.request._id));
    }
    const followUp = outcomes.filter((o) => o.events.length > 0 || claimed.has(o.request._id)).map((o) => o.request._id);
    const written = new Set<string>();
    if (followUp.length === 0) return written;
    const after = await ConciliationRequest.find({ _id: { $in: followUp } }, { status: 1, match: 1, pendingEvents: 1 }).lean<Pick<ConciliationRequestDoc, '_id' | 'status' | 'match' | 'pendingEvents'>[]>();
    const byId = new Map(after.map((r) => [r._id, r]));
    const giveBack = [...claimed].filter(([requestId, t]) => {
      const r = byId.get(requestId);
      const settled = r?.status === 'matched' && r.match?.transactionId === t._id;
      if (settled) written.add(requestId);
      return !settled;
    });
    // Cancelled, changed or taken over meanwhile: the transaction goes back, unless its request is matched with it.
    if (giveBack.length > 0) await claims.releaseUnsettled(giveBack.map(([requestId, t]) => ({ _id: t._id, usedBy: requestId, claimFence: lease.fence })), lease);
    const eventIds = new Set(outcomes.flatMap((o) => o.events.map((e) => e._id)));
    const stranded = after.flatMap((r) => (r.pendingEvents ?? []).filter((e) => eventIds.has(e._id)).map((e) => ({ requestId: r._id, event: e })));
    await deps.outbox.flushRequests(stranded, told);
    return written;
  }

  function decide(request: ConciliationRequestDoc, decision: MatchDecision, claimed: Map<string, BankTransactionDoc>, transactions: Map<string, BankTransactionDoc>, summary: EvaluationSummary): Omit<Outcome, 'marked'> {
    const now = deps.clock.now();
    const number = request.attemptCount + 1;
    const clear = { errorCount: 0, retryAt: null };
    if (decision.result === 'matched') {
      const t = claimed.get(request._id);
      if (!t) {
        summary.notFound += 1;
        const attempt = { number, result: 'not_found', reason: 'the best transaction was just used by another request', candidates: [decision.transactionId], at: now };
        return { request, status: 'not_found', attempt, set: { candidates: [], ...clear }, events: [] };
      }
      summary.matched += 1;
      const matchRecord: RequestMatch = { transactionId: t._id, amountMinor: t.amountMinor, currency: t.currency, senderName: t.senderName ?? null, receivedAt: t.receivedAt, score: decision.score, by: 'matcher', at: now };
      const attempt = { number, result: 'matched', reason: decision.reason, candidates: [t._id], at: now };
      return { request, status: 'matched', attempt, set: { match: matchRecord, candidates: [], ...clear }, events: [matchedEvent(request, number, matchRecord, now, decision.reason)] };
    }
    if (decision.result === 'ambiguous') {
      summary.ambiguous += 1;
      const attempt = { number, result: 'ambiguous', reason: decision.reason, candidates: [...decision.candidates], at: now };
      // Operators hear about an ambiguity once, and again only if the candidates change.
      const news = request.status !== 'ambiguous' || !sameList(request.candidates ?? [], decision.candidates);
      const total = Number(/^(\d+)/.exec(decision.reason)?.[1] ?? decision.candidates.length);
      const facts: CandidateFacts[] = decision.candidates.map((id) => {
        const t = transactions.get(id);
        return { id, sender_name: t?.senderName ?? null, received_at: t ? t.receivedAt.toISOString() : '' };
      });
      return { request, status: 'ambiguous', attempt, set: { candidates: [...decision.candidates], ...clear }, events: news ? [ambiguousEvent(request, number, facts, total, now, decision.reason)] : [] };
    }
    summary.notFound += 1;
    return { request, status: 'not_found', attempt: { number, result: 'not_found', reason: decision.reason, candidates: [], at: now }, set: { candidates: [], ...clear }, events: [] };
  }

  /** An evaluation that failed: claims released, each request retried later or `failed`. */
  async function recordError(requests: ConciliationRequestDoc[], account: AccountFacts, error: unknown, lease: LockLease, summary: EvaluationSummary, told: OutboxEventDoc[]): Promise<void> {
    const now = deps.clock.now();
    const sentence = `the evaluation failed: ${error instanceof Error ? error.message : String(error)}`;
    log.error({ err: error, accountId: account.id, requests: requests.length }, 'evaluation failed');
    const outcomes: Omit<Outcome, 'marked'>[] = requests.map((request) => {
      const errors = (request.errorCount ?? 0) + 1;
      const number = request.attemptCount + 1;
      const attempt = { number, result: 'error', reason: sentence, candidates: [], at: now };
      if (errors > account.retryLimit) {
        summary.failed += 1;
        return { request, status: 'failed', attempt, set: { errorCount: errors, retryAt: null }, events: [failedEvent(request, number, sentence, now)] };
      }
      summary.errors += 1;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (errors - 1));
      return { request, status: 'pending', attempt, set: { errorCount: errors, retryAt: new Date(now.getTime() + delay) }, events: [] };
    });
    for (let i = 0; i < outcomes.length; i += chunkSize) {
      const chunk = outcomes.slice(i, i + chunkSize).map((o) => ({ ...o, marked: true }));
      await writeOutcomes(chunk, new Map(), lease, told);
      // What they had claimed before the error goes back (they are no longer processing).
      await claims.releaseUnsettled(await claims.heldBy(account.id, chunk.map((o) => o.request._id)), lease);
    }
  }

  /**
   * The requests to evaluate and their rivals (the other open requests with the same amounts).
   * `among`: a round after the first knows them already (see Stale): they are read again by id.
   */
  async function load(account: AccountFacts, target: EvaluationTarget, restored: Set<string>, among?: string[]): Promise<{ wanted: ConciliationRequestDoc[]; rivals: ConciliationRequestDoc[] }> {
    const now = deps.clock.now();
    const ids = new Set([...(target.requestIds ?? []), ...restored]);
    if (among) {
      const known = await readOpen(account.id, among);
      return withRivals(known.filter((r) => ids.has(r._id)), known);
    }
    const amounts = new Set((target.amounts ?? []).map((a) => amountKey(a.amountMinor, a.currency)));
    // A few named requests are read by id; many are sorted out of one read of the open requests:
    // mongo-java-server compares each document it reads with the whole of an $in list (a round
    // of thousands of stale requests, and their amounts, grew with the square).
    const onlyIds = !target.due && amounts.size === 0 && ids.size <= FEW_IDS;
    const candidates = onlyIds
      ? await ConciliationRequest.find({ _id: { $in: [...ids] }, accountId: account.id, status: { $in: WAITING_STATUSES } }, EVALUATED_FIELDS).lean<ConciliationRequestDoc[]>()
      : await ConciliationRequest.find({ accountId: account.id, status: { $in: WAITING_STATUSES } }, EVALUATED_FIELDS).lean<ConciliationRequestDoc[]>();
    const wanted = candidates.filter(
      (r) => ids.has(r._id) || amounts.has(amountKey(r.amountMinor, r.currency)) || (target.due === true && r.status === 'pending' && (!r.retryAt || r.retryAt <= now)),
    );
    const pool = onlyIds
      ? await ConciliationRequest.find({ accountId: account.id, status: { $in: WAITING_STATUSES }, amountMinor: { $in: [...new Set(wanted.map((r) => r.amountMinor))] } }, EVALUATED_FIELDS).lean<ConciliationRequestDoc[]>()
      : candidates;
    return withRivals(wanted, pool);
  }

  /** The wanted requests and, out of `pool`, the open requests with their amounts (themselves included). */
  function withRivals(wanted: ConciliationRequestDoc[], pool: ConciliationRequestDoc[]): { wanted: ConciliationRequestDoc[]; rivals: ConciliationRequestDoc[] } {
    const wantedAmounts = new Set(wanted.map((r) => amountKey(r.amountMinor, r.currency)));
    return { wanted, rivals: pool.filter((r) => wantedAmounts.has(amountKey(r.amountMinor, r.currency))) };
  }

  /** These requests, those still open, read by id (the launcher reads an _id list through the _id index: no scan). */
  async function readOpen(accountId: string, ids: string[]): Promise<ConciliationRequestDoc[]> {
    const read: ConciliationRequestDoc[] = [];
    for (let i = 0; i < ids.length; i += READ_BY_ID) {
      read.push(...(await ConciliationRequest.find({ _id: { $in: ids.slice(i, i + READ_BY_ID) }, accountId, status: { $in: WAITING_STATUSES } }, EVALUATED_FIELDS).lean<ConciliationRequestDoc[]>()));
    }
    return read;
  }

  /**
   * Marks a chunk `processing` under the lease, each request only if its status is still the
   * one read (a mark by a holder whose lease lapsed is harmless: its outcome writes, claims and
   * releases are fenced).
   */
  function processingMarks(chunk: ConciliationRequestDoc[], lease: LockLease): AnyBulkWriteOperation<DriverDocument>[] {
    const now = deps.clock.now();
    return chunk.map((r) => ({
      updateOne: { filter: { _id: r._id, status: r.status }, update: { $set: { status: 'processing', processingFrom: r.status, processingSince: now, processingFence: lease.fence, updatedAt: now } } },
    }));
  }

  async function markProcessing(chunk: ConciliationRequestDoc[], lease: LockLease): Promise<void> {
    if (chunk.length === 0) return;
    await requests.bulkWrite(processingMarks(chunk, lease), { ordered: false });
  }

  /** One evaluation; returns the open requests to evaluate again (a transaction among their candidates was just used), and among which requests they are. */
  async function evaluateOnce(account: AccountFacts, target: EvaluationTarget, lease: LockLease, summary: EvaluationSummary, told: OutboxEventDoc[], among?: string[]): Promise<Stale> {
    const restored = restoredBy.get(lease) ?? new Set<string>();
    restoredBy.delete(lease);
    const { wanted, rivals } = await load(account, target, restored, among);
    const used = new Set<string>();
    if (wanted.length === 0) return NOTHING_STALE;
    summary.evaluated += wanted.length;

    let earliest = Number.POSITIVE_INFINITY;
    for (const r of rivals) earliest = Math.min(earliest, r.registeredAt.getTime());
    // The amounts are kept here, not in the query: a long $in list is compared with every document on mongo-java-server.
    const rivalAmounts = new Set(rivals.map((r) => r.amountMinor));
    const docs = (await BankTransaction.find({ accountId: account.id, usedBy: null, receivedAt: { $gte: new Date(earliest - WINDOW_MS) } }, TRANSACTION_FIELDS).lean<BankTransactionDoc[]>()).filter((t) =>
      rivalAmounts.has(t.amountMinor),
    );
    const byId = new Map(docs.map((d) => [d._id, d]));

    let done = 0;
    let marked = 0;
    let decisionOf = new Map<string, MatchDecision>();
    try {
      const transactions: MatchTransaction[] = docs.map((t) => ({
        id: t._id,
        amountMinor: t.amountMinor,
        currency: t.currency,
        senderName: t.senderName ?? null,
        receivedAtMs: t.receivedAt.getTime(),
        reference: [t.description, t.bankReference].filter(Boolean).join(' ') || null,
      }));
      // The other open requests with the same amounts take part, so one transaction that is
      // the clear best of two requests is seen as such (ambiguous, never a pick).
      const decisions = match(
        rivals.map((r) => ({ id: r._id, amountMinor: r.amountMinor, currency: r.currency, name: r.name, registeredAtMs: r.registeredAt.getTime(), externalId: r.externalId })),
        transactions,
      );
      decisionOf = new Map(decisions.map((d) => [d.requestId, d]));
      for (const r of wanted) if (!decisionOf.has(r._id)) throw new Error(`the matcher returned no decision for request ${r._id}`);

      // Only a request that claims is marked `processing` (the claim's window: a crash there is
      // recovered); a chunk's marks are written before its claims, with the outcomes of the chunk
      // before it (the first chunk's alone).
      const pairsOf = (chunk: ConciliationRequestDoc[]) =>
        chunk.flatMap((r) => {
          const d = decisionOf.get(r._id) as MatchDecision;
          const transaction = d.result === 'matched' ? byId.get(d.transactionId) : undefined;
          return transaction ? [{ requestId: r._id, transaction }] : [];
        });
      const claimingIn = (chunk: ConciliationRequestDoc[], pairs: ClaimPair[]) => {
        const claiming = new Set(pairs.map((p) => p.requestId));
        return chunk.filter((r) => claiming.has(r._id));
      };
      let chunk = wanted.slice(0, chunkSize);
      let pairs = pairsOf(chunk);
      lease.check();
      await markProcessing(claimingIn(chunk, pairs), lease);
      marked = chunk.length;
      for (; done < wanted.length; done += chunkSize) {
        lease.check();
        const claiming = new Set(pairs.map((p) => p.requestId));
        const claimed = await claims.claim(account.id, pairs, lease);
        lease.check();
        const outcomes = chunk.map((r) => ({ ...decide(r, decisionOf.get(r._id) as MatchDecision, claimed, byId, summary), marked: claiming.has(r._id) }));
        const next = wanted.slice(done + chunkSize, done + 2 * chunkSize);
        const nextPairs = pairsOf(next);
        const settled = await writeOutcomes(outcomes, claimed, lease, told, processingMarks(claimingIn(next, nextPairs), lease));
        marked = done + chunk.length + next.length;
        for (const requestId of settled) used.add((claimed.get(requestId) as BankTransactionDoc)._id);
        chunk = next;
        pairs = nextPairs;
      }
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      // A write that failed here may still land after the reads below: the next holder looks.
      lease.taint();
      // The chunk being written: what is still processing under this lease. The chunks after it
      // are marked now, so the error outcome (fenced) applies to them too.
      const current = wanted.slice(done, marked);
      const still = new Set(
        (await ConciliationRequest.find({ _id: { $in: current.map((r) => r._id) }, status: 'processing', processingFence: lease.fence }, { _id: 1 }).lean<{ _id: string }[]>()).map((r) => r._id),
      );
      const unmarked = wanted.slice(Math.max(marked, done));
      for (let i = 0; i < unmarked.length; i += chunkSize) await markProcessing(unmarked.slice(i, i + chunkSize), lease);
      await recordError([...current.filter((r) => still.has(r._id)), ...unmarked], account, error, lease, summary, told);
      // Requests of the chunk written before the error: their events are copied now (else the sweeper would).
      await deps.outbox.flushRequestsById(
        current.filter((r) => !still.has(r._id)).map((r) => r._id),
        told,
      );
    }
    // Open requests that had a now-used transaction among their candidates: all are rivals
    // (a candidate has its request's amount, and a used transaction a wanted request's).
    if (used.size === 0) return NOTHING_STALE;
    const stale = rivals.filter((r) => {
      const d = decisionOf.get(r._id);
      const candidates = d?.result === 'ambiguous' ? d.candidates : r.status === 'ambiguous' ? r.candidates : [];
      return (d === undefined || d.result === 'ambiguous') && candidates.some((c) => used.has(c));
    });
    // Their rivals are among this round's: no request of the account is created but under its lease, which this step holds.
    const staleAmounts = new Set(stale.map((r) => amountKey(r.amountMinor, r.currency)));
    return { ids: stale.map((r) => r._id), among: rivals.filter((r) => staleAmounts.has(amountKey(r.amountMinor, r.currency))).map((r) => r._id) };
  }

  return {
    recover,

    /** The sweeper's check: frees transactions held by requests not matched with them. */
    releaseOrphans: (lease: LockLease) => claims.releaseOrphans(lease.accountId, lease),

    claims,

    /** Evaluates the account's open requests the target names (under the account's lease). */
    async evaluate(account: AccountFacts, target: EvaluationTarget, lease: LockLease): Promise<EvaluationSummary> {
      const summary = emptySummary();
      // One evaluation's results are told together (a poll of 100k orders: one message per kind of result, not one per chunk).
      const told: OutboxEventDoc[] = [];
      try {
        let stale = await evaluateOnce(account, target, lease, summary, told);
        // Requests that had a now-used transaction among their candidates are evaluated again.
        for (let round = 1; stale.ids.length > 0 && round < MAX_ROUNDS; round++) stale = await evaluateOnce(account, { requestIds: stale.ids }, lease, summary, told, stale.among);
      } finally {
        await deps.outbox.announce(told);
      }
      log.debug({ accountId: account.id, ...summary }, 'requests evaluated');
      return summary;
    },

    /** After transactions were used outside an evaluation (an operator's resolve): their rivals' ambiguity is looked at again. */
    async transactionsUsed(account: AccountFacts, transactionIds: string[], lease: LockLease): Promise<EvaluationSummary> {
      const summary = emptySummary();
      if (transactionIds.length === 0) return summary;
      const waiting = await ConciliationRequest.find({ accountId: account.id, status: 'ambiguous', candidates: { $in: transactionIds } }, { _id: 1 }).lean<{ _id: string }[]>();
      let stale: Stale = { ids: waiting.map((r) => r._id) };
      const told: OutboxEventDoc[] = [];
      try {
        for (let round = 0; stale.ids.length > 0 && round < MAX_ROUNDS; round++) stale = await evaluateOnce(account, { requestIds: stale.ids }, lease, summary, told, stale.among);
      } finally {
        await deps.outbox.announce(told);
      }
      return summary;
    },
  };
}
