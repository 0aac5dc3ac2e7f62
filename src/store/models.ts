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
  },
  { timestamps: true, versionKey: false, minimize: false },
);
accountSchema.index({ userId: 1, nameKey: 1 }, { unique: true });

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: string };
export type MemberDoc = InferSchemaType<typeof memberSchema> & { _id: string };
export type InviteDoc = InferSchemaType<typeof inviteSchema> & { _id: string };
export type AccountDoc = Omit<InferSchemaType<typeof accountSchema>, 'settings' | 'secrets'> & {
  _id: string;
  settings: Record<string, unknown>;
  secrets: Record<string, string | null>;
};

export type Models = {
  User: Model<UserDoc>;
  Member: Model<MemberDoc>;
  Invite: Model<InviteDoc>;
  Account: Model<AccountDoc>;
};

export function registerModels(connection: Connection): Models {
  return {
    User: connection.model<UserDoc>('User', userSchema, 'users'),
    Member: connection.model<MemberDoc>('Member', memberSchema, 'members'),
    Invite: connection.model<InviteDoc>('Invite', inviteSchema, 'invites'),
    Account: connection.model<AccountDoc>('Account', accountSchema, 'accounts'),
  };
}

/** Builds the indexes before the service takes requests, so uniqueness holds from the first write. */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) await model.createIndexes();
}
