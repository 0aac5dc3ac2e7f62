import type { AccountService } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import type { JobSpec } from '../jobs/scheduler.js';
import type { Logger } from '../log.js';
import type { ChatNotifier } from '../notify/chat-notifier.js';
import type { Models } from '../store/models.js';
import type { StoredTransaction, TransactionRepository } from '../store/transaction-repository.js';
import { createStatementFolderWatcher } from './folder-watcher.js';
import { createStatementImporter, type StatementImporter } from './import-service.js';
import { importSummaryText } from './summary-text.js';

export type StatementSettings = { dir: string; scanSeconds: number; maxBytes: number };

export type StatementServices = {
  importer: StatementImporter;
  /** The largest statement file taken (chat downloads stop there). */
  maxBytes: number;
  /** One pass over the watched folders (the job runs it on its interval). */
  scanFolders(): Promise<unknown>;
  jobs(): JobSpec[];
};

export function createStatementServices(deps: {
  models: Models;
  accounts: AccountService;
  transactions: TransactionRepository;
  onTransactions(accountId: string, transactions: StoredTransaction[]): Promise<void>;
  notifier: ChatNotifier;
  clock: Clock;
  log: Logger;
  settings: StatementSettings;
}): StatementServices {
  const importer = createStatementImporter({ ...deps, maxBytes: deps.settings.maxBytes });
  const folders = createStatementFolderWatcher({
    dir: deps.settings.dir,
    models: deps.models,
    importer,
    clock: deps.clock,
    log: deps.log,
    async report(account, outcome) {
      const text = outcome.summary
        ? `${importSummaryText(outcome.summary)}\n(from the watched folder ${outcome.folder}/)`
        : `A statement file dropped for "${account.name}" (${outcome.file}) was refused and moved to ${outcome.folder}/failed/: ${outcome.refused ?? ''}`;
      await deps.notifier.statement(account.userId, { text });
    },
  });
  return {
    importer,
    maxBytes: deps.settings.maxBytes,
    scanFolders: () => folders.scan(),
    jobs: () => [{ name: 'statement-folders', every: `${deps.settings.scanSeconds} seconds`, lockLifetimeMs: 30 * 60_000, run: async () => void (await folders.scan()) }],
  };
}
