import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, UserError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import type { ApiKeyDoc, Models } from '../store/models.js';

/**
 * External API keys (SPEC §6): `rbk_<8-char prefix>_<64-char secret>`, shown once; only a
 * SHA-256 of the whole key is kept (the secret carries 256 bits, so a fast hash is enough; a
 * slow one would only slow every call). The prefix is not secret: it finds the key and names
 * it in listings. Scopes say what a key may do; an account list, which accounts.
 */

export const API_KEY_SCOPES = ['otp:write', 'status:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export const API_KEY_PATTERN = /^rbk_([A-Za-z0-9]{8})_([A-Za-z0-9]{64})$/;

export type ApiKeyView = {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  accountIds: string[] | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

const PREFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const sha256 = (text: string) => createHash('sha256').update(text).digest();

function view(doc: ApiKeyDoc): ApiKeyView {
  return {
    id: doc._id,
    name: doc.name,
    prefix: doc.prefix,
    scopes: doc.scopes as ApiKeyScope[],
    accountIds: doc.accountIds ?? null,
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt ?? null,
    revokedAt: doc.revokedAt ?? null,
  };
}

export function isScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}

export function createApiKeyService(deps: { models: Models; clock: Clock; log: Logger; touchEveryMs?: number }) {
  const { ApiKey, Account } = deps.models;
  const touchEveryMs = deps.touchEveryMs ?? 60_000;
  /** When this process last wrote a key's last_used_at: at most one write a minute per key. */
  const touched = new Map<string, number>();

  return {
    async create(by: { userId: string; memberId: string }, input: { name: string; scopes: string[]; accountIds: string[] | null }): Promise<{ key: string; record: ApiKeyView }> {
      const name = input.name.trim();
      if (name.length < 1 || name.length > 100) throw new UserError('The name must be 1 to 100 characters.');
      const scopes = [...new Set(input.scopes.map((s) => s.trim()))];
      if (scopes.length === 0) throw new UserError(`At least one scope is required (${API_KEY_SCOPES.join(', ')}).`);
      const unknown = scopes.filter((s) => !isScope(s));
      if (unknown.length > 0) throw new UserError(`Unknown scope ${unknown.join(', ')} (scopes: ${API_KEY_SCOPES.join(', ')}).`);
      let accountIds: string[] | null = null;
      if (input.accountIds !== null) {
        accountIds = [...new Set(input.accountIds)];
        if (accountIds.length === 0) throw new UserError('account_ids is null (every account) or a list of at least one account.');
        const owned = await Account.find({ userId: by.userId, _id: { $in: accountIds } }, { _id: 1 }).lean<{ _id: string }[]>();
        const ownedIds = new Set(owned.map((a) => a._id));
        const missing = accountIds.filter((id) => !ownedIds.has(id));
        if (missing.length > 0) throw new UserError(`Unknown account ${missing.join(', ')}.`);
      }
      for (let tries = 0; ; tries++) {
        const prefix = Array.from({ length: 8 }, () => PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)]).join('');
        const key = `rbk_${prefix}_${randomBytes(32).toString('hex')}`;
        try {
          const doc = await ApiKey.create({ userId: by.userId, createdBy: by.memberId, name, prefix, keyHash: sha256(key).toString('hex'), scopes, accountIds });
          deps.log.info({ keyId: doc._id, prefix, userId: by.userId, scopes }, 'API key created');
          return { key, record: view(doc.toObject() as ApiKeyDoc) };
        } catch (error) {
          // A prefix taken already (1 in 2^47): another one.
          if (tries >= 3 || !(typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000)) throw error;
        }
      }
    },

    async list(userId: string): Promise<ApiKeyView[]> {
      const docs = await ApiKey.find({ userId }).sort({ createdAt: -1, _id: 1 }).lean<ApiKeyDoc[]>();
      return docs.map(view);
    },

    /** Revokes by id or prefix (idempotent: a revoked key stays revoked, with its first time). */
    async revoke(userId: string, ref: string): Promise<ApiKeyView> {
      const wanted = ref.trim().replace(/^rbk_/, '').split('_')[0] ?? '';
      const doc = await ApiKey.findOne({ userId, $or: [{ _id: wanted }, { prefix: wanted }] }).lean<ApiKeyDoc>();
      if (!doc) throw new NotFoundError('API key not found');
      await ApiKey.updateOne({ _id: doc._id, revokedAt: null }, { $set: { revokedAt: deps.clock.now() } });
      deps.log.info({ keyId: doc._id, prefix: doc.prefix, userId }, 'API key revoked');
      const after = await ApiKey.findById(doc._id).lean<ApiKeyDoc>();
      return view(after ?? doc);
    },

    /** The key a request presents: its record, or null when unknown, malformed or revoked. */
    async verify(raw: string): Promise<(ApiKeyView & { userId: string }) | null> {
      const parsed = API_KEY_PATTERN.exec(raw.trim());
      if (!parsed) return null;
      const doc = await ApiKey.findOne({ prefix: parsed[1] }).lean<ApiKeyDoc>();
      if (!doc || doc.revokedAt) return null;
      const expected = Buffer.from(doc.keyHash, 'hex');
      const actual = sha256(raw.trim());
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
      const now = deps.clock.now();
      const last = touched.get(doc._id) ?? doc.lastUsedAt?.getTime() ?? 0;
      if (now.getTime() - last >= touchEveryMs) {
        touched.set(doc._id, now.getTime());
        await ApiKey.updateOne({ _id: doc._id }, { $set: { lastUsedAt: now } });
      }
      return { ...view(doc), userId: doc.userId };
    },
  };
}
