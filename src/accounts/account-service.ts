import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { newSigningSecret } from '../webhooks/signing-secrets.js';
import { literalUrlProblem } from '../webhooks/url-safety.js';

const URL_SETTINGS = ['webhook_url', 'notification_endpoint_url', 'pending_orders_endpoint'] as const;
import type { BankRegistry } from '../banks/registry.js';
import type { Clock } from '../domain/clock.js';
import { ConflictError, NotFoundError, UserError } from '../domain/errors.js';
import { accountNameKey, accountNameSchema } from '../domain/account-name.js';
import {
  defaultSettings,
  isSecretSetting,
  maskedSettings,
  SECRET_SETTINGS,
  SETTINGS,
  validateSettingsPatch,
  type AccountSettings,
  type SecretSettingName,
} from '../domain/account-settings.js';
import { SESSION_FAILURES } from '../domain/session-outcome.js';
import { isDuplicateKey } from '../store/database.js';
import type { AccountDoc, Models } from '../store/models.js';
import { sealedContexts } from '../store/sealed-fields.js';
import type { SecretBox } from '../store/secret-box.js';

export type AccountSummary = {
  id: string;
  name: string;
  bank: string;
  status: 'active' | 'inactive';
  scrapeBlockedAt: Date | null;
  scrapeBlockedReason: string | null;
};

/** An account as anyone may see it: secrets are masked. */
export type AccountView = AccountSummary & { createdAt: Date; settings: Record<string, unknown> };

export type AccountService = ReturnType<typeof createAccountService>;

/** What a listing labels an account's rows with; fixed for the account's life (no rename, no bank change). */
export type AccountLabel = { id: string; name: string; bank: string };

/**
 * How long a user's account labels are reused by {@link AccountService.labels}. Creating or
 * deleting an account in this process clears them at once; one made or deleted by another
 * process (chat and API run apart) shows in listings within this time.
 */
export const LABELS_TTL_MS = 2_000;
/** Users whose labels are kept at most (the oldest is dropped). */
const LABELS_KEPT = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// JSON settings are stored as text: their keys may hold dots or dollars MongoDB would misread.
function encodeForStore(name: string, value: unknown): unknown {
  return isSettingOfKind(name, 'json') && value !== null ? JSON.stringify(value) : value;
}

function decodeFromStore(name: string, value: unknown): unknown {
  return isSettingOfKind(name, 'json') && typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

function isSettingOfKind(name: string, kind: string): boolean {
  return (SETTINGS as Record<string, { kind: string }>)[name]?.kind === kind;
}

/** An account's plain (non-secret) settings with defaults filled in, for the core's own decisions. */
export function plainSettings(doc: AccountDoc): AccountSettings {
  const stored = Object.fromEntries(Object.entries(doc.settings ?? {}).map(([name, value]) => [name, decodeFromStore(name, value)]));
  // Settings added in later versions take their defaults on old documents.
  return { ...defaultSettings(), ...stored } as AccountSettings;
}

function secretsSet(doc: AccountDoc): Record<SecretSettingName, boolean> {
  return Object.fromEntries(SECRET_SETTINGS.map((name) => [name, typeof doc.secrets?.[name] === 'string'])) as Record<SecretSettingName, boolean>;
}

function summary(doc: AccountDoc): AccountSummary {
  return {
    id: doc._id,
    name: doc.name,
    bank: doc.bank,
    status: doc.status as 'active' | 'inactive',
    scrapeBlockedAt: doc.scrapeBlockedAt ?? null,
    scrapeBlockedReason: doc.scrapeBlockedReason ?? null,
  };
}

/** An account document as anyone may see it (pure: for callers that already hold the document). */
export function accountView(doc: AccountDoc): AccountView {
  return { ...summary(doc), createdAt: doc.createdAt as Date, settings: maskedSettings(plainSettings(doc), secretsSet(doc)) };
}

/**
 * Whether a bank session could log in: a username and a sealed password are stored. An
 * account without them is not scheduled (it is not a failure: the form may still be open).
 */
export function hasBankCredentials(doc: Pick<AccountDoc, 'settings' | 'secrets'>): boolean {
  const username = doc.settings?.bank_username;
  return typeof username === 'string' && username.trim() !== '' && typeof doc.secrets?.bank_password === 'string';
}

/** The same as a query filter, for the schedulers (`bank_username` is never stored empty: the schema refuses it). */
export const BANK_CREDENTIALS_SET = { 'settings.bank_username': { $ne: null }, 'secrets.bank_password': { $ne: null } } as const;

/**
 * Earlier versions scheduled an account before its credentials were typed and then blocked
 * it (skip-on-fatal for `missing_credentials`); such a block is lifted when they are saved.
 */
const MISSING_CREDENTIALS_BLOCK = SESSION_FAILURES.missing_credentials.sentence;

export function createAccountService(deps: { models: Models; banks: BankRegistry; secrets: SecretBox; clock: Clock; log: Logger; allowPrivateUrls?: boolean; firstSessionDelayMs?: number }) {
  const { Account } = deps.models;
  const labelsOf = new Map<string, { at: number; labels: Promise<AccountLabel[]> }>();

  /**
   * By id, then by name: each lookup names exactly a unique index's fields (`_id`; `userId` +
   * `nameKey`), the only filters mongo-java-server serves from an index (an `$or` of both read
   * every account). Another user's account is not found.
   */
  async function load(userId: string, ref: string): Promise<AccountDoc> {
    const trimmed = ref.trim();
    const byId = UUID.test(trimmed) ? await Account.findById(trimmed.toLowerCase()).lean<AccountDoc>() : null;
    const doc = byId?.userId === userId ? byId : await Account.findOne({ userId, nameKey: accountNameKey(trimmed) }).lean<AccountDoc>();
    if (!doc) throw new NotFoundError(`No account named "${trimmed}". List them with: account list`);
    return doc;
  }

  function forgetLabels(userId: string): void {
    labelsOf.delete(userId);
  }

  /**
   * Credentials were just saved: the account is due after `firstSessionDelayMs` (the scrape tick
   * picks it up; the person may still be setting the account up), and a block that only said
   * they were missing is lifted. Any other block stays for "restart".
   */
  async function scheduleWithCredentials(doc: AccountDoc): Promise<AccountDoc> {
    const now = deps.clock.now();
    await Account.updateOne({ _id: doc._id, scrapeBlockedReason: MISSING_CREDENTIALS_BLOCK }, { $set: { scrapeBlockedAt: null, scrapeBlockedReason: null, 'scrape.failures': 0 } });
    await Account.updateOne({ _id: doc._id }, { $set: { 'scrape.nextRunAt': new Date(now.getTime() + (deps.firstSessionDelayMs ?? 0)) } });
    deps.log.info({ accountId: doc._id }, 'bank credentials saved; the account is scheduled');
    return reload(doc._id);
  }

  async function reload(id: string): Promise<AccountDoc> {
    const doc = await Account.findById(id).lean<AccountDoc>();
    if (!doc) throw new NotFoundError('That account no longer exists.');
    return doc;
  }

  return {
    /** Creates the account with its webhook signing secret, returned in clear this once (to show in private). */
    async create(userId: string, input: { name: string; bank: string }): Promise<AccountView & { signingSecret: string }> {
      const parsedName = accountNameSchema.safeParse(input.name);
      if (!parsedName.success) throw new UserError(`Invalid name: ${parsedName.error.issues[0]?.message}.`);
      const bank = deps.banks.find(input.bank);
      if (!bank) {
        const known = deps.banks.list().map((b) => b.code).join(', ') || 'none yet';
        throw new UserError(`Unknown bank "${input.bank}" (available: ${known}).`);
      }
      try {
        const _id = randomUUID();
        const signing = newSigningSecret(deps.secrets, _id, deps.clock.now());
        const doc = await Account.create({
          _id,
          signingSecrets: [signing.stored],
          userId,
          name: parsedName.data,
          nameKey: accountNameKey(parsedName.data),
          bank: bank.code,
          settings: defaultSettings(),
          secrets: Object.fromEntries(SECRET_SETTINGS.map((name) => [name, null])),
        });
        forgetLabels(userId);
        deps.log.info({ accountId: doc._id, userId, bank: bank.code }, 'account created');
        return { ...accountView(doc.toObject() as AccountDoc), signingSecret: signing.plain };
      } catch (error) {
        if (isDuplicateKey(error)) throw new ConflictError(`An account named "${parsedName.data}" already exists.`);
        throw error;
      }
    },

    async list(userId: string): Promise<AccountSummary[]> {
      const docs = await Account.find({ userId }).sort({ nameKey: 1 }).lean<AccountDoc[]>();
      return docs.map(summary);
    },

    /**
     * The user's accounts as listings label them (id, name, bank), for pages read often (the
     * conciliation list): reused for {@link LABELS_TTL_MS}, so a page costs no read of the
     * accounts (mongo-java-server reads every account for a filter by user).
     */
    async labels(userId: string): Promise<AccountLabel[]> {
      const now = deps.clock.now().getTime();
      const kept = labelsOf.get(userId);
      if (kept && now - kept.at < LABELS_TTL_MS) return kept.labels;
      const labels = Account.find({ userId }, { _id: 1, name: 1, bank: 1, nameKey: 1 })
        .sort({ nameKey: 1 })
        .lean<Pick<AccountDoc, '_id' | 'name' | 'bank'>[]>()
        .then((docs) => docs.map((d) => ({ id: d._id, name: d.name, bank: d.bank })));
      labelsOf.delete(userId);
      labelsOf.set(userId, { at: now, labels });
      if (labelsOf.size > LABELS_KEPT) labelsOf.delete(labelsOf.keys().next().value as string);
      // A failed read is not kept.
      labels.catch(() => {
        if (labelsOf.get(userId)?.labels === labels) labelsOf.delete(userId);
      });
      return labels;
    },

    async show(userId: string, ref: string): Promise<AccountView> {
      return accountView(await load(userId, ref));
    },

    /** The account's document (one of the user's, by id or name) and its view, for callers that read more of it. */
    async showWithDocument(userId: string, ref: string): Promise<{ view: AccountView; doc: AccountDoc }> {
      const doc = await load(userId, ref);
      return { view: accountView(doc), doc };
    },

    /**
     * Applies a patch of settings (typed values, or the chat's text already converted). Secrets
     * are sealed before they touch the database; the mask keeps a stored secret. Returns the
     * names that changed.
     */
    async configure(userId: string, ref: string, input: Record<string, unknown>): Promise<{ account: AccountView; changed: string[] }> {
      const doc = await load(userId, ref);
      const patch = validateSettingsPatch(input);
      // The service calls these URLs: none may point into its own network (SPEC §5 safety).
      const unsafe = URL_SETTINGS.flatMap((name) => {
        const value = patch[name];
        const problem = typeof value === 'string' ? literalUrlProblem(value, deps.allowPrivateUrls === true) : undefined;
        return problem ? [`${name} ${problem}`] : [];
      });
      if (unsafe.length > 0) throw new UserError(`Invalid setting: ${unsafe.join('; ')}.`);
      const set: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(patch)) {
        if (isSecretSetting(name)) {
          set[`secrets.${name}`] = value === null ? null : deps.secrets.seal(String(value), sealedContexts.accountSecret(doc._id, name));
        } else {
          set[`settings.${name}`] = encodeForStore(name, value);
        }
      }
      const changed = Object.keys(patch);
      // The first session's time goes in the same write as the credentials: a scrape tick in
      // between would otherwise find them with no next run (due now) and log in at once.
      if (changed.includes('bank_username') || changed.includes('bank_password')) set['scrape.nextRunAt'] = new Date(deps.clock.now().getTime() + (deps.firstSessionDelayMs ?? 0));
      if (changed.length > 0) {
        await Account.updateOne({ _id: doc._id }, { $set: set });
        // Names only: values may be secrets.
        deps.log.info({ accountId: doc._id, changed }, 'account settings changed');
      }
      let after = await reload(doc._id);
      if ((changed.includes('bank_username') || changed.includes('bank_password')) && hasBankCredentials(after)) after = await scheduleWithCredentials(after);
      return { account: accountView(after), changed };
    },

    async setStatus(userId: string, ref: string, status: 'active' | 'inactive'): Promise<AccountView> {
      const doc = await load(userId, ref);
      await Account.updateOne({ _id: doc._id }, { $set: { status } });
      deps.log.info({ accountId: doc._id, status }, 'account status changed');
      return accountView(await reload(doc._id));
    },

    /** Deleting needs the account's name typed again, exactly as shown (case aside). */
    async remove(userId: string, ref: string, confirmationName: string | undefined): Promise<AccountSummary> {
      const doc = await load(userId, ref);
      if (!confirmationName || confirmationName.trim() === '') throw new UserError(`To delete, repeat the account's name: "${doc.name}".`);
      if (accountNameKey(confirmationName) !== doc.nameKey) {
        throw new UserError(`The confirmation "${confirmationName.trim()}" does not match the account's name "${doc.name}"; nothing was deleted.`);
      }
      await Account.deleteOne({ _id: doc._id, userId });
      forgetLabels(userId);
      deps.log.info({ accountId: doc._id }, 'account deleted');
      return summary(doc);
    },

    /** For the bank session and deliveries only: a secret in clear, held in memory as briefly as possible. */
    async revealSecret(accountId: string, name: SecretSettingName): Promise<string | null> {
      return this.revealFrom(await reload(accountId), name);
    },

    /** The same, from a document the caller already holds. */
    revealFrom(doc: AccountDoc, name: SecretSettingName): string | null {
      const sealed = doc.secrets?.[name];
      return typeof sealed === 'string' ? deps.secrets.open(sealed, sealedContexts.accountSecret(doc._id, name)) : null;
    },
  };
}
