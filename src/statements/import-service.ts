import { createHash, randomUUID } from 'node:crypto';
import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import { resolveCsvMapping, type CsvMapping } from '../domain/csv-mapping.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, UserError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import type { AccountDoc, Models } from '../store/models.js';
import type { StoredTransaction, TransactionRepository } from '../store/transaction-repository.js';
import { planImport } from './plan.js';
import { readStatement } from './read.js';
import { STATEMENT_BANK_CODE } from './statement-bank.js';
import type { StatementSource } from './text.js';
import { StatementFileError, type RefusedEntry, type StatementEntry, type StatementFormat } from './types.js';

export type ImportVia = 'chat' | 'api' | 'folder';

/** What an import did, as every way in reports it (chat, API, the folder's log). */
export type ImportSummary = {
  importId: string;
  accountId: string;
  accountName: string;
  fileName: string | null;
  format: StatementFormat;
  encoding: string;
  entriesRead: number;
  creditsStored: number;
  duplicatesSkipped: number;
  debitsIgnored: number;
  reversalsIgnored: number;
  pendingKeptApart: number;
  /** Up to MAX_LISTED of them; `refusedCount` counts all. */
  refused: RefusedEntry[];
  refusedCount: number;
  /** Requests the new movements settled or left ambiguous, as they stand after the import. */
  matches: { externalId: string; status: 'matched' | 'ambiguous' }[];
  /** When this very file (same bytes) was imported into this account before, if it was. */
  importedBefore: Date | null;
};

export type StatementPreview = {
  accountName: string;
  format: StatementFormat;
  encoding: string;
  entriesRead: number;
  /** The first entries as they would be stored or left out. */
  sample: (StatementEntry & { outcome: 'stored' | 'debit' | 'reversal' | 'pending' })[];
  refused: RefusedEntry[];
  refusedCount: number;
};

const MAX_LISTED = 20;
const PREVIEW_ENTRIES = 10;

/** A file name safe to keep and show: no path, no control characters, bounded. */
export function cleanFileName(name: string | null | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[^\p{L}\p{N}._-]+/gu, '_').replace(/^\.+/, '').slice(0, 120);
  return cleaned || null;
}

async function hashOf(source: StatementSource, maxBytes: number): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source.chunks()) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new StatementFileError(`The file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB; split it or raise STATEMENT_MAX_MB.`);
    hash.update(chunk);
  }
  return { hash: hash.digest('hex'), bytes };
}

export type StatementImporter = ReturnType<typeof createStatementImporter>;

export function createStatementImporter(deps: {
  models: Models;
  accounts: AccountService;
  transactions: TransactionRepository;
  /** Hands new movements on: reconciliation or passthrough, as after a bank session. */
  onTransactions(accountId: string, transactions: StoredTransaction[]): Promise<void>;
  clock: Clock;
  log: Logger;
  maxBytes: number;
}) {
  const { StatementImport, ConciliationRequest, Account } = deps.models;
  const log = deps.log.child({ component: 'statements' });

  function csvMappingOf(doc: AccountDoc): CsvMapping | undefined {
    const settings = plainSettings(doc);
    if (!settings.csv_preset && !settings.csv_mapping) return undefined;
    const resolved = resolveCsvMapping(settings.csv_preset ?? undefined, settings.csv_mapping ?? {});
    if ('error' in resolved) throw new UserError(resolved.error);
    return resolved.mapping;
  }

  async function statementAccount(userId: string, ref: string): Promise<AccountDoc> {
    const view = await deps.accounts.show(userId, ref);
    const doc = await Account.findById(view.id).lean<AccountDoc>();
    if (!doc) throw new NotFoundError('That account no longer exists.');
    if (doc.bank !== STATEMENT_BANK_CODE) {
      throw new UserError(`"${doc.name}" reads its bank by logging in (bank ${doc.bank}); statement files go to accounts of the bank "${STATEMENT_BANK_CODE}".`);
    }
    return doc;
  }

  async function read(doc: AccountDoc, source: StatementSource) {
    const settings = plainSettings(doc);
    const result = await readStatement(source, { format: settings.statement_format, csv: csvMappingOf(doc) });
    if (settings.statement_account && result.accountId && result.accountId !== settings.statement_account) {
      throw new StatementFileError(`The file is a statement of account ${result.accountId}, not of ${settings.statement_account} (this account's statement_account).`);
    }
    return result;
  }

  async function matchesOf(accountId: string, stored: StoredTransaction[]): Promise<ImportSummary['matches']> {
    if (stored.length === 0) return [];
    const ids = stored.map((t) => t.id);
    const requests = await ConciliationRequest.find(
      { accountId, $or: [{ status: 'matched', 'match.transactionId': { $in: ids } }, { status: 'ambiguous', candidates: { $in: ids } }] },
      { externalId: 1, status: 1 },
    )
      .sort({ externalId: 1 })
      .limit(200)
      .lean<{ externalId: string; status: 'matched' | 'ambiguous' }[]>();
    return requests.map((r) => ({ externalId: r.externalId, status: r.status }));
  }

  /** Reads a file into an account: store once, then match or pass through like a bank session. */
  async function importInto(doc: AccountDoc, input: { source: StatementSource; fileName?: string | null; via: ImportVia }): Promise<ImportSummary> {
    const fileName = cleanFileName(input.fileName);
    const { hash } = await hashOf(input.source, deps.maxBytes);
    const before = await StatementImport.findOne({ accountId: doc._id, contentHash: hash, status: 'done' }, { finishedAt: 1 }).sort({ startedAt: 1 }).lean<{ finishedAt: Date | null }>();
    const importId = randomUUID();
    const startedAt = deps.clock.now();
    await StatementImport.create({ _id: importId, accountId: doc._id, userId: doc.userId, contentHash: hash, fileName, via: input.via, status: 'running', startedAt });
    try {
      const result = await read(doc, input.source);
      const plan = planImport(result.entries);
      const existing = await deps.transactions.existingFingerprints(doc._id, [...plan.movements.map((m) => m.fingerprint), ...plan.corrections.map((c) => c.replaces)]);
      // An OFX correction of a movement already stored is that movement, not a second payment.
      const replacing = new Set(plan.corrections.filter((c) => existing.has(c.replaces)).map((c) => c.entry));
      const toStore = plan.movements.filter((m) => !replacing.has(m.entry));
      const stored = await deps.transactions.ingestIdentified(doc._id, `import:${importId}`, toStore.map(({ movement, fingerprint }) => ({ movement, fingerprint })));
      await deps.onTransactions(doc._id, stored);
      const summary: ImportSummary = {
        importId,
        accountId: doc._id,
        accountName: doc.name,
        fileName,
        format: result.format,
        encoding: result.encoding,
        entriesRead: result.entries.length + result.refused.length,
        creditsStored: stored.length,
        duplicatesSkipped: plan.movements.length - stored.length,
        debitsIgnored: plan.debits,
        reversalsIgnored: plan.reversals.length,
        pendingKeptApart: plan.pending.length,
        refused: result.refused.slice(0, MAX_LISTED),
        refusedCount: result.refused.length,
        matches: await matchesOf(doc._id, stored),
        importedBefore: before?.finishedAt ?? null,
      };
      await StatementImport.updateOne({ _id: importId }, { $set: { status: 'done', finishedAt: deps.clock.now(), summary: { ...summary } } });
      log.info({ accountId: doc._id, importId, via: input.via, format: summary.format, read: summary.entriesRead, stored: summary.creditsStored, duplicates: summary.duplicatesSkipped, refused: summary.refusedCount }, 'statement imported');
      return summary;
    } catch (error) {
      const refusedWhole = error instanceof StatementFileError || error instanceof UserError;
      await StatementImport.updateOne(
        { _id: importId },
        { $set: { status: refusedWhole ? 'refused' : 'failed', finishedAt: deps.clock.now(), error: refusedWhole ? (error as Error).message : 'internal error' } },
      ).catch(() => undefined);
      if (error instanceof StatementFileError) throw new UserError(`${fileName ? `${fileName}: ` : ''}${error.message}`);
      throw error;
    }
  }

  return {
    /** An import by a person (chat or API): the account by id or name within their tenant. */
    async importFile(input: { userId: string; account: string; source: StatementSource; fileName?: string | null; via: Exclude<ImportVia, 'folder'> }): Promise<ImportSummary> {
      const doc = await statementAccount(input.userId, input.account);
      return importInto(doc, input);
    },

    /**
     * The statement account a person names (id or name), refused in the words an import would
     * use: checked before a file sent in chat is fetched.
     */
    async accountFor(userId: string, account: string): Promise<{ id: string; name: string }> {
      const doc = await statementAccount(userId, account);
      return { id: doc._id, name: doc.name };
    },

    /** An import from a watched folder, whose account was found by its folder's name. */
    async importForAccount(accountId: string, input: { source: StatementSource; fileName?: string | null }): Promise<ImportSummary> {
      const doc = await Account.findById(accountId).lean<AccountDoc>();
      if (!doc) throw new NotFoundError('That account no longer exists.');
      if (doc.bank !== STATEMENT_BANK_CODE) throw new UserError(`"${doc.name}" is not a statement account (bank ${doc.bank}).`);
      return importInto(doc, { ...input, via: 'folder' });
    },

    /** How a file would be read, without storing anything. */
    async preview(input: { userId: string; account: string; source: StatementSource }): Promise<StatementPreview> {
      const doc = await statementAccount(input.userId, input.account);
      await hashOf(input.source, deps.maxBytes);
      try {
        const result = await read(doc, input.source);
        const plan = planImport(result.entries);
        const outcome = (e: StatementEntry) =>
          plan.reversals.includes(e) ? ('reversal' as const) : e.direction === 'debit' ? ('debit' as const) : plan.pending.includes(e) ? ('pending' as const) : ('stored' as const);
        return {
          accountName: doc.name,
          format: result.format,
          encoding: result.encoding,
          entriesRead: result.entries.length + result.refused.length,
          sample: result.entries.slice(0, PREVIEW_ENTRIES).map((e) => ({ ...e, outcome: outcome(e) })),
          refused: result.refused.slice(0, MAX_LISTED),
          refusedCount: result.refused.length,
        };
      } catch (error) {
        if (error instanceof StatementFileError) throw new UserError(error.message);
        throw error;
      }
    },

    /** The latest imports of an account, newest first. */
    async recent(userId: string, account: string, limit = 10) {
      const doc = await statementAccount(userId, account);
      return StatementImport.find({ accountId: doc._id }).sort({ startedAt: -1 }).limit(limit).lean();
    },
  };
}
