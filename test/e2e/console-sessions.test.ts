import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

describe('a bank session driven from the console of the running service', function () {
  this.timeout(120_000);
  let bank: SandboxBank;
  let service: ServiceProcess | undefined;
  const password = 'Console-Bank-Pw-3310';
  const codes: string[] = [];

  before(async () => {
    bank = createSandboxBank();
    await bank.start();
    bank.addUser({ username: 'ana', password, otp: { length: 6, type: 'numeric' } });
    bank.addMovements('ana', [
      { at: new Date(Date.now() - 3_600_000).toISOString(), amount: '1500.00', sender: 'José Pérez', reference: 'A1' },
      { at: new Date(Date.now() - 7_200_000).toISOString(), amount: '99.99', sender: null, description: 'Comisión' },
    ]);
  });

  after(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await bank.stop();
  });

  it('scrape now → the code prompt reaches the console → the code typed there logs in → movements are read', async () => {
    service = startServiceProcess({
      MONGODB_URI: freshDatabaseUri('consolebank'),
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-console-bank-')),
      SECRET_KEYS: `ci:${Buffer.alloc(32, 8).toString('base64')}`,
      SANDBOX_BANK_URL: bank.url,
      JOB_POLL_MS: '200',
      SCRAPE_TICK_SECONDS: '3600',
    });
    expect(await service.command('/recon account add Bank1 sandbox', { input: ['ana', password] })).to.match(/Credentials saved/);
    expect(await service.command('/recon account set Bank1 login_mode=assisted')).to.match(/Updated "Bank1": login_mode/);
    const mark = service.stdout().length;
    service.type('/recon account scrape Bank1');
    await service.waitForOutput(/Queued a session for "Bank1"; progress will follow here\./, { from: mark });
    await service.waitForOutput(/Bank1: logging in…/, { from: mark });
    const prompt = await service.waitForOutput(/\[console:local\] Bank code needed for account "Bank1" \(sandbox\): a 6-character numeric \(digits only\) code, before \d\d:\d\d UTC\. Reply with: \/recon otp "Bank1" <code>/, { from: mark });
    const code = await eventually(() => bank.currentOtp('ana') ?? undefined, 10_000, 'the code on the "phone"');
    codes.push(code);
    service.type(`/recon otp Bank1 ${code}`);
    await service.waitForOutput(/Code received for "Bank1"; typing it into the bank\./, { from: prompt.end });
    await service.waitForOutput(/The bank accepted the code for "Bank1"/, { from: prompt.end });
    await service.waitForOutput(/Bank1: read 2 movement\(s\), 2 new\./, { from: prompt.end, timeoutMs: 60_000 });

    const movements = await service.command('/recon movements Bank1');
    expect(movements).to.match(/1500\.00 UYU — José Pérez — Transferencia recibida/);
    expect(movements).to.match(/-?99\.99 UYU — \(no sender\) — Comisión/);
    const status = await service.command('/recon account status Bank1');
    expect(status).to.match(/Last run: .* — ok, 2 read, 2 new/);
    expect(status).to.match(/Bank code: none pending/);
    expect(await service.command('/recon otp Bank1 123456')).to.match(/No bank code is being waited for/);

    service.type('exit');
    expect((await service.exited).code).to.equal(0);
    const everything = service.stdout() + service.stderr();
    expect(everything).not.to.include(password);
    for (const c of codes) expect(everything).not.to.include(c);
  });
});
