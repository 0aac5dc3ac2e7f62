import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model, type InferSchemaType } from 'mongoose';
import { ROLES } from '../domain/roles.js';
import { OPERATION_MODES } from '../domain/operation-mode.js';

/**
 * Every write in this project is a single-document atomic operation (the embedded engine has
 * no multi-document transactions): uniqueness is enforced by indexes, not by reading first.
 */

const uuid = { type: String, default: () => randomUUID() };

const userSchema = new Schema(
  {
    _id: uuid,
    name: { type: String, required: true },
    operation_mode: { type: String, enum: [...OPERATION_MODES, null], default: null },
  },
  { timestamps: true, versionKey: false },
);

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
    description: { type: String, default: '' },
    bankReference: { type: String, default: null },
    runId: { type: String, default: null },
  },
  { timestamps: { createdAt: 'firstSeenAt', updatedAt: false }, versionKey: false },
);
bankTransactionSchema.index({ accountId: 1, fingerprint: 1 }, { unique: true });
bankTransactionSchema.index({ accountId: 1, receivedAt: -1 });

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
  },
  { versionKey: false },
);

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
  expiresAt: Date;
  resolvedAt: Date | null;
  reason: string | null;
  createdAt: Date;
};
export type LeaseDoc = InferSchemaType<typeof leaseSchema>;
export type AccountDoc = Omit<InferSchemaType<typeof accountSchema>, 'settings' | 'secrets' | 'otpSubmissions' | 'scrape' | 'session'> & {
  _id: string;
  otpSubmissions: Date[];
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
};

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
  };
}

/** Builds the indexes before the service takes requests, so uniqueness holds from the first write. */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) await model.createIndexes();
}
