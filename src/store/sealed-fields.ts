import type { Model } from 'mongoose';
import { SECRET_SETTINGS, type SecretSettingName } from '../domain/account-settings.js';
import type { AccountDoc, AssistanceRequestDoc, Models } from './models.js';
import type { SecretBox } from './secret-box.js';

/**
 * Every value the service stores sealed (SecretBox), in one registry: where it lives and the
 * context it is bound to. Services seal with these contexts, and `rotate-secrets` walks this
 * list, so a sealed field cannot be added without rotation knowing it (a test checks that
 * every `.seal(` call takes its context from here).
 */

/** The authenticated context of each kind of sealed value: a ciphertext opens only where it was sealed. */
export const sealedContexts = {
  accountSecret: (accountId: string, name: SecretSettingName): string => `account:${accountId}:${name}`,
  signingSecret: (accountId: string): string => `account:${accountId}:webhook_signing`,
  assistanceCode: (requestId: string): string => `assistance:${requestId}:code`,
};

/** One sealed value of a document: its dotted path (for a conditional update), the value, its context. */
type SealedValue = { path: string; sealed: string; context: string };

export type SealedField = {
  name: string;
  model: keyof Models;
  /** The documents that may hold such values, and the fields to read. */
  filter: Record<string, unknown>;
  projection: Record<string, 1>;
  values(doc: Record<string, unknown> & { _id: string }): SealedValue[];
};

export const SEALED_FIELDS: readonly SealedField[] = [
  {
    name: 'account secrets',
    model: 'Account',
    filter: {},
    projection: { secrets: 1 },
    values: (doc) => {
      const secrets = (doc as unknown as AccountDoc).secrets ?? {};
      return SECRET_SETTINGS.flatMap((name) => {
        const sealed = secrets[name];
        return typeof sealed === 'string' ? [{ path: `secrets.${name}`, sealed, context: sealedContexts.accountSecret(doc._id, name as SecretSettingName) }] : [];
      });
    },
  },
  {
    // Retired ones too: nothing sealed with a removed key may stay behind.
    name: 'webhook signing secrets',
    model: 'Account',
    filter: { 'signingSecrets.0': { $exists: true } },
    projection: { signingSecrets: 1 },
    values: (doc) =>
      ((doc as unknown as AccountDoc).signingSecrets ?? []).flatMap((secret, i) =>
        typeof secret.sealed === 'string' ? [{ path: `signingSecrets.${i}.sealed`, sealed: secret.sealed, context: sealedContexts.signingSecret(doc._id) }] : [],
      ),
  },
  {
    name: 'bank codes awaiting their login',
    model: 'AssistanceRequest',
    filter: { sealedCode: { $exists: true } },
    projection: { sealedCode: 1 },
    values: (doc) => {
      const sealed = (doc as unknown as AssistanceRequestDoc).sealedCode;
      return typeof sealed === 'string' ? [{ path: 'sealedCode', sealed, context: sealedContexts.assistanceCode(doc._id) }] : [];
    },
  },
];

export type RotationResult = {
  /** Values re-sealed with the current key. */
  rotated: number;
  /** By registry entry. */
  byField: Record<string, number>;
  /** Values that changed while being re-sealed (left for the next run, which is always safe). */
  skipped: number;
};

/**
 * Re-seals every registered value not sealed with the current key. Each document is updated
 * only if its values are unchanged meanwhile (a new secret written concurrently is never
 * overwritten by an old one); running it again finishes what an interruption left.
 */
export async function rotateSealedValues(models: Models, secrets: SecretBox): Promise<RotationResult> {
  const result: RotationResult = { rotated: 0, byField: {}, skipped: 0 };
  for (const field of SEALED_FIELDS) {
    result.byField[field.name] = 0;
    const model = models[field.model] as unknown as Model<Record<string, unknown>>;
    for await (const doc of model.find(field.filter, field.projection).lean<(Record<string, unknown> & { _id: string })[]>().cursor()) {
      const stale = field.values(doc).filter((value) => secrets.needsRotation(value.sealed));
      if (stale.length === 0) continue;
      const unchanged = Object.fromEntries(stale.map((value) => [value.path, value.sealed]));
      const set = Object.fromEntries(stale.map((value) => [value.path, secrets.seal(secrets.open(value.sealed, value.context), value.context)]));
      const update = await model.updateOne({ _id: doc._id, ...unchanged }, { $set: set });
      if (update.modifiedCount === 1) {
        result.rotated += stale.length;
        result.byField[field.name] = (result.byField[field.name] ?? 0) + stale.length;
      } else {
        result.skipped += stale.length;
      }
    }
  }
  return result;
}
