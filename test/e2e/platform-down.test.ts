import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeTelegram } from '../helpers/fake-telegram.js';
import { unusedPort } from '../helpers/ports.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

describe('a chat platform that is down at start (process)', function () {
  this.timeout(120_000);
  const TOKEN = '777:platform-down-token';
  let service: ServiceProcess | undefined;
  let fake: Awaited<ReturnType<typeof startFakeTelegram>> | undefined;

  after(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await fake?.close();
  });

  it('does not stop the core or the console; the platform connects once it is back, by itself', async () => {
    const port = await unusedPort();
    service = startServiceProcess({
      MONGODB_URI: freshDatabaseUri('platformdown'),
      SECRET_KEYS: `ci:${Buffer.alloc(32, 5).toString('base64')}`,
      SANDBOX_BANK: 'off',
      CHAT_CONSOLE: 'on',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: `http://127.0.0.1:${port}`,
      CHAT_RETRY_SECONDS: '1',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-down-')),
    });
    await service.waitForLog(/"platform":"telegram".*a chat platform could not start; trying again later/, 60_000);
    await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
    // The console (and the core behind it) works while Telegram is unreachable.
    expect(await service.command('whoami')).to.match(/owner of "Local"/);

    fake = await startFakeTelegram(TOKEN, port);
    await service.waitForLog(/"platform":"telegram".*"msg":"chat platform connected after retrying"/, 60_000);
    const ana = { id: 4242, first_name: 'Ana' };
    fake.type(ana, '/recon whoami');
    await eventually(() => fake!.sentTo(ana.id).find((text) => /not linked to a Reconbanker user/.test(text)), 30_000, 'an answer on Telegram');

    service.child.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);
    expect(service.stderr()).not.to.include(TOKEN.split(':')[1]!);
  });
});
