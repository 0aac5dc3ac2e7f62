import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { eventually } from '../helpers/eventually.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

/** The embedded server the service started last, from its log line. */
function embeddedServer(service: ServiceProcess): { pid: number; port: number } {
  const lines = service.stderr().split('\n').filter((line) => line.includes('"msg":"embedded database started"'));
  const last = JSON.parse(lines.at(-1) ?? '{}') as { serverPid?: number; uri?: string };
  if (!last.serverPid || !last.uri) throw new Error('no "embedded database started" line with a pid yet');
  return { pid: last.serverPid, port: Number(new URL(last.uri).port) };
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

const held = new Set<Socket>();

/** Listens on `port` as soon as it is free (the killed server's socket is released as it dies); answers nothing. */
async function occupy(port: number): Promise<Server> {
  return eventually(
    () =>
      new Promise<Server | undefined>((resolve) => {
        // The service's driver connects here and waits: its sockets are closed with the server.
        const server = createServer((socket) => held.add(socket));
        server.once('error', () => resolve(undefined));
        server.listen(port, '127.0.0.1', () => resolve(server));
      }),
    10_000,
    `port ${port} to be free`,
    20,
  );
}

/**
 * Issue 13 items 11–12 through the real service: its own mongo-java-server (H2 file in the data
 * folder) killed with SIGKILL, a second service on the same folder, the service itself killed.
 */
describe('the embedded database under the service (process, kill -9)', function () {
  // Whole processes (JVMs and Node) on a loaded 2-core machine; every wait inside has its own deadline.
  this.timeout(240_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-embedded-'));
  const started: ServiceProcess[] = [];
  let blocker: Server | undefined;
  // A mongod version no cache holds, from a host that never resolves (RFC 2606): the first start
  // finds mongodb-memory-server unusable, as offline, on any machine, and uses mongo-java-server.
  const offline = { MONGOMS_VERSION: '8.2.99', MONGOMS_DOWNLOAD_MIRROR: 'https://fastdl.invalid' };
  const start = () => {
    const service = startServiceProcess({ DATA_DIR: dataDir, ...offline });
    started.push(service);
    return service;
  };
  let first: ServiceProcess;

  after(async () => {
    for (const service of started) if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    if (blocker) {
      const closed = new Promise((resolve) => blocker?.close(resolve));
      for (const socket of held) socket.destroy();
      await closed;
    }
  });

  it('a first start shows each step as it happens, and skips a download that cannot work', async () => {
    first = start();
    const { end } = await first.waitForOutput(/recon> /, { timeoutMs: 120_000 });
    const steps = first.stdout().slice(0, end).trim().split('\n');
    const expected = [
      /^Embedded database: first start, choosing the engine \(mongodb-memory-server if a mongod can be had, else mongo-java-server\)…$/,
      /^Embedded database: mongodb-memory-server is not usable here \(mongod 8\.2\.99 is not cached and its download host fastdl\.invalid cannot be resolved \(offline\?\)\); using mongo-java-server\.$/,
      /^Embedded database: starting mongo-java-server \(data in .*mongo-java-server\.h2\)…$/,
      // Only where this machine has not resolved or compiled them before:
      /^Embedded database: resolving the mongo-java-server classpath with Maven \(first run only, ~30 s\)…$/,
      /^Embedded database: compiling the mongo-java-server launcher \(first run only\)…$/,
      /^Embedded database: ready \(mongo-java-server\)\.$/,
      /^Sandbox bank: http:\/\/127\.0\.0\.1:\d+ \((port 4010 was in use; )?demo users: demo\/demo, and demo-otp\/demo, which asks a 6-digit code\)\.$/,
      /^HTTP API: http:\/\/127\.0\.0\.1:\d+ \(OpenAPI document at \/openapi\.json\)\.$/,
      /^Ready\. Type help for the commands, exit to stop\.$/,
    ];
    const optional = new Set([3, 4]);
    let at = 0;
    for (const [index, pattern] of expected.entries()) {
      if (steps[at] !== undefined && pattern.test(steps[at] as string)) at += 1;
      else if (!optional.has(index)) expect.fail(`start-up line ${at + 1} should match ${pattern}; the lines were:\n${steps.join('\n')}`);
    }
    expect(steps[at]).to.equal('recon>');
    // The library's own download (three tries with back-off) never ran.
    expect(first.stderr()).not.to.match(/Download failed/);
  });

  it('a second start on the same data folder says it is in use, by which pid, in one line', async () => {
    expect(await first.command('/recon account add Keep sandbox', { input: ['ana', 'pw-embedded-keep'], timeoutMs: 120_000 })).to.match(/Account "Keep" added/);
    const second = start();
    expect((await second.exited).code).to.equal(1);
    const said = second.stderr().trim().split('\n').at(-1);
    expect(said).to.equal(
      `Reconbanker could not start: the data folder is in use by another Reconbanker (pid ${first.child.pid}): ${dataDir}. Stop that one first, or give this one another DATA_DIR.`,
    );
    expect(second.stderr()).not.to.match(/\bat [\w$.]+\(|Exception/);
    // The first one is untouched.
    expect(await first.command('/recon account list')).to.match(/• Keep — sandbox, active/);
  });

  it('kill -9 of the database right after a write is answered: restarted, operators told once, the write kept', async () => {
    const before = embeddedServer(first);
    expect(await first.command('/recon account pause Keep')).to.match(/Account "Keep" is now inactive\./);
    process.kill(before.pid, 'SIGKILL');

    await first.waitForOutput(/\[console:local\] The embedded database stopped unexpectedly \(killed by SIGKILL\); restarting it\./, { timeoutMs: 30_000 });
    await first.waitForOutput(/\[console:local\] The embedded database is running again \(it was down \d+ s\)\./, { timeoutMs: 90_000 });
    const after = embeddedServer(first);
    expect(after.pid).not.to.equal(before.pid);
    expect(after.port).to.equal(before.port);
    // The driver finds the new server by itself; commands meanwhile may still say "unavailable".
    await eventually(async () => /• Keep — sandbox, inactive/.test(await first.command('/recon account list')), 60_000, 'the paused account after the restart', 200);
    expect(count(first.stdout(), /The embedded database stopped unexpectedly/)).to.equal(1);
    expect(count(first.stdout(), /The embedded database is running again/)).to.equal(1);
    expect(first.stderr()).to.match(/"msg":"the embedded database \(mongo-java-server\) stopped unexpectedly; restarting it"/);
  });

  it('after the service itself is killed, the next start takes the folder over and finds the data', async () => {
    const server = embeddedServer(first);
    first.child.kill('SIGKILL');
    await first.exited;
    // Its JVM sees its input close and exits by itself.
    await eventually(
      () => {
        try {
          process.kill(server.pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      30_000,
      'the killed service\'s database to exit',
    );
    first = start();
    expect(await first.command('/recon account list', { timeoutMs: 120_000 })).to.match(/• Keep — sandbox, inactive/);
  });

  it('a database that cannot come back: the service says so once, in chat and in one sentence, and exits non-zero', async () => {
    const server = embeddedServer(first);
    const logBefore = first.stderr().length;
    process.kill(server.pid, 'SIGKILL');
    // Something else takes its port: every restart fails.
    blocker = await occupy(server.port);
    const exit = await first.exited;
    expect(exit.code).to.equal(1);
    const lines = first.stderr().trim().split('\n');
    expect(lines.at(-1)).to.match(
      new RegExp(
        `^Reconbanker stopped: the embedded database \\(mongo-java-server\\) stopped \\(killed by SIGKILL\\) and could not be restarted: 5 attempts in \\d+ s failed, the last with: mongo-java-server could not start: port ${server.port} on 127\\.0\\.0\\.1 is in use\\.$`,
      ),
    );
    expect(count(first.stdout(), /The embedded database stopped unexpectedly/)).to.equal(1);
    expect(count(first.stdout(), /\[console:local\] Reconbanker is stopping: the embedded database \(mongo-java-server\) stopped/)).to.equal(1);
    expect(first.stderr()).not.to.match(/\bat [\w$.]+\(|Exception in/);
    // Each failed attempt is one log line, and the loops that fail meanwhile (jobs, webhooks,
    // monitors: about 200 lines a minute before) repeat themselves at most ten times a minute.
    expect(count(first.stderr(), /"msg":"the embedded database \(mongo-java-server\) did not restart"/)).to.equal(5);
    const duringOutage = first.stderr().slice(logBefore).split('\n').filter((line) => line.startsWith('{'));
    expect(duringOutage.length, duringOutage.map((line) => line.slice(0, 160)).join('\n')).to.be.below(80);
  });
});
