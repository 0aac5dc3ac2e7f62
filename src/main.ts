import path from 'node:path';
import { ConfigError, loadConfig, readEnvironment, type Config, type SecretKey } from './config.js';
import { createLogger, type Logger } from './log.js';
import { cacheDir } from './paths.js';
import { createAccountService } from './accounts/account-service.js';
import { createBankRegistry } from './banks/registry.js';
import { sandboxBankInfo } from './banks/sandbox/info.js';
import { createCommandRouter } from './chat/router.js';
import type { ChatAdapter, CommandEvent } from './chat/port.js';
import { systemClock } from './domain/clock.js';
import { UnavailableError } from './domain/errors.js';
import { housekeepingJob } from './jobs/housekeeping.js';
import { createScheduler } from './jobs/scheduler.js';
import { createServices } from './services.js';
import { connectDatabase, redactUri, type Database } from './store/database.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './store/embedded/index.js';
import { createSecretBox, loadOrCreateLocalKeys } from './store/secret-box.js';
import { allCommands } from '../commands/index.js';
import { createConsoleAdapter, type ConsoleAdapter } from '../adapters/console/console-adapter.js';

/**
 * Composition root and command line. Builds everything from the Config, explicitly; no other
 * module keeps global state.
 */

function consoleWanted(config: Config): boolean {
  if (config.chat.console === 'on') return true;
  if (config.chat.console === 'off') return false;
  return config.chat.platformsConfigured.length === 0 && process.stdin.isTTY === true;
}

function resolveKeys(config: Config, log: Logger): SecretKey[] {
  if (config.secretKeys) return config.secretKeys;
  if (config.env === 'production') {
    throw new ConfigError(['SECRET_KEYS: required in production (generate one with: openssl rand -base64 32, then SECRET_KEYS=k1:<that value>)']);
  }
  const local = loadOrCreateLocalKeys(config.dataDir);
  if (local.created) log.warn({ file: local.file }, 'no SECRET_KEYS set: generated an encryption key for local use; back it up, or set SECRET_KEYS');
  else log.info({ file: local.file }, 'using the local encryption key file (SECRET_KEYS not set)');
  return local.keys;
}

async function openDatabase(config: Config, log: Logger): Promise<{ database: Database; embedded?: EmbeddedDatabase }> {
  if (config.database.uri) {
    log.info({ uri: redactUri(config.database.uri) }, 'connecting to MongoDB');
    return { database: await connectDatabase({ uri: config.database.uri, timeoutMs: config.database.timeoutMs, log }) };
  }
  const embedded = await startEmbeddedDatabase({
    engine: config.database.embeddedEngine,
    port: config.database.embeddedPort,
    dataDir: config.dataDir,
    memoFile: path.join(config.dataDir, 'embedded-engine.json'),
    cacheDir,
    log,
  });
  try {
    const database = await connectDatabase({ uri: embedded.uri, dbName: 'reconbanker', timeoutMs: config.database.timeoutMs, log });
    return { database, embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

export type RunningService = { stop(reason: string): Promise<void>; stopped: Promise<void> };

export async function startService(config: Config): Promise<RunningService> {
  const withConsole = consoleWanted(config);
  // The console owns an interactive terminal: logs go to a file there, to stderr otherwise.
  const logFile = config.log.file ?? (withConsole && process.stdout.isTTY ? path.join(config.dataDir, 'reconbanker.log') : undefined);
  const log = createLogger({ ...config.log, file: logFile });
  if (logFile && withConsole) process.stdout.write(`Reconbanker is starting; logs go to ${logFile}\n`);

  const secretBox = createSecretBox(resolveKeys(config, log));
  const { database, embedded } = await openDatabase(config, log);
  const clock = systemClock;
  const banks = createBankRegistry(config.banks.showSandbox ? [sandboxBankInfo('http://127.0.0.1:4010/')] : []);
  const services = createServices({ models: database.models, secrets: secretBox, banks, clock, log, inviteTtlHours: config.inviteTtlHours });
  const { users } = services;
  const router = createCommandRouter({ commands: allCommands(), services, log });

  const db = database.connection.db;
  if (!db) throw new UnavailableError('the database connection has no database handle');
  const scheduler = createScheduler({ db, log, jobs: [housekeepingJob({ users, log })] });
  await scheduler.start();

  const adapters: ChatAdapter[] = [];
  let consoleAdapter: ConsoleAdapter | undefined;
  if (withConsole) {
    consoleAdapter = createConsoleAdapter({ input: process.stdin, output: process.stdout });
    await users.ensureOwner(consoleAdapter.identity, 'Local');
    adapters.push(consoleAdapter);
  } else if (config.chat.platformsConfigured.length === 0) {
    log.warn('no chat platform is configured and the console is off (CHAT_CONSOLE=on enables it)');
  }

  let inFlight = 0;
  let drained: (() => void) | undefined;
  for (const adapter of adapters) {
    await adapter.start({
      onCommand: async (event: CommandEvent) => {
        inFlight += 1;
        try {
          return await router.handle(event, adapter);
        } finally {
          inFlight -= 1;
          if (inFlight === 0) drained?.();
        }
      },
    });
  }
  log.info({ adapters: adapters.map((a) => a.platform), engine: embedded?.engine ?? 'external' }, 'Reconbanker is ready');

  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const service: RunningService = {
    stopped,
    stop(reason) {
      stopping ??= (async () => {
        log.info({ reason }, 'shutting down');
        for (const adapter of adapters) await adapter.stop();
        // Let commands already running finish their writes.
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        await scheduler.stop(config.shutdownTimeoutMs);
        await database.close();
        await embedded?.stop();
        log.info('stopped cleanly');
        log.flush();
        resolveStopped();
      })();
      return stopping;
    },
  };
  void consoleAdapter?.closed.then(() => service.stop('console closed'));
  return service;
}

async function rotateSecrets(config: Config): Promise<void> {
  const log = createLogger(config.log);
  const secretBox = createSecretBox(resolveKeys(config, log));
  const { database, embedded } = await openDatabase(config, log);
  try {
    const accounts = createAccountService({ models: database.models, banks: createBankRegistry([]), secrets: secretBox, clock: systemClock, log });
    const result = await accounts.rotateSecrets();
    process.stdout.write(`Re-encrypted ${result.rotated} secret(s) in ${result.accounts} account(s) with key "${secretBox.currentKeyId}".\n`);
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

const USAGE = `Usage: reconbanker <command>
  start            run the service (default)
  rotate-secrets   re-encrypt every stored secret with the newest key (first in SECRET_KEYS)`;

export async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`Configuration error: ${problem}\n`);
      return 1;
    }
    throw error;
  }
  try {
    switch (command) {
      case 'start': {
        const service = await startService(config);
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals += 1;
          if (signals > 1) process.exit(1); // a second Ctrl-C means "now"
          const timer = setTimeout(() => {
            process.stderr.write('Shutdown took too long; exiting.\n');
            process.exit(1);
          }, config.shutdownTimeoutMs + 5_000);
          timer.unref();
          void service.stop(signal);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        await service.stopped;
        return 0;
      }
      case 'rotate-secrets':
        await rotateSecrets(config);
        return 0;
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Reconbanker could not start: ${message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/main.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`Reconbanker failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
