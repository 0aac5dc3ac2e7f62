import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { accountNameKey } from '../domain/account-name.js';
import type { Clock } from '../domain/clock.js';
import { UserError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import type { AccountDoc, Models } from '../store/models.js';
import type { ImportSummary, StatementImporter } from './import-service.js';
import { cleanFileName } from './import-service.js';
import { STATEMENT_BANK_CODE } from './statement-bank.js';
import { fileSource } from './text.js';

/**
 * Watched folders, for banks that deliver statements by SFTP or mail-to-folder:
 * `STATEMENTS_DIR/<account id or name>/<file>`. A file is taken once its size and time have not
 * changed between two scans (a transfer still being written is left alone), claimed by moving it
 * into `processing/` (a rename: of several processes, one wins), imported, then moved to `done/`
 * — or to `failed/` with a `.txt` beside it saying why in one sentence. A file left in
 * `processing/` by a crash goes back to the folder after a while and is imported again (imports
 * are idempotent), so nothing is read twice into the account and nothing is lost.
 */

const DONE = 'done';
const FAILED = 'failed';
const PROCESSING = 'processing';
const SPECIAL = new Set([DONE, FAILED, PROCESSING]);
/** Names a transfer in progress uses (SFTP clients, browsers, editors). */
const IN_PROGRESS = /(\.(part|partial|tmp|filepart|crdownload|swp)$)|^\.|^~/i;

export type FolderOutcome = { folder: string; file: string; accountId: string; summary?: ImportSummary; refused?: string };

export function createStatementFolderWatcher(deps: {
  dir: string;
  models: Models;
  importer: StatementImporter;
  clock: Clock;
  log: Logger;
  /** Tells people what an import did (or why a file was refused). */
  report(account: AccountDoc, outcome: FolderOutcome): Promise<void>;
  /** A file in `processing/` this long is taken to be abandoned by a crash. */
  abandonedAfterMs?: number;
}) {
  const log = deps.log.child({ component: 'statement-folders' });
  const abandonedAfterMs = deps.abandonedAfterMs ?? 10 * 60_000;
  /** Size and time of each candidate at the previous scan: unchanged since → complete. */
  const lastSeen = new Map<string, string>();
  const warned = new Set<string>();
  let running = false;

  function stamp(): string {
    return deps.clock.now().toISOString().replace(/[:.]/g, '-');
  }

  async function accountFor(folder: string): Promise<AccountDoc | string> {
    const byId = await deps.models.Account.findById(folder).lean<AccountDoc>();
    if (byId) return byId.bank === STATEMENT_BANK_CODE ? byId : `the account ${byId.name} does not read statement files (bank ${byId.bank})`;
    const named = await deps.models.Account.find({ nameKey: accountNameKey(folder), bank: STATEMENT_BANK_CODE }).limit(2).lean<AccountDoc[]>();
    if (named.length === 1) return named[0] as AccountDoc;
    return named.length === 0 ? `no statement account is named "${folder}"` : `several statement accounts are named "${folder}": name the folder by the account id`;
  }

  async function moveTo(fromPath: string, folderPath: string, sub: string, name: string): Promise<string> {
    await mkdir(path.join(folderPath, sub), { recursive: true });
    const target = path.join(folderPath, sub, `${stamp()}-${name}`);
    await rename(fromPath, target);
    return target;
  }

  /** Files of `processing/` old enough to have been abandoned go back to be taken again. */
  async function reclaim(folderPath: string): Promise<void> {
    const processing = path.join(folderPath, PROCESSING);
    const names = await readdir(processing).catch(() => [] as string[]);
    for (const name of names) {
      const full = path.join(processing, name);
      const info = await stat(full).catch(() => undefined);
      if (!info?.isFile() || deps.clock.now().getTime() - info.mtimeMs < abandonedAfterMs) continue;
      // The claim stamp is dropped: the file is the one the bank delivered.
      const original = name.replace(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-/, '');
      await rename(full, path.join(folderPath, original)).catch(() => undefined);
      log.warn({ folder: path.basename(folderPath), file: cleanFileName(original) }, 'a statement file abandoned mid-import is taken again');
    }
  }

  async function scanFolder(folder: string, outcomes: FolderOutcome[]): Promise<void> {
    const folderPath = path.join(deps.dir, folder);
    await reclaim(folderPath);
    const names = (await readdir(folderPath, { withFileTypes: true })).filter((e) => e.isFile() && !IN_PROGRESS.test(e.name)).map((e) => e.name);
    if (names.length === 0) return;
    const account = await accountFor(folder);
    if (typeof account === 'string') {
      if (!warned.has(folder)) log.warn({ folder: cleanFileName(folder) }, `statement files are waiting in a folder no account takes: ${account}`);
      warned.add(folder);
      return;
    }
    warned.delete(folder);
    for (const name of names.sort()) {
      const full = path.join(folderPath, name);
      const info = await stat(full).catch(() => undefined);
      if (!info) continue;
      const signature = `${info.size}:${info.mtimeMs}`;
      const previous = lastSeen.get(full);
      lastSeen.set(full, signature);
      if (previous !== signature) continue;
      lastSeen.delete(full);
      let claimed: string;
      try {
        claimed = await moveTo(full, folderPath, PROCESSING, name);
      } catch {
        continue; // another process took it
      }
      const outcome: FolderOutcome = { folder, file: cleanFileName(name) ?? 'file', accountId: account._id };
      try {
        outcome.summary = await deps.importer.importForAccount(account._id, { source: fileSource(claimed, outcome.file), fileName: name });
        await moveTo(claimed, folderPath, DONE, name);
      } catch (error) {
        if (!(error instanceof UserError)) {
          // Not the file's fault (the database is away…): it stays claimed and is taken again later.
          log.error({ err: error, folder: cleanFileName(folder), file: outcome.file }, 'a statement file could not be imported; it will be tried again');
          continue;
        }
        outcome.refused = error.message;
        const failed = await moveTo(claimed, folderPath, FAILED, name);
        await writeFile(`${failed}.txt`, `${error.message}\n`);
      }
      outcomes.push(outcome);
      await deps.report(account, outcome).catch((error: unknown) => log.warn({ err: error }, 'could not report a statement import'));
    }
  }

  return {
    /** One pass over every account folder; returns what was imported or refused. */
    async scan(): Promise<FolderOutcome[]> {
      if (running) return [];
      running = true;
      const outcomes: FolderOutcome[] = [];
      try {
        await mkdir(deps.dir, { recursive: true });
        const folders = (await readdir(deps.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SPECIAL.has(e.name));
        for (const folder of folders) {
          await scanFolder(folder.name, outcomes).catch((error: unknown) => log.error({ err: error, folder: cleanFileName(folder.name) }, 'could not scan a statement folder'));
        }
      } finally {
        running = false;
      }
      return outcomes;
    },
  };
}
