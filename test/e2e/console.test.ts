import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freshDatabaseUri } from '../helpers/database.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

const PASSWORD = 'Pa55-ñandú-console-4471';
const TOKEN = 'tok-console-secret-8812';

describe('the service as a process, driven through its console', function () {
  // Whole processes (a JVM, Node, sometimes Chromium) on a loaded 2-core machine; every wait inside has its own deadline.
  this.timeout(180_000);
  const env = {
    MONGODB_URI: '',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-console-')),
    SECRET_KEYS: `ci:${Buffer.alloc(32, 5).toString('base64')}`,
  };
  before(() => {
    // Known only once the global setup has started the test server.
    env.MONGODB_URI = freshDatabaseUri('console');
  });
  let service: ServiceProcess | undefined;
  const transcripts: string[] = [];

  afterEach(() => {
    if (service) {
      transcripts.push(service.stdout(), service.stderr());
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  });

  it('manages accounts end to end and exits cleanly on "exit"', async () => {
    service = startServiceProcess(env);
    expect(await service.command('/recon banks')).to.match(/sandbox — Sandbox Bank/);
    const added = await service.command('/recon account add "Main UYU" sandbox', { input: ['juan', PASSWORD] });
    expect(added).to.match(/Bank username: Bank password \(hidden\): Account "Main UYU" added \(bank sandbox\)\.\nCredentials saved \(encrypted\)\./);
    expect(await service.command(`/recon account set "main uyu" webhook_url=https://erp.example.com/hook auth_token=${TOKEN} notification_events=login_failed`)).to.match(
      /Updated "Main UYU": webhook_url, auth_token, notification_events\./,
    );
    expect(await service.command('/recon account list')).to.match(/• Main UYU — sandbox, active/);
    const shown = await service.command('account show "Main UYU"');
    expect(shown).to.match(/bank_username: juan/);
    expect(shown).to.match(/bank_password: \*{8}/);
    expect(shown).to.match(/auth_token: \*{8}/);
    expect(shown).to.match(/notification_events: \["login_failed"\]/);
    expect(await service.command('/recon account set "Main UYU" webhook_url=not-a-url')).to.match(/Invalid setting: webhook_url must be an http/);
    expect(await service.command('/recon account add Other itau')).to.match(/Unknown bank "itau"/);
    expect(await service.command('/recon account add "main uyu" sandbox')).to.match(/already exists/);
    expect(await service.command('/recon nonsense')).to.match(/Unknown command "nonsense"/);
    expect(await service.command('/recon mode reconcile')).to.match(/Operation mode is now reconcile/);
    service.type('exit');
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });
    expect(service.stderr()).to.match(/"msg":"stopped cleanly"/);
  });

  it('finds the account again after a restart, and stops cleanly on SIGTERM', async () => {
    service = startServiceProcess(env);
    expect(await service.command('/recon account list')).to.match(/• Main UYU — sandbox, active/);
    expect(await service.command('/recon mode')).to.match(/Operation mode: reconcile/);
    service.child.kill('SIGTERM');
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });
    expect(service.stderr()).to.match(/"reason":"SIGTERM","msg":"shutting down"/);
    expect(service.stderr()).to.match(/"msg":"stopped cleanly"/);
  });

  it('never printed a password or token to the terminal or the logs', () => {
    const everything = transcripts.join('\n');
    expect(everything.length).to.be.greaterThan(1000);
    expect(everything).not.to.include(PASSWORD);
    expect(everything).not.to.include(TOKEN);
    expect(everything).not.to.include(env.SECRET_KEYS.split(':')[1]);
  });
});
