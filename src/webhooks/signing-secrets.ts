import type { Clock } from '../domain/clock.js';
import { NotFoundError } from '../domain/errors.js';
import type { AccountDoc, Models, SigningSecret } from '../store/models.js';
import { sealedContexts } from '../store/sealed-fields.js';
import type { SecretBox } from '../store/secret-box.js';
import { generateSigningSecret } from './signing.js';

/**
 * Per-account signing secrets: created with the account, shown once in private, rotatable.
 * After a rotation the old secret keeps signing beside the new one for a grace period, so
 * receivers can switch without rejecting a single delivery.
 */

export type SigningSecrets = ReturnType<typeof createSigningSecrets>;

/** The signing secrets' sealing context, from the registry of sealed fields (rotation walks it). */
export const signingContext = sealedContexts.signingSecret;

/** A fresh secret, sealed for the account (pure apart from randomness): for the account's creation. */
export function newSigningSecret(secrets: SecretBox, accountId: string, now: Date): { plain: string; stored: SigningSecret } {
  const plain = generateSigningSecret();
  return { plain, stored: { sealed: secrets.seal(plain, sealedContexts.signingSecret(accountId)), createdAt: now, retiresAt: null } };
}

export function createSigningSecrets(deps: { models: Models; secrets: SecretBox; clock: Clock; graceMs: number }) {
  const { Account } = deps.models;

  function valid(doc: Pick<AccountDoc, '_id' | 'signingSecrets'>, now: Date): string[] {
    return (doc.signingSecrets ?? [])
      .filter((s) => !s.retiresAt || s.retiresAt > now)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .map((s) => deps.secrets.open(s.sealed, signingContext(doc._id)));
  }

  return {
    /** The secrets that sign now, from a document the caller holds (none: ask `active`). */
    fromDoc: (doc: Pick<AccountDoc, '_id' | 'signingSecrets'>): string[] => valid(doc, deps.clock.now()),

    /** The secrets that sign now, newest first; an account from before signing gets one on first use. */
    async active(accountId: string): Promise<string[]> {
      const now = deps.clock.now();
      const doc = await Account.findById(accountId, { signingSecrets: 1 }).lean<AccountDoc>();
      if (!doc) throw new NotFoundError('That account no longer exists.');
      const current = valid(doc, now);
      if (current.length > 0) return current;
      const { plain, stored } = newSigningSecret(deps.secrets, accountId, now);
      // Only if still without one: two workers racing keep the first.
      const result = await Account.updateOne({ _id: accountId, 'signingSecrets.0': { $exists: false } }, { $push: { signingSecrets: stored } });
      if (result.modifiedCount === 1) return [plain];
      return valid((await Account.findById(accountId, { signingSecrets: 1 }).lean<AccountDoc>()) ?? doc, now);
    },

    /** A new secret (returned once, in clear, to show in private); the previous ones retire after the grace period. */
    async rotate(accountId: string): Promise<{ secret: string; previousRetireAt: Date | null }> {
      const now = deps.clock.now();
      const doc = await Account.findById(accountId, { signingSecrets: 1 }).lean<AccountDoc>();
      if (!doc) throw new NotFoundError('That account no longer exists.');
      const retireAt = new Date(now.getTime() + deps.graceMs);
      const kept = (doc.signingSecrets ?? [])
        .filter((s) => !s.retiresAt || s.retiresAt > now)
        .map((s) => ({ ...s, retiresAt: s.retiresAt && s.retiresAt < retireAt ? s.retiresAt : retireAt }));
      const { plain, stored } = newSigningSecret(deps.secrets, accountId, now);
      await Account.updateOne({ _id: accountId }, { $set: { signingSecrets: [...kept, stored] } });
      return { secret: plain, previousRetireAt: kept.length > 0 ? retireAt : null };
    },
  };
}
