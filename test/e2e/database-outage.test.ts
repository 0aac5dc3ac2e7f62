import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter, type CommandRouter } from '../../src/chat/router.js';
import { cacheDir } from '../../src/paths.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { startJavaServer, type RunningServer } from '../../src/store/embedded/java-server.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { eventually } from '../helpers/eventually.js';
import { buildServices } from '../helpers/services.js';

describe('database lost while running (its own mongo-java-server, stopped and restarted)', function () {
  // Whole processes (a JVM, Node, sometimes Chromium) on a loaded 2-core machine; every wait inside has its own deadline.
  this.timeout(180_000);
  const h2File = path.join(mkdtempSync(path.join(tmpdir(), 'rb-outage-')), 'outage.h2');
  const capture = capturingLogger();
  const owner = identity('owner', 'console', 'local');
  let server: RunningServer;
  let database: Database;
  let router: CommandRouter;

  const run = async (text: string) => (await router.handle(commandIn('dm', owner, text), scriptedForms([{ status: 'cancelled' }]))).text;

  before(async () => {
    server = await startJavaServer({ cacheDir, port: 0, h2File });
    database = await connectDatabase({ uri: `${server.uri}/outage`, timeoutMs: 1_000, log: capture.log });
    const services = buildServices(database, { log: capture.log });
    router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    await services.users.ensureOwner(owner, 'Local');
    expect(await run('account add Steady sandbox')).to.match(/added/);
  });

  after(async () => {
    await database?.close();
    await server?.stop();
  });

  it('answers "temporarily unavailable", then works again once the server is back', async () => {
    const port = Number(new URL(server.uri).port);
    await server.stop();
    expect(await run('account list')).to.equal('The service is temporarily unavailable; please try again in a moment.');
    expect(capture.text()).to.match(/command failed: database unavailable/);

    server = await startJavaServer({ cacheDir, port, h2File });
    // The driver reconnects by itself (no restart of ours): the data written before are back.
    await eventually(async () => /• Steady — sandbox, active/.test(await run('account list')), 20_000, 'the account list after reconnecting', 200);
  });
});
