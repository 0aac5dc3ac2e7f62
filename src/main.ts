import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, readEnvironment, type Config, type SecretKey } from './config.js';
import { startReadiness } from './health.js';
import { healthcheck } from './healthcheck.js';
import { createLogger, type Logger } from './log.js';
import { cacheDir } from './paths.js';
import { createBankRegistry } from './banks/registry.js';
import { STATEMENT_BANK } from './statements/statement-bank.js';
import { sandboxDriver } from './banks/sandbox/driver.js';
import { createCommandRouter } from './chat/router.js';
import type { ActionEvent, ChatAdapter, ChatHandlers, CommandEvent, ReplyEvent } from './chat/port.js';
import { systemClock } from './domain/clock.js';
import { UnavailableError } from './domain/errors.js';
import { housekeepingJob } from './jobs/housekeeping.js';
import { createScheduler } from './jobs/scheduler.js';
import { createServices, type Services } from './services.js';
import { createHttpApi, type HttpPlugin, type ZodApp } from './http/server.js';
import { standardPlugins } from './http/plugins.js';
import { createTokenSigner, tokenKeys } from './http/tokens.js';
import type { Models } from './store/models.js';
import { createSandboxBank, type SandboxBank, type SandboxState } from './banks/sandbox/bank-server.js';
import { DEMO_USERS, seedDemo } from './banks/sandbox/demo.js';
import { restoreSandboxState, saveSandboxState } from './banks/sandbox/state-file.js';
import { createBrowserPool } from './sessions/browser-pool.js';
import { SCRAPE_JOB } from './sessions/index.js';
import { POLL_JOB } from './reconcile/index.js';
import type { Scheduler } from './jobs/scheduler.js';
import { connectDatabase, redactUri, type Database } from './store/database.js';
import { startEmbeddedDatabase, type EmbeddedDatabase, type StepReporter } from './store/embedded/index.js';
import { describeExit } from './store/embedded/supervisor.js';
import { rotateSealedValues } from './store/sealed-fields.js';
import { createOperatorAlerts, type OperatorAlerts } from './notify/operator-alerts.js';
import type { ChatSender } from './notify/chat-notifier.js';
import type { UserService } from './users/user-service.js';
import { createSecretBox, loadOrCreateLocalKeys } from './store/secret-box.js';
import { describeRoles } from './process-roles.js';
import { createMetricsRecorder } from './metrics/recorder.js';
import { allCommands } from '../commands/index.js';
import { CONSOLE_PLACE, createConsoleAdapter, type ConsoleAdapter } from '../adapters/console/console-adapter.js';
import { createTelegramAdapter } from '../adapters/telegram/telegram-adapter.js';
import { createSlackAdapter } from '../adapters/slack/slack-adapter.js';
import { createDiscordAdapter } from '../adapters/discord/discord-adapter.js';

/**
 * Composition root and command line. Builds everything from the Config, explicitly; no other
 * module keeps global state.
 */

function consoleWanted(config: Config): boolean {
  // The console is a chat gateway: only a process with the chat role (ROLES) has one.
  if (!config.roles.chat) return false;
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

async function openDatabase(config: Config, log: Logger, step: StepReporter = () => undefined): Promise<{ database: Database; embedded?: EmbeddedDatabase }> {
  if (config.database.uri) {
    log.info({ uri: redactUri(config.database.uri) }, 'connecting to MongoDB');
    step(`Connecting to MongoDB at ${redactUri(config.database.uri)}…`);
    return { database: await connectDatabase({ uri: config.database.uri, timeoutMs: config.database.timeoutMs, log }) };
  }
  // The embedded engines are for trying out and tests: no replication, no backups, one process.
  if (config.env === 'production') {
    throw new ConfigError(['MONGODB_URI: required in production (the embedded database is for trying out and tests only)']);
  }
  const embedded = await startEmbeddedDatabase({
    engine: config.database.embeddedEngine,
    port: config.database.embeddedPort,
    javaHeapMb: config.database.embeddedHeapMb,
    dataDir: config.dataDir,
    memoFile: path.join(config.dataDir, 'embedded-engine.json'),
    cacheDir,
    log,
    step,
  });
  try {
    // mongod acknowledges before its journal is flushed (every 100 ms) unless asked; mongo-java-server commits each write anyway.
    const database = await connectDatabase({ uri: embedded.uri, dbName: 'reconbanker', timeoutMs: config.database.timeoutMs, log, journaled: embedded.engine === 'memory-server' });
    step(`Embedded database: ready (${embedded.engine === 'java' ? 'mongo-java-server' : 'mongod'}).`);
    return { database, embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

export type RunningService = {
  stop(reason: string): Promise<void>;
  stopped: Promise<void>;
  /** Set when the service stopped because it cannot go on (its embedded database is lost): one sentence. */
  readonly failure: string | undefined;
};

/**
 * The sandbox bank inside the service (dev/embedded mode), or an external one by URL. Its users
 * and movements are kept in DATA_DIR/sandbox-bank.json: the demo users are seeded on the first
 * start only, and a restart finds the same bank.
 */
async function startSandbox(config: Config, log: Logger, step: StepReporter): Promise<{ url: string; bank?: SandboxBank }> {
  if (config.sandbox.url) return { url: config.sandbox.url };
  // Bank sessions run in workers (ROLES): only a worker process starts the sandbox bank.
  const wanted = config.roles.worker && (config.sandbox.mode === 'on' || (config.sandbox.mode === 'auto' && config.env !== 'production'));
  if (!wanted) return { url: `http://127.0.0.1:${config.sandbox.port}` };
  const stateFile = path.join(config.dataDir, 'sandbox-bank.json');
  const keep = (state: SandboxState) => {
    try {
      saveSandboxState(state, stateFile);
    } catch (error) {
      log.warn({ err: error, file: stateFile }, 'could not save the sandbox bank (it goes on in memory)');
    }
  };
  const create = (port: number) => createSandboxBank({ port, onChange: keep });
  let bank = create(config.sandbox.port);
  let moved: string | undefined;
  try {
    await bank.start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || config.sandbox.mode === 'on') throw error;
    log.warn({ port: config.sandbox.port }, 'sandbox bank port in use; using a free port instead');
    moved = `port ${config.sandbox.port} was in use`;
    bank = create(0);
    await bank.start();
  }
  const restored = restoreSandboxState(bank, stateFile);
  if (!restored.restored) {
    if (restored.problem) log.warn({ file: stateFile }, `sandbox bank: ${restored.problem}; demo users seeded afresh`);
    seedDemo(bank);
  }
  log.info({ url: bank.url, file: stateFile, restored: restored.restored }, `sandbox bank started (${DEMO_USERS})`);
  if (config.banks.showSandbox) step(`Sandbox bank: ${bank.url} (${[moved, DEMO_USERS].filter(Boolean).join('; ')}).`);
  return { url: bank.url, bank };
}

/**
 * The embedded database this process started is watched: when it ends on its own it is started
 * again with back-off, operators are told once (and again when it is back), and if it cannot
 * come back `lost` stops the service.
 */
async function superviseEmbedded(
  embedded: EmbeddedDatabase,
  deps: { users: UserService; send: ChatSender; log: Logger; lost: (sentence: string) => void },
): Promise<OperatorAlerts> {
  const alerts = createOperatorAlerts({ places: () => deps.users.operatorDms(), send: deps.send, log: deps.log, refreshMs: 60_000 });
  await alerts.refresh();
  embedded.supervise({
    down: (exit) => void alerts.tell({ text: `The embedded database stopped unexpectedly (${describeExit(exit)}); restarting it. Until it is back, commands answer "temporarily unavailable".` }),
    back: ({ downForMs }) => {
      void alerts.tell({ text: `The embedded database is running again (it was down ${Math.max(1, Math.round(downForMs / 1000))} s).` });
      void alerts.refresh();
    },
    lost: (sentence) => {
      void alerts.tell({ text: `Reconbanker is stopping: ${sentence}.` }).finally(() => deps.lost(sentence));
    },
  });
  return alerts;
}

/**
 * The HTTP API on API_HOST:API_PORT. Outside production a port taken by something else falls
 * back to a free one (as the sandbox bank does), said at start-up; in production it is an error.
 */
async function startHttpApi(config: Config, deps: { services: Services; models: Models; encryptionKeys: Buffer[]; log: Logger; step: StepReporter; plugins: HttpPlugin[] }): Promise<ZodApp> {
  const tokens = createTokenSigner(tokenKeys({ secret: config.api.jwtSecret, encryptionKeys: deps.encryptionKeys }));
  const build = () =>
    createHttpApi({
      services: deps.services,
      models: deps.models,
      log: deps.log,
      tokens,
      settings: { ...config.api, statementMaxBytes: config.statements.maxBytes },
      plugins: deps.plugins,
    });
  let app = build();
  let moved: string | undefined;
  try {
    await app.listen({ host: config.api.host, port: config.api.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || config.env === 'production' || config.api.port === 0) {
      throw new Error(`the HTTP API cannot listen on ${config.api.host}:${config.api.port}: ${(error as Error).message} (set API_HOST / API_PORT)`);
    }
    deps.log.warn({ port: config.api.port }, 'HTTP API port in use; using a free port instead');
    moved = `port ${config.api.port} was in use`;
    app = build();
    await app.listen({ host: config.api.host, port: 0 });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  deps.log.info({ host: config.api.host, port }, 'HTTP API listening');
  deps.step(`HTTP API: http://${host}:${port} (${[moved, 'OpenAPI document at /openapi.json'].filter(Boolean).join('; ')}).`);
  return app;
}

export async function startService(config: Config): Promise<RunningService> {
  const withConsole = consoleWanted(config);
  // The console owns an interactive terminal: logs go to a file there, to stderr otherwise.
  const logFile = config.log.file ?? (withConsole && process.stdout.isTTY ? path.join(config.dataDir, 'reconbanker.log') : undefined);
  const log = createLogger({ ...config.log, file: logFile });
  if (logFile && withConsole) process.stdout.write(`Reconbanker is starting; logs go to ${logFile}\n`);
  // A promise rejected with nobody to catch it is a bug to log, not a reason to stop every account.
  const onUnhandled = (reason: unknown) => log.error({ err: reason }, 'unhandled promise rejection (a bug): logged, the service goes on');
  process.on('unhandledRejection', onUnhandled);
  // Each slow start-up step is shown as it begins (the first run resolves and compiles the
  // embedded database), on the console's terminal when there is one, and in the log.
  const step: StepReporter = (text) => {
    log.info({ step: text }, 'start-up');
    if (withConsole) process.stdout.write(`${text}\n`);
  };

  const keys = resolveKeys(config, log);
  const secretBox = createSecretBox(keys);
  const { database, embedded } = await openDatabase(config, log, step);
  const sandbox = await startSandbox(config, log, step);
  const clock = systemClock;
  const banks = createBankRegistry(config.banks.showSandbox ? [{ driver: sandboxDriver, loginUrl: sandbox.url }] : [], [STATEMENT_BANK]);
  const pool = createBrowserPool({ executablePath: config.browser.chromiumPath, maxContexts: config.browser.maxContexts, sandbox: config.browser.sandbox, log });

  const adapters = new Map<string, ChatAdapter>();
  /** The adapter of a stored reference (`slack:T1:C2`, `telegram:42#7`): its platform prefix. */
  const adapterFor = (ref: string): ChatAdapter => {
    const platform = ref.split(':')[0] ?? '';
    const adapter = adapters.get(platform);
    if (!adapter) throw new Error(`no chat adapter for ${platform}`);
    return adapter;
  };
  // Bound after the services exist: the scheduler's jobs call them, and they queue jobs.
  const late: { scheduler?: Scheduler } = {};
  // Counts for /metrics only this process sees (deliveries, polls), added to the shared database.
  const metricsRecorder = createMetricsRecorder({ models: database.models, log });
  metricsRecorder.start();
  const services = createServices({
    models: database.models,
    secrets: secretBox,
    banks,
    clock,
    log,
    inviteTtlHours: config.inviteTtlHours,
    setup: config.setup,
    pool,
    send: async (ref, message) => adapterFor(ref).send(ref, message),
    edit: async (ref, message) => adapterFor(ref).edit?.(ref, message),
    enqueue: async (data) => {
      if (!late.scheduler) throw new UnavailableError('the job scheduler is not running');
      await late.scheduler.now(SCRAPE_JOB, data);
    },
    enqueuePoll: async (data) => {
      if (!late.scheduler) throw new UnavailableError('the job scheduler is not running');
      await late.scheduler.now(POLL_JOB, data);
    },
    sessionSettings: { ...config.sessions, artifactsDir: path.join(config.dataDir, 'artifacts'), monitorTickMs: 2_000, leaseTtlMs: 60_000 },
    maxConcurrentSessions: config.browser.maxContexts,
    reconcileSettings: config.reconcile,
    webhookSettings: config.webhooks,
    statementSettings: config.statements,
    metrics: metricsRecorder,
  });
  const { users } = services;
  const router = createCommandRouter({ commands: allCommands(), services, log });

  const db = database.connection.db;
  if (!db) throw new UnavailableError('the database connection has no database handle');
  const scheduler = createScheduler({ db, log, processEvery: config.jobPollMs, jobs: [housekeepingJob({ users, actions: services.actions, inbound: services.inbound, access: services.access, log }), ...services.sessions.jobs(), ...services.reconcile.jobs(), ...services.statements.jobs()] });
  late.scheduler = scheduler;
  // Every process can queue jobs; only workers (ROLES) run them, hold persistent sessions and deliver.
  const roles = config.roles;
  if (roles.worker) {
    await scheduler.start();
    // After the scheduler: interrupted one-shot sessions are queued again.
    const orphans = await services.sessions.control.closeOrphanedRuns();
    if (orphans > 0) log.warn({ orphans }, 'closed sessions left running by a previous process');
    services.sessions.monitors.start();
    services.webhooks.start();
  }

  let consoleAdapter: ConsoleAdapter | undefined;
  if (withConsole) {
    consoleAdapter = createConsoleAdapter({ input: process.stdin, output: process.stdout });
    const owner = await users.ensureOwner(consoleAdapter.identity, 'Local');
    await users.rememberDm(owner.id, CONSOLE_PLACE);
    adapters.set('console', consoleAdapter);
  } else if (roles.chat && config.chat.platformsConfigured.length === 0) {
    log.warn('no chat platform is configured and the console is off (CHAT_CONSOLE=on enables it)');
  }
  const slack = config.chat.slack;
  if (slack) {
    const { apiUrl, ...connection } = slack;
    adapters.set('slack', createSlackAdapter({ ...connection, ...(apiUrl ? { apiUrl } : {}), log }));
  }
  const discord = config.chat.discord;
  if (discord) {
    adapters.set('discord', createDiscordAdapter({ token: discord.token, commands: router.commands, ...(discord.guildId ? { guildId: discord.guildId } : {}), ...(discord.api ? { api: discord.api } : {}), log }));
  }
  const telegram = config.chat.telegram;
  if (telegram) {
    adapters.set(
      'telegram',
      createTelegramAdapter({ token: telegram.token, ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}), mode: telegram.mode, ...(telegram.webhook ? { webhook: telegram.webhook } : {}), log }),
    );
  }

  let inFlight = 0;
  let drained: (() => void) | undefined;
  /** Every event is counted while it runs, so shutdown lets commands finish their writes. */
  async function counted<T>(work: () => Promise<T>): Promise<T> {
    inFlight += 1;
    try {
      return await work();
    } finally {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    }
  }
  const handlersFor = (adapter: ChatAdapter): ChatHandlers => ({
    onCommand: (event: CommandEvent) => counted(() => router.handle(event, adapter)),
    onReply: (event: ReplyEvent) => counted(() => router.handleReply(event, adapter)),
    onAction: (event: ActionEvent) => counted(() => router.handleAction(event, adapter)),
    firstTime: (key: string) => services.inbound.firstTime(key),
  });
  // A platform that cannot start now does not stop the others or the core: it is tried again
  // with back-off (CHAT_RETRY_SECONDS, doubling, at most 5 minutes) until it connects.
  const retries = new Map<string, NodeJS.Timeout>();
  let shuttingDown = false;
  async function startPlatform(platform: string, adapter: ChatAdapter, attempt: number): Promise<void> {
    try {
      await adapter.start(handlersFor(adapter));
      // Connected while the service was stopping: it stops too.
      if (shuttingDown) await adapter.stop().catch(() => undefined);
      else if (attempt > 0) log.info({ platform, attempt }, 'chat platform connected after retrying');
    } catch (error) {
      if (platform === 'console') throw error;
      const delayMs = Math.min(config.chat.retryMs * 2 ** attempt, 5 * 60_000);
      log.error({ err: error, platform, retryInSeconds: delayMs / 1000 }, 'a chat platform could not start; trying again later (the others and the core go on)');
      if (shuttingDown) return;
      const timer = setTimeout(() => {
        retries.delete(platform);
        void adapter
          .stop()
          .catch(() => undefined)
          .then(() => (shuttingDown ? undefined : startPlatform(platform, adapter, attempt + 1)));
      }, delayMs);
      timer.unref();
      retries.set(platform, timer);
    }
  }
  // Readiness: the HTTP API's GET /ready and /metrics (src/http/operations.ts, with
  // createMetrics) use these too; the realtime socket tails services.realtime.
  const readinessChecks = {
    database: () => Promise.race([db.admin().ping().then(() => undefined), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the database did not answer a ping in 5 s')), 5_000).unref())]),
    scheduler: () => scheduler.check(),
  };
  const api = roles.api
    ? await startHttpApi(config, {
        services,
        models: database.models,
        encryptionKeys: keys.map((k) => k.key),
        log,
        step,
        plugins: standardPlugins({ models: database.models, db, checks: roles.worker ? readinessChecks : { database: readinessChecks.database }, log }),
      })
    : undefined;

  // The console first (it is this terminal); the platforms connect in the background, each on
  // its own, so a slow or unreachable one holds up neither start-up nor a shutdown signal.
  const local = adapters.get('console');
  if (local) {
    process.stdout.write('Ready. Type help for the commands, exit to stop.\n');
    await startPlatform('console', local, 0);
  }
  // Without the chat role the platforms' adapters only send (notifications, OTP prompts through
  // the platform's API): no polling, no gateway, no listening endpoint.
  if (roles.chat) for (const [platform, adapter] of adapters) if (platform !== 'console') void startPlatform(platform, adapter, 0);
  let failure: string | undefined;
  const alerts = embedded ? await superviseEmbedded(embedded, { users, send: (ref, message) => adapterFor(ref).send(ref, message), log, lost: (sentence) => {
    failure = sentence;
    void service.stop('the embedded database is lost');
  } }) : undefined;
  log.info({ roles: describeRoles(roles), adapters: [...adapters.keys()], engine: embedded?.engine ?? 'external', sandbox: sandbox.url }, 'Reconbanker is ready');
  // For the container health check (`healthcheck`): ready while the database answers.
  const readiness = startReadiness({
    dataDir: config.dataDir,
    log,
    probe: async () => {
      await readinessChecks.database();
      if (roles.worker) await readinessChecks.scheduler();
    },
  });

  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const service: RunningService = {
    stopped,
    get failure() {
      return failure;
    },
    stop(reason) {
      stopping ??= (async () => {
        log.info({ reason }, 'shutting down');
        readiness.stop();
        shuttingDown = true;
        // No new API requests; those running finish (Fastify waits for them).
        await api?.close().catch((error: unknown) => log.warn({ err: error }, 'the HTTP API did not close cleanly'));
        alerts?.stop();
        for (const timer of retries.values()) clearTimeout(timer);
        if (roles.chat) for (const adapter of adapters.values()) await adapter.stop().catch((error: unknown) => log.warn({ err: error }, 'a chat platform did not stop cleanly'));
        // Let commands already running finish their writes.
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        await services.sessions.monitors.stop();
        await services.webhooks.stop(config.shutdownTimeoutMs);
        await scheduler.stop(config.shutdownTimeoutMs);
        await metricsRecorder.stop();
        const cut = await services.sessions.releaseLeases();
        if (cut > 0) log.warn({ sessions: cut }, 'sessions cut short by the shutdown; they start again with the next process');
        await pool.close();
        await sandbox.bank?.stop();
        await database.close();
        await embedded?.stop();
        process.off('unhandledRejection', onUnhandled);
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

/** Re-seals every registered sealed value (store/sealed-fields.ts) with the newest key; safe to run again. */
async function rotateSecrets(config: Config): Promise<void> {
  const log = createLogger(config.log);
  const secretBox = createSecretBox(resolveKeys(config, log));
  const { database, embedded } = await openDatabase(config, log);
  try {
    const result = await rotateSealedValues(database.models, secretBox);
    const parts = Object.entries(result.byField).map(([field, count]) => `${count} ${field}`);
    process.stdout.write(`Re-encrypted ${result.rotated} value(s) with key "${secretBox.currentKeyId}" (${parts.join(', ')}).\n`);
    if (result.skipped > 0) process.stdout.write(`${result.skipped} value(s) changed meanwhile; run rotate-secrets again before removing an old key.\n`);
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

async function runSandbox(config: Config): Promise<void> {
  const log = createLogger(config.log);
  const bank = createSandboxBank({ port: config.sandbox.port });
  await bank.start();
  seedDemo(bank);
  process.stdout.write(`Sandbox bank at ${bank.url} (${DEMO_USERS}; kept in memory only). Ctrl-C stops it.\n`);
  log.info({ url: bank.url }, 'sandbox bank started');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bank.stop();
}

const USAGE = `Usage: reconbanker <command>
  start            run the service (default)
  healthcheck [url] exit 0 when the service on this host is ready (the container's HEALTHCHECK);
                   with a URL (http://127.0.0.1:3000/ready) asks the API's readiness endpoint
  sandbox          run only the sandbox bank (port SANDBOX_BANK_PORT)
  rotate-secrets   re-encrypt every stored secret with the newest key (first in SECRET_KEYS)`;

export async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  if (command === 'healthcheck') return healthcheck(argv[1]);
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
        // Listened for before start-up begins: a signal while it runs (a container stopped as it
        // starts) took the default action and killed the process before it could stop cleanly. One that comes then
        // stops the service as soon as it has started.
        let running: RunningService | undefined;
        let pending: NodeJS.Signals | undefined;
        let signals = 0;
        const stop = (service: RunningService, signal: NodeJS.Signals) => {
          const timer = setTimeout(() => {
            process.stderr.write('Shutdown took too long; exiting.\n');
            process.exit(1);
          }, config.shutdownTimeoutMs + 5_000);
          timer.unref();
          void service.stop(signal);
        };
        const onSignal = (signal: NodeJS.Signals) => {
          signals += 1;
          if (signals > 1) process.exit(1); // a second Ctrl-C means "now"
          if (running) stop(running, signal);
          else pending = signal;
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const service = (running = await startService(config));
        if (pending) stop(service, pending);
        await service.stopped;
        if (service.failure) {
          process.stderr.write(`Reconbanker stopped: ${service.failure}.\n`);
          return 1;
        }
        return 0;
      }
      case 'rotate-secrets':
        await rotateSecrets(config);
        return 0;
      case 'sandbox':
        await runSandbox(config);
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

// Run as a program (tsx src/main.ts, or node dist/src/main.js compiled), not when imported.
if (process.argv[1] && (import.meta.url === pathToFileURL(process.argv[1]).href || /src[\\/]main\.[jt]s$/.test(process.argv[1]))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`Reconbanker failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
