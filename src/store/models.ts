import { randomUUID } from 'node:crypto';
import type { Collection as DriverCollection, Document } from 'mongodb';
import { Schema, type Connection, type Model, type InferSchemaType } from 'mongoose';
import { ROLES } from '../domain/roles.js';
import { OPERATION_MODES } from '../domain/operation-mode.js';
import { REQUEST_STATUSES, type RequestStatus } from '../domain/request-status.js';
import { EVENT_TYPES, type EventType } from '../domain/events.js';
import { registerLiveModels, type LiveModels } from './live-models.js';
import { backfillClaimKeys } from './claim-keys.js';
import { backfillRequestKeys, keyRequestsOnInsert } from './request-keys.js';
import { v7 as orderedUuid } from 'uuid';

/**
 * Every write in this project is a single-document atomic operation (the embedded engine has
 * no multi-document transactions): uniqueness is enforced by indexes, not by reading first.
 */

const uuid = { type: String, default: () => randomUUID() };
/**
 * Requests are inserted and then settled in bulk: time-ordered ids (UUID v7, monotonic within a
 * process) keep a batch together. The embedded engine keeps documents in a B-tree ordered by
 * `_id`, so random v4 ids scattered a batch of 1,000 over ~1,000 pages, each rewritten whole by
 * the commit; on MongoDB the same holds for the _id index.
 */
const orderedId = { type: String, default: () => orderedUuid() };

const userSchema = new Schema(
  {
    _id: uuid,
    name: { type: String, required: true },
    operation_mode: { type: String, enum: [...OPERATION_MODES, null], default: null },
    /** Chat channels bound with `notify here` (stored references): results and alerts go there too. */
    channels: { type: [String], default: [] },
    /** Set on the company created under SETUP_ALLOWED=first-owner: its unique index lets only one be. */
    firstOwner: { type: Boolean },
  },
  { timestamps: true, versionKey: false },
);
userSchema.index({ firstOwner: 1 }, { unique: true, sparse: true });

const memberSchema = new Schema(
  {
    _id: uuid,
    userId: { type: String, required: true, index: true },
    platform: { type: String, required: true },
    teamId: { type: String, required: true },
    platformUserId: { type: String, required: true },
    displayName: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    /** Stored reference of this person's private chat with the bot (for prompts and alerts). */
    dmRef: { type: String, default: null },
  },
  { timestamps: true, versionKey: false },
);
// One chat identity acts for one user.
memberSchema.index({ platform: 1, teamId: 1, platformUserId: 1 }, { unique: true });

const inviteSchema = new Schema(
  {
    _id: uuid,
    /** SHA-256 of the code: the code itself is shown once and never stored. */
    codeHash: { type: String, required: true, unique: true },
    userId: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    createdBy: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
    usedBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false },
);

const accountSchema = new Schema(
  {
    _id: uuid,
    userId: { type: String, required: true },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    bank: { type: String, required: true },
    status: { type: String, enum: ['active', 'inactive'], default: 'active' },
    /** Plain settings, validated by the domain schema before every write. */
    settings: { type: Schema.Types.Mixed, required: true },
    /** Sealed secrets (SecretBox), by setting name; null when not set. */
    secrets: { type: Schema.Types.Mixed, required: true, default: () => ({}) },
    scrapeBlockedAt: { type: Date, default: null },
    scrapeBlockedReason: { type: String, default: null },
    /** One-shot scheduling: when the next run is due, whether one is queued, consecutive failures. */
    scrape: {
      nextRunAt: { type: Date, default: null },
      queuedAt: { type: Date, default: null },
      failures: { type: Number, default: 0 },
      lastOkAt: { type: Date, default: null },
      /** The last local day fully read; the next read starts `lookback_days` before it. */
      lastReadDay: { type: String, default: null },
    },
    /** Persistent session state (SPEC §2). */
    session: {
      state: { type: String, enum: ['running', 'stopped', 'needs_attention'], default: 'running' },
      reason: { type: String, default: null },
      since: { type: Date, default: null },
    },
    /** Times of recent OTP submissions (rate limit: 5 per 10 minutes). */
    otpSubmissions: { type: [Date], default: [] },
    /**
     * The account's newest session run (set as a run starts; null: none yet), so its status
     * reads the run by id: mongo-java-server would read and sort every stored run to find it.
     * Absent on accounts stored by an older version (their status sorts the runs, as before).
     */
    lastRunId: { type: String, default: null },
    /**
     * Standard Webhooks signing secrets (`whsec_…`), sealed. The newest signs; an older one
     * keeps signing beside it until `retiresAt` (rotation grace).
     */
    signingSecrets: { type: [{ _id: false, sealed: String, createdAt: Date, retiresAt: Date }], default: [] },
    /** The receiver answered 410 Gone for this URL: deliveries wait until it changes or an admin resumes them. */
    webhookGone: { url: { type: String, default: null }, at: { type: Date, default: null } },
    /** Pending-orders polling (reconcile mode): schedule, last outcome, the empty-list memory. */
    polling: {
      nextPollAt: { type: Date, default: null },
      queuedAt: { type: Date, default: null },
      lastPollAt: { type: Date, default: null },
      lastOkAt: { type: Date, default: null },
      lastError: { type: String, default: null },
      failures: { type: Number, default: 0 },
      lastCount: { type: Number, default: null },
      emptyHeld: { type: Boolean, default: false },
      /** What the last poll skipped (external ids and reasons), so the same report is not repeated each cycle. */
      skippedKey: { type: String, default: null },
      /** When the current streak of failed polls began (null while polls succeed). */
      failingSince: { type: Date, default: null },
      /** "Still failing" notices told in the current streak (see reconcile/poll-failures.ts). */
      failureNotices: { type: Number, default: 0 },
    },
  },
  { timestamps: true, versionKey: false, minimize: false },
);
accountSchema.index({ userId: 1, nameKey: 1 }, { unique: true });

const bankTransactionSchema = new Schema(
  {
    _id: uuid,
    accountId: { type: String, required: true },
    /** Stable identity of a movement within its account: re-reading never duplicates. */
    fingerprint: { type: String, required: true },
    amountMinor: { type: Number, required: true },
    currency: { type: String, required: true },
    senderName: { type: String, default: null },
    receivedAt: { type: Date, required: true },
    /** The date-time as the bank printed it ("2026-11-26T14:05"), which the fingerprint hashes. */
    printedAt: { type: String, default: null },
    description: { type: String, default: '' },
    bankReference: { type: String, default: null },
    runId: { type: String, default: null },
    /**
     * The conciliation request this transaction settled. Claimed with a conditional update
     * (`usedBy: null` → id), so the database, not timing, keeps it to one request.
     */
    usedBy: { type: String, default: null },
    usedAt: { type: Date, default: null },
    /**
     * `t:<this id>` while unused, `r:<request id>` while used, under a unique index: the
     * database itself keeps a request from holding two transactions (as `usedBy`, one field,
     * keeps a transaction to one request). Set in the same single-document update as `usedBy`.
     */
    claimKey: { type: String },
    /**
     * The reconcile lease's fencing number of the last claim or release (0 before any). A claim
     * or release is conditional on the value its step read, and a step never claims what a
     * newer lease holder touched.
     */
    claimFence: { type: Number },
    /**
     * False from insertion until reconciliation or passthrough has dealt with it; a sweeper
     * finishes what a crash interrupted. Absent on documents stored before this existed.
     */
    handled: { type: Boolean },
  },
  { timestamps: { createdAt: 'firstSeenAt', updatedAt: false }, versionKey: false },
);
bankTransactionSchema.index({ accountId: 1, fingerprint: 1 }, { unique: true });
bankTransactionSchema.index({ accountId: 1, receivedAt: -1 });
bankTransactionSchema.index({ accountId: 1, amountMinor: 1, usedBy: 1 });
bankTransactionSchema.index({ handled: 1, firstSeenAt: 1 });
bankTransactionSchema.index({ claimKey: 1 }, { unique: true });

const matchAttemptSchema = new Schema(
  {
    number: { type: Number, required: true },
    result: { type: String, required: true },
    reason: { type: String, required: true },
    candidates: { type: [String], default: [] },
    at: { type: Date, required: true },
  },
  { _id: false },
);

const conciliationRequestSchema = new Schema(
  {
    _id: orderedId,
    accountId: { type: String, required: true },
    userId: { type: String, required: true },
    /** The order's key, as text: 108 and "108" are one order. */
    externalId: { type: String, required: true },
    /** How the endpoint last wrote the id (a JSON number or a string): webhooks give it back the same way. */
    externalIdType: { type: String, enum: ['string', 'number'], default: 'string' },
    amountMinor: { type: Number, required: true },
    currency: { type: String, required: true },
    name: { type: String, required: true },
    /** When the order was first seen (reset when an expired or cancelled order is registered again). */
    registeredAt: { type: Date, required: true },
    status: { type: String, enum: REQUEST_STATUSES, required: true },
    statusChangedAt: { type: Date, required: true },
    /** Whether the last successful poll listed this order (a reappearance reopens it). */
    listedLastPoll: { type: Boolean, default: true },
    attemptCount: { type: Number, default: 0 },
    /** The latest attempts (older ones are dropped past a cap; `attemptCount` keeps counting). */
    attempts: { type: [matchAttemptSchema], default: [] },
    /** Evaluations that errored in a row; past the account's `retry_limit` the request fails. */
    errorCount: { type: Number, default: 0 },
    retryAt: { type: Date, default: null },
    /** While `processing`: the status it had before, to restore after a crash. */
    processingFrom: { type: String, default: null },
    processingSince: { type: Date, default: null },
    /** While `processing`: the fencing number of the reconcile lease whose step marked it (its writes are conditional on it). */
    processingFence: { type: Number, default: null },
    candidates: { type: [String], default: [] },
    match: { type: Schema.Types.Mixed, default: null },
    /**
     * Events caused by the last status change, written in the same atomic update as the
     * status, then copied to the outbox under their deterministic ids and removed.
     */
    pendingEvents: { type: [Schema.Types.Mixed], default: [] },
    /** Its place in the account's list: the account's n-th request stored (see request-keys.ts); given on insert. */
    listSeq: { type: Number },
    /** `<accountId>:<listSeq>`, unique: pages are read by these keys. */
    listKey: { type: String },
    /** When its number was handed out (never earlier than the account's previous one): orders accounts against each other. */
    listedAt: { type: Date },
  },
  { timestamps: true, versionKey: false, minimize: false },
);
keyRequestsOnInsert(conciliationRequestSchema as never);
conciliationRequestSchema.index({ accountId: 1, externalId: 1 }, { unique: true });
conciliationRequestSchema.index({ accountId: 1, status: 1 });
conciliationRequestSchema.index({ userId: 1, createdAt: -1 });
conciliationRequestSchema.index({ status: 1, registeredAt: 1 });
/** The list's pages: {listKey: {$in: […]}} (unique, single field: indexed on mongo-java-server too). */
conciliationRequestSchema.index({ listKey: 1 }, { unique: true, sparse: true });

const outboxEventSchema = new Schema(
  {
    /** Stable event id, derived from what caused the event: a repeat of the cause lands on the same document. */
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    userId: { type: String, required: true },
    type: { type: String, enum: EVENT_TYPES, required: true },
    /** Where it is delivered: the result webhook or the notification endpoint; each keeps its own order. */
    lane: { type: String, enum: ['webhook', 'notification'], default: 'webhook' },
    /** Creation order (per process monotonic, time-based across processes): deliveries follow it per account and lane. */
    seq: { type: Number, required: true },
    subjectId: { type: String, required: true },
    occurredAt: { type: Date, required: true },
    data: { type: Schema.Types.Mixed, required: true },
    /** The matcher's evidence for chat (not part of the documented webhook payload). */
    evidence: { type: String, default: undefined },
    webhook: {
      /** pending → delivered | failed; not_sent when no webhook is due (e.g. expired without notify_on_expired). */
      state: { type: String, enum: ['pending', 'delivered', 'failed', 'not_sent'], required: true },
      attempts: { type: Number, default: 0 },
      nextAttemptAt: { type: Date, default: null },
      lastStatus: { type: Number, default: null },
      lastError: { type: String, default: null },
      deliveredAt: { type: Date, default: null },
      replays: { type: Number, default: 0 },
      /** Every attempt (SPEC §5: time, status, latency, error), the latest 50. */
      log: { type: [Schema.Types.Mixed], default: [] },
    },
    chat: { state: { type: String, enum: ['pending', 'sent', 'none'], required: true } },
  },
  { timestamps: { createdAt: true, updatedAt: false }, versionKey: false, minimize: false },
);
outboxEventSchema.index({ accountId: 1, createdAt: 1, _id: 1 });
outboxEventSchema.index({ accountId: 1, lane: 1, 'webhook.state': 1, seq: 1 });
// The dispatcher's scan: due pending events, grouped per lane.
outboxEventSchema.index({ 'webhook.state': 1, 'webhook.nextAttemptAt': 1 });


outboxEventSchema.index({ 'chat.state': 1, occurredAt: 1 });

const sessionRunSchema = new Schema(
  {
    _id: uuid,
    accountId: { type: String, required: true },
    kind: { type: String, enum: ['one-shot', 'persistent'], required: true },
    trigger: { type: String, enum: ['schedule', 'manual', 'retry', 'monitor'], required: true },
    status: { type: String, enum: ['running', 'ok', 'failed', 'orphaned'], required: true },
    holder: { type: String, required: true },
    startedAt: { type: Date, required: true },
    endedAt: { type: Date, default: null },
    outcome: { type: String, default: null },
    fatal: { type: Boolean, default: null },
    stage: { type: String, default: null },
    url: { type: String, default: null },
    screenshot: { type: String, default: null },
    message: { type: String, default: null },
    found: { type: Number, default: 0 },
    inserted: { type: Number, default: 0 },
    /** Where the person who asked for this run follows it (a stored chat reference). */
    ref: { type: String, default: null },
    /** Set on an interrupted one-shot run once it has been started again. */
    resumedAt: { type: Date, default: null },
  },
  { versionKey: false },
);
sessionRunSchema.index({ accountId: 1, startedAt: -1 });
sessionRunSchema.index({ status: 1 });

const assistanceRequestSchema = new Schema(
  {
    _id: uuid,
    accountId: { type: String, required: true },
    type: { type: String, enum: ['otp'], default: 'otp' },
    descriptor: {
      length: { type: Number, required: true },
      type: { type: String, enum: ['numeric', 'alphanumeric'], required: true },
      purpose: { type: String, default: null },
    },
    attempts: { type: Number, default: 0 },
    status: { type: String, enum: ['pending', 'fulfilled', 'cancelled', 'expired'], required: true },
    /** Present only while pending: its unique index allows one pending request per account. */
    pendingFor: { type: String },
    /** A submitted code, sealed, held only until the waiting session takes it (then removed). */
    sealedCode: { type: String },
    submittedBy: { type: String, default: null },
    /** References of the chat messages asking for the current code (edited once it is answered). */
    prompts: { type: [String], default: [] },
    expiresAt: { type: Date, required: true },
    resolvedAt: { type: Date, default: null },
    reason: { type: String, default: null },
  },
  { timestamps: true, versionKey: false },
);
assistanceRequestSchema.index({ pendingFor: 1 }, { unique: true, sparse: true });
assistanceRequestSchema.index({ accountId: 1, createdAt: -1 });

const leaseSchema = new Schema(
  {
    _id: { type: String, required: true },
    holder: { type: String, required: true },
    purpose: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    /** Fencing number (reconcile leases): incremented by every acquisition, never reset. */
    fence: { type: Number },
    /** The fencing number of the last holder whose step ended with nothing left half done (account-lock.ts). */
    cleanThrough: { type: Number },
  },
  { versionKey: false },
);

/**
 * A button's meaning, stored: buttons carry only this short id (Telegram allows 64 bytes of
 * callback data, Discord 100 characters), which resolves to a command run as whoever presses
 * it, for the user it was made for, until it expires.
 */
const chatActionSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    command: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false },
);
chatActionSchema.index({ expiresAt: 1 });

export type ChatActionDoc = InferSchemaType<typeof chatActionSchema> & { _id: string };

/**
 * Platform events already handled (Telegram update ids, Slack trigger ids), kept a day: a
 * redelivery, even to the next process after a restart, is recognised and handled once.
 */
const inboundEventSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
inboundEventSchema.index({ at: 1 });

/** One statement file read into an account: what it held and what became of it. */
const statementImportSchema = new Schema(
  {
    _id: uuid,
    accountId: { type: String, required: true },
    userId: { type: String, required: true },
    /** SHA-256 of the file's bytes: the same file again is told apart from a new one. */
    contentHash: { type: String, required: true },
    /** The file's name as given, cleaned to letters, digits, dots, dashes and underscores. */
    fileName: { type: String, default: null },
    via: { type: String, required: true },
    status: { type: String, required: true },
    startedAt: { type: Date, required: true },
    finishedAt: { type: Date, default: null },
    summary: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
  },
  { versionKey: false, minimize: false },
);
statementImportSchema.index({ accountId: 1, startedAt: -1 });
statementImportSchema.index({ accountId: 1, contentHash: 1 });

/**
 * A person's login to the HTTP API: an email and a password (scrypt, never the password) or a
 * one-time password, acting as one member (role and company come from the member, so a role
 * changed or a member removed in chat applies to the API at once).
 */
const apiLoginSchema = new Schema(
  {
    _id: uuid,
    email: { type: String, required: true, unique: true },
    passwordHash: { type: String, default: null },
    memberId: { type: String, required: true, unique: true },
    /** Raised when the password changes: tokens signed before stop working. */
    tokenVersion: { type: Number, default: 0 },
    /** SHA-256 of a one-time password given in chat, until used or expired. */
    oneTimeHash: { type: String, default: null },
    oneTimeExpiresAt: { type: Date, default: null },
    lastLoginAt: { type: Date, default: null },
  },
  { timestamps: true, versionKey: false },
);

/** An External API key: `rbk_<prefix>_<secret>`; only SHA-256 of the whole key is kept. */
const apiKeySchema = new Schema(
  {
    _id: uuid,
    userId: { type: String, required: true, index: true },
    createdBy: { type: String, required: true },
    name: { type: String, required: true },
    prefix: { type: String, required: true, unique: true },
    keyHash: { type: String, required: true },
    scopes: { type: [String], required: true },
    /** Null: every account of the user; else only these. */
    accountIds: { type: Schema.Types.Mixed, default: null },
    lastUsedAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, versionKey: false, minimize: false },
);

/** A one-time code that joins an API login and a chat identity (`api link <code>` in chat). */
const linkCodeSchema = new Schema(
  {
    _id: uuid,
    codeHash: { type: String, required: true, unique: true },
    loginId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { versionKey: false },
);
linkCodeSchema.index({ expiresAt: 1 });

/** Fixed-window counters shared by every process (login attempts, mutating calls). */
const rateLimitSchema = new Schema(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true },
    resetAt: { type: Date, required: true },
  },
  { versionKey: false },
);
rateLimitSchema.index({ resetAt: 1 });

export type ApiLoginDoc = {
  _id: string;
  email: string;
  passwordHash: string | null;
  memberId: string;
  tokenVersion: number;
  oneTimeHash: string | null;
  oneTimeExpiresAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
};
export type ApiKeyDoc = {
  _id: string;
  userId: string;
  createdBy: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string[];
  accountIds: string[] | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
};
export type LinkCodeDoc = { _id: string; codeHash: string; loginId: string; expiresAt: Date; usedAt: Date | null };
export type RateLimitDoc = { _id: string; count: number; resetAt: Date };
export type InboundEventDoc = InferSchemaType<typeof inboundEventSchema> & { _id: string };
export type StatementImportDoc = {
  _id: string;
  accountId: string;
  userId: string;
  contentHash: string;
  fileName: string | null;
  via: 'chat' | 'api' | 'folder';
  status: 'running' | 'done' | 'refused' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  summary: Record<string, unknown> | null;
  error: string | null;
};
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: string };
export type MemberDoc = InferSchemaType<typeof memberSchema> & { _id: string };
export type InviteDoc = InferSchemaType<typeof inviteSchema> & { _id: string };
export type BankTransactionDoc = InferSchemaType<typeof bankTransactionSchema> & { _id: string; firstSeenAt: Date };
export type SessionRunDoc = InferSchemaType<typeof sessionRunSchema> & { _id: string };
export type AssistanceRequestDoc = {
  _id: string;
  accountId: string;
  type: 'otp';
  descriptor: { length: number; type: 'numeric' | 'alphanumeric'; purpose: string | null };
  attempts: number;
  status: 'pending' | 'fulfilled' | 'cancelled' | 'expired';
  pendingFor?: string;
  sealedCode?: string;
  submittedBy: string | null;
  prompts?: string[];
  expiresAt: Date;
  resolvedAt: Date | null;
  reason: string | null;
  createdAt: Date;
};
export type LeaseDoc = InferSchemaType<typeof leaseSchema>;
export type MatchAttempt = { number: number; result: string; reason: string; candidates: string[]; at: Date };
export type RequestMatch = { transactionId: string; amountMinor: number; currency: string; senderName: string | null; receivedAt: Date; score: number | null; by: 'matcher' | 'operator'; at: Date };
export type PendingEvent = {
  _id: string;
  accountId: string;
  userId: string;
  type: EventType;
  lane?: 'webhook' | 'notification';
  subjectId: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  webhook: boolean;
  chat: boolean;
  /** Why the matcher decided ("reference O-1042 in the transaction's reference text", "name score 0.86"): shown in chat, never in the webhook. */
  evidence?: string;
};
export type ConciliationRequestDoc = {
  _id: string;
  accountId: string;
  userId: string;
  externalId: string;
  /** Absent on requests stored before it was kept: those were strings. */
  externalIdType?: 'string' | 'number';
  amountMinor: number;
  currency: string;
  name: string;
  registeredAt: Date;
  status: RequestStatus;
  statusChangedAt: Date;
  listedLastPoll: boolean;
  attemptCount: number;
  attempts: MatchAttempt[];
  errorCount: number;
  retryAt: Date | null;
  processingFrom: RequestStatus | null;
  processingSince: Date | null;
  processingFence?: number | null;
  candidates: string[];
  match: RequestMatch | null;
  pendingEvents: PendingEvent[];
  /** Absent only on requests stored before list keys existed, until the start-up backfill. */
  listSeq?: number;
  listKey?: string;
  listedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
};
export type OutboxEventDoc = {
  _id: string;
  accountId: string;
  userId: string;
  type: EventType;
  subjectId: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  evidence?: string;
  lane: 'webhook' | 'notification';
  seq: number;
  webhook: {
    state: 'pending' | 'delivered' | 'failed' | 'not_sent';
    attempts: number;
    nextAttemptAt: Date | null;
    lastStatus: number | null;
    lastError: string | null;
    deliveredAt: Date | null;
    replays: number;
    log: DeliveryAttempt[];
  };
  chat: { state: 'pending' | 'sent' | 'none' };
  createdAt: Date;
};
export type DeliveryAttempt = {
  attempt: number;
  at: Date;
  url: string;
  status: number | null;
  latencyMs: number;
  error: string | null;
  outcome: 'delivered' | 'retry' | 'failed' | 'gone';
};
export type PollingState = {
  nextPollAt: Date | null;
  queuedAt: Date | null;
  lastPollAt: Date | null;
  lastOkAt: Date | null;
  lastError: string | null;
  failures: number;
  lastCount: number | null;
  emptyHeld: boolean;
  skippedKey: string | null;
  failingSince?: Date | null;
  failureNotices?: number;
};
export type SigningSecret = { sealed: string; createdAt: Date; retiresAt: Date | null };
export type AccountDoc = Omit<InferSchemaType<typeof accountSchema>, 'settings' | 'secrets' | 'otpSubmissions' | 'scrape' | 'session' | 'polling' | 'signingSecrets' | 'webhookGone'> & {
  polling?: PollingState;
  signingSecrets?: SigningSecret[];
  webhookGone?: { url: string | null; at: Date | null };
  _id: string;
  otpSubmissions: Date[];
  lastRunId?: string | null;
  scrape: { nextRunAt: Date | null; queuedAt: Date | null; failures: number; lastOkAt: Date | null; lastReadDay: string | null };
  session: { state: 'running' | 'stopped' | 'needs_attention'; reason: string | null; since: Date | null };
  settings: Record<string, unknown>;
  secrets: Record<string, string | null>;
};

export type Models = {
  User: Model<UserDoc>;
  Member: Model<MemberDoc>;
  Invite: Model<InviteDoc>;
  Account: Model<AccountDoc>;
  BankTransaction: Model<BankTransactionDoc>;
  SessionRun: Model<SessionRunDoc>;
  AssistanceRequest: Model<AssistanceRequestDoc>;
  Lease: Model<LeaseDoc>;
  ConciliationRequest: Model<ConciliationRequestDoc>;
  OutboxEvent: Model<OutboxEventDoc>;
  ChatAction: Model<ChatActionDoc>;
  InboundEvent: Model<InboundEventDoc>;
  StatementImport: Model<StatementImportDoc>;
  ApiLogin: Model<ApiLoginDoc>;
  ApiKey: Model<ApiKeyDoc>;
  LinkCode: Model<LinkCodeDoc>;
  RateLimit: Model<RateLimitDoc>;
} & LiveModels;

export function registerModels(connection: Connection): Models {
  return {
    User: connection.model<UserDoc>('User', userSchema, 'users'),
    Member: connection.model<MemberDoc>('Member', memberSchema, 'members'),
    Invite: connection.model<InviteDoc>('Invite', inviteSchema, 'invites'),
    Account: connection.model<AccountDoc>('Account', accountSchema, 'accounts'),
    BankTransaction: connection.model<BankTransactionDoc>('BankTransaction', bankTransactionSchema, 'bank_transactions'),
    SessionRun: connection.model<SessionRunDoc>('SessionRun', sessionRunSchema, 'session_runs'),
    AssistanceRequest: connection.model<AssistanceRequestDoc>('AssistanceRequest', assistanceRequestSchema, 'assistance_requests'),
    Lease: connection.model<LeaseDoc>('Lease', leaseSchema, 'leases'),
    ConciliationRequest: connection.model<ConciliationRequestDoc>('ConciliationRequest', conciliationRequestSchema, 'conciliation_requests'),
    OutboxEvent: connection.model<OutboxEventDoc>('OutboxEvent', outboxEventSchema, 'outbox'),
    ChatAction: connection.model<ChatActionDoc>('ChatAction', chatActionSchema, 'chat_actions'),
    InboundEvent: connection.model<InboundEventDoc>('InboundEvent', inboundEventSchema, 'inbound_events'),
    StatementImport: connection.model<StatementImportDoc>('StatementImport', statementImportSchema, 'statement_imports'),
    ApiLogin: connection.model<ApiLoginDoc>('ApiLogin', apiLoginSchema, 'api_logins'),
    ApiKey: connection.model<ApiKeyDoc>('ApiKey', apiKeySchema, 'api_keys'),
    LinkCode: connection.model<LinkCodeDoc>('LinkCode', linkCodeSchema, 'link_codes'),
    RateLimit: connection.model<RateLimitDoc>('RateLimit', rateLimitSchema, 'rate_limits'),
    ...registerLiveModels(connection),
  };
}

/**
 * Indexes that existed only so mongo-java-server would find the document of a conditional
 * single-document write (`{_id, status}`, `{_id, status, processingFence}`, `{_id, usedBy,
 * claimFence}`): its launcher now reads any query naming `_id` through the _id index, and each
 * of them cost every settlement write two to three more index updates. Data folders made
 * before keep them until ensureIndexes drops them (once; by keys, as mongo-java-server drops an
 * index named so in every collection of the database).
 */
const RETIRED_INDEXES: { model: 'ConciliationRequest' | 'BankTransaction'; key: Record<string, 1> }[] = [
  { model: 'ConciliationRequest', key: { _id: 1, status: 1 } },
  { model: 'ConciliationRequest', key: { _id: 1, status: 1, processingFence: 1 } },
  { model: 'BankTransaction', key: { _id: 1, usedBy: 1, claimFence: 1 } },
];

async function dropRetiredIndexes(models: Models): Promise<void> {
  for (const { model, key } of RETIRED_INDEXES) {
    const collection = models[model].collection;
    const present = await collection.indexes().catch(() => []);
    if (!present.some((index) => JSON.stringify(index.key) === JSON.stringify(key))) continue;
    await collection.conn.db?.command({ dropIndexes: collection.collectionName, index: key });
  }
}

/** Builds the indexes before the service takes requests, so uniqueness holds from the first write. */
export async function ensureIndexes(models: Models): Promise<void> {
  await dropRetiredIndexes(models);
  // Transactions stored before claim keys existed get theirs first, or the unique index would refuse them.
  await backfillClaimKeys(models);
  // Requests stored before list keys existed get theirs (the list reads pages by them).
  await backfillRequestKeys(models.ConciliationRequest.db, models.ConciliationRequest as never);
  for (const model of Object.values(models)) await model.createIndexes();
}

/**
 * A model's collection through the driver, typed by its documents. Settlement's hot bulk
 * writes go there: their documents are built from data already validated (the poll's zod
 * schema, the matcher's decisions), and mongoose's per-operation casting and validation were
 * over a quarter of the service's CPU in a large poll. Writes to a collection whose schema has
 * `updatedAt` set it themselves.
 */
export function driverCollection(model: Model<never>): DriverCollection<DriverDocument> {
  return model.collection as unknown as DriverCollection<DriverDocument>;
}
/** What the driver writes: any fields, our string ids. */
export type DriverDocument = Document & { _id: string };
