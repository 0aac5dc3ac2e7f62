import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startServiceProcess } from '../helpers/service-process.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function tempDataDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `rb-${label}-`));
}

describe('start-up', function () {
  // Whole processes (a JVM, Node, sometimes Chromium) on a loaded 2-core machine; every wait inside has its own deadline.
  this.timeout(180_000);
  it('a bad setting stops start-up with one line naming the variable', async () => {
    const service = startServiceProcess({ LOG_LEVEL: 'loud', DATA_DIR: tempDataDir('cfg') });
    const { code } = await service.exited;
    expect(code).to.equal(1);
    expect(service.stderr().trim().split('\n')).to.deep.equal([
      'Configuration error: LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    ]);
  });

  it('an unreachable database is a clear error and a non-zero exit', async () => {
    const port = await freePort();
    const service = startServiceProcess({ MONGODB_URI: `mongodb://someone:hunter2@127.0.0.1:${port}/x`, DB_TIMEOUT_MS: '1000', DATA_DIR: tempDataDir('down') });
    const { code } = await service.exited;
    expect(code).to.equal(1);
    expect(service.stderr()).to.include(`Reconbanker could not start: Cannot reach MongoDB at mongodb://***@127.0.0.1:${port}/x`);
    expect(service.stderr()).not.to.include('hunter2');
  });

  it('production refuses to start without SECRET_KEYS', async () => {
    const service = startServiceProcess({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://127.0.0.1:1/x', DATA_DIR: tempDataDir('prod') });
    const { code } = await service.exited;
    expect(code).to.equal(1);
    expect(service.stderr()).to.match(/SECRET_KEYS: required in production/);
  });

  it('SIGTERM during start-up: the service finishes starting, then stops cleanly (exit 0, never killed by the signal)', async () => {
    const service = startServiceProcess({ DATA_DIR: tempDataDir('early-term') });
    // Logged at the start of start-up, before the embedded database is started (seconds).
    await service.waitForLog(/generated an encryption key for local use/, 60_000);
    service.child.kill('SIGTERM');
    const { code, signal } = await service.exited;
    expect(signal, service.stderr().slice(-2000)).to.equal(null);
    expect(code, service.stderr().slice(-2000)).to.equal(0);
    expect(service.stderr()).not.to.match(/\n\s+at /);
  });

  it('with no environment: embedded database, generated key, data kept across restarts', async () => {
    const dataDir = tempDataDir('embedded');
    const first = startServiceProcess({ DATA_DIR: dataDir });
    await first.command('/recon account add Persist sandbox', { input: ['ana', 'pw-embedded-1'], timeoutMs: 90_000 });
    first.type('exit');
    expect((await first.exited).code).to.equal(0);
    expect(first.stderr()).to.match(/generated an encryption key for local use/);
    expect(existsSync(path.join(dataDir, 'secret-keys'))).to.equal(true);
    const memo = JSON.parse(readFileSync(path.join(dataDir, 'embedded-engine.json'), 'utf8')) as { engine: string };
    expect(['java', 'memory-server']).to.include(memo.engine);

    const second = startServiceProcess({ DATA_DIR: dataDir });
    expect(await second.command('/recon account list', { timeoutMs: 60_000 })).to.match(/• Persist — sandbox, active/);
    expect(second.stderr()).to.match(/"reason":"remembered in [^"]*embedded-engine.json/);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).to.equal(0);
    expect(first.stderr() + second.stderr() + first.stdout()).not.to.include('pw-embedded-1');
  });
});
