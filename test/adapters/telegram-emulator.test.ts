import { expect } from 'chai';
import { TelegramServer } from 'telegram-test-api/lib/telegramServer.js';
import { createTelegramAdapter, type TelegramAdapter } from '../../adapters/telegram/telegram-adapter.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { unusedPort } from '../helpers/ports.js';
import { buildServices } from '../helpers/services.js';

/**
 * The Telegram adapter against a third-party Bot API emulator (npm telegram-test-api), not our
 * own fake: it implements getMe, getUpdates, sendMessage, editMessageText, deleteMessage and a
 * few more, and answers every other method (setMyCommands, getMyCommands, getWebhookInfo,
 * sendPhoto) with an error, as an incomplete or self-hosted Bot API may.
 */
describe('Telegram adapter against telegram-test-api (a third-party Bot API emulator)', function () {
  this.timeout(60_000);
  const TOKEN = '7001:emulated-telegram-token';
  const test = useTestDatabase('telegramemu');
  const capture = capturingLogger();
  let server: TelegramServer;
  let adapter: TelegramAdapter;
  let services: Services;
  const ana = { userId: 7001, chatId: 7001, firstName: 'Ana', userName: 'ana' };

  before(async () => {
    server = new TelegramServer({ port: await unusedPort(), host: '127.0.0.1', storeTimeout: 600 });
    await server.start();
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message) });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createTelegramAdapter({ token: TOKEN, apiRoot: server.config.apiURL, mode: 'polling', formTimeoutMs: 20_000, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter), onAction: (event) => router.handleAction(event, adapter), onReply: (event) => router.handleReply(event, adapter) });
  });

  after(async () => {
    await adapter?.stop();
    await server?.stop();
  });

  const client = () => server.getClient(TOKEN, ana);
  /** What the person typed that is still in the chat (the emulator drops a deleted message). */
  const typedStill = (text: string) => server.storage.userMessages.some((m) => 'message' in m && String(m.message.text).includes(text));
  const botTexts = () => server.storage.botMessages.filter((m) => String(m.message.chat_id) === String(ana.chatId)).map((m) => String(m.message.text));
  const said = (pattern: RegExp, what: string) => eventually(() => botTexts().find((text) => pattern.test(text)), 15_000, what);
  const command = async (text: string) => {
    const c = client();
    await c.sendCommand(c.makeCommand(text));
  };
  const type = async (text: string) => {
    const c = client();
    await c.sendMessage(c.makeMessage(text));
  };

  it('starts although the emulator lacks setMyCommands (logged), and answers commands by long polling', async () => {
    await eventually(() => capture.text().includes('could not register the Telegram command menu'), 10_000, 'the refused menu logged');
    await command('/recon setup ACME');
    await said(/Created "ACME" with you as owner/, 'setup answered');
  });

  it('a private form as a DM conversation: the password message is deleted from the emulator, never echoed', async () => {
    await command('/recon account add Main sandbox');
    await said(/^Bank username\?/, 'the username question');
    await type('ana.bank');
    await said(/^Bank password\? \(your message is deleted/, 'the password question');
    await type('Emu-Pw-4471');
    await said(/Credentials saved \(encrypted\)/, 'saved');
    expect(typedStill('ana.bank'), 'a message holding no secret stays').to.equal(true);
    expect(typedStill('Emu-Pw-4471'), 'deleted from the chat').to.equal(false);
    expect(JSON.stringify(server.storage.botMessages)).not.to.include('Emu-Pw-4471');
    expect(capture.text()).not.to.include('Emu-Pw-4471');
    const userId = (await test.db.models.Member.findOne({ platformUserId: String(ana.userId) }).lean())!.userId;
    expect(await services.accounts.revealSecret((await services.accounts.list(userId))[0]!.id, 'bank_password')).to.equal('Emu-Pw-4471');
  });

  it('account set with a password typed in the DM: deleted from the chat before it is stored', async () => {
    await command('/recon account set Main bank_password=Emu-Typed-Pw9');
    await said(/^Updated "Main": bank_password\./, 'updated');
    expect(typedStill('Emu-Typed-Pw9'), 'deleted from the chat').to.equal(false);
  });

  it('doctor says what it could not check instead of failing', async () => {
    await command('/recon doctor');
    const report = await said(/thing\(s\) to look at/, 'the doctor report');
    expect(report).to.include('could not be read (getMyCommands failed)');
    expect(report).to.include('webhook status could not be read');
  });

  it('a notice with a screenshot the emulator refuses (no sendPhoto) still delivers its text', async () => {
    const ref = await adapter.send(`telegram:${ana.chatId}`, { text: 'Bank session of "Main" failed (emulated)', image: { path: new URL(import.meta.url).pathname, alt: 'page' } });
    expect(ref).to.match(/^telegram:7001#\d+$/);
    await said(/^Bank session of "Main" failed \(emulated\)$/, 'the notice');
    await eventually(() => capture.text().includes('could not attach a screenshot to a Telegram message'), 10_000, 'the refused photo logged');
  });
});
