import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeTelegram } from '../helpers/fake-telegram.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

/**
 * The real service process with Telegram as its only chat, against the fake Bot API: an
 * account added through the DM form, an assisted login on the sandbox bank answered by DM
 * (a wrong code first), the session's result in the chat, and nothing secret anywhere.
 */
describe('the service on Telegram (process, fake Bot API, sandbox bank)', function () {
  this.timeout(180_000);
  const TOKEN = '999:service-e2e-token';
  const ana = { id: 31337, first_name: 'Ana' };
  const password = 'Tg-Bank-Pw-7781';
  let bank: SandboxBank;
  let fake: Awaited<ReturnType<typeof startFakeTelegram>>;
  let service: ServiceProcess | undefined;

  before(async () => {
    bank = createSandboxBank();
    await bank.start();
    bank.addUser({ username: 'ana', password, otp: { length: 6, type: 'numeric' } });
    bank.addMovements('ana', [{ at: new Date(Date.now() - 3_600_000).toISOString(), amount: '1500.00', sender: 'José Pérez', reference: 'T1' }]);
    fake = await startFakeTelegram(TOKEN);
  });

  after(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await fake?.close();
    await bank?.stop();
  });

  const said = (pattern: RegExp, what: string, from = 0) =>
    eventually(() => fake.sentTo(ana.id).slice(from).find((text) => pattern.test(text)), 60_000, what);

  it('adds an account in private, logs in with a code answered by DM, reports the session', async () => {
    const env = {
      MONGODB_URI: freshDatabaseUri('tgservice'),
      SECRET_KEYS: `ci:${Buffer.alloc(32, 9).toString('base64')}`,
      SANDBOX_BANK_URL: bank.url,
      CHAT_CONSOLE: 'off',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
      JOB_POLL_MS: '200',
      SCRAPE_TICK_SECONDS: '3600',
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT_MS: '2000',
    };
    service = startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-tg-')) });
    await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
    // The schedule's first tick runs at start; after it, sessions run only when asked.
    await service.waitForLog(/"job":"scrape-tick".*"msg":"job done"/, 60_000);
    expect(fake.calls.some((c) => c.method === 'setMyCommands')).to.equal(true);

    fake.type(ana, '/recon setup ACME');
    await said(/Created "ACME" with you as owner/, 'setup');
    fake.type(ana, '/recon account add Bank sandbox');
    await said(/^Bank username\?/, 'username question');
    fake.type(ana, 'ana');
    await said(/^Bank password\?/, 'password question');
    const secret = fake.type(ana, password);
    await said(/Credentials saved \(encrypted\)/, 'saved');
    expect(fake.calls.some((c) => c.method === 'deleteMessage' && Number(c.params.message_id) === secret.messageId)).to.equal(true);
    fake.type(ana, '/recon account set Bank login_mode=assisted');
    await said(/Updated "Bank": login_mode/, 'assisted');

    const before = fake.sentTo(ana.id).length;
    fake.type(ana, '/recon account scrape Bank');
    await said(/Bank code needed for account "Bank" \(sandbox\): a 6-character numeric/, 'the code prompt by DM', before);
    fake.type(ana, '/recon otp Bank 000000');
    await said(/The bank rejected the code for "Bank"/, 'the wrong code rejected', before);
    const code = await eventually(() => bank.currentOtp('ana') ?? undefined, 10_000, 'the new code');
    fake.type(ana, `/recon otp Bank ${code}`);
    await said(/The bank accepted the code for "Bank"/, 'accepted', before);
    await said(/Bank: read 1 movement\(s\), 1 new\./, 'the session result', before);

    // A restart while a code is awaited: the interrupted session starts again, asks again, and
    // the code the person then sends is accepted.
    const mark = fake.sentTo(ana.id).length;
    fake.type(ana, '/recon account scrape Bank');
    await said(/Bank code needed for account "Bank"/, 'a second prompt', mark);
    service.child.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);
    const logs = service.stdout() + service.stderr();
    const afterStop = fake.sentTo(ana.id).length;
    service = startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-tg-2-')) });
    await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
    await said(/Bank code needed for account "Bank"/, 'the prompt of the resumed session', afterStop);
    const pending = await eventually(() => bank.currentOtp('ana') ?? undefined, 10_000, 'the code of the resumed login');
    // Answered as is: a plain code in the DM answers the one prompt waiting.
    fake.type(ana, pending);
    await said(/Code received for "Bank"; typing it into the bank\./, 'the plain code taken', afterStop);
    await said(/The bank accepted the code for "Bank"/, 'accepted after the restart', afterStop);
    await said(/Bank: read 1 movement\(s\), 0 new\./, 'the resumed session result', afterStop);

    service.child.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);
    const everything = JSON.stringify(fake.calls) + logs + service.stdout() + service.stderr();
    expect(everything).not.to.include(password);
    expect(everything).not.to.include(code);
    expect(everything).not.to.include(pending);
    expect(everything).not.to.include(TOKEN);
  });
});
