import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createTelegramAdapter, type TelegramAdapter } from '../../adapters/telegram/telegram-adapter.js';
import { renderHtml, splitForTelegram } from '../../adapters/telegram/render.js';
import { allCommands } from '../../commands/index.js';
import { NotReachableError } from '../../src/chat/port.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeTelegram } from '../helpers/fake-telegram.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

const TOKEN = '123456:TEST-token-for-the-fake';
const ana = { id: 1001, first_name: 'Ana' };
const bruno = { id: 1002, first_name: 'Bruno' };
const GROUP = -5005;

describe('Telegram adapter (real grammY against a fake Bot API)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('telegram');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeTelegram>>;
  let adapter: TelegramAdapter;
  let services: Services;

  before(async () => {
    fake = await startFakeTelegram(TOKEN);
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message) });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'polling', formTimeoutMs: 20_000, retry: { attempts: 3, totalMs: 10_000, baseDelayMs: 2_000, attemptTimeoutMs: 5_000 }, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter), onAction: (event) => router.handleAction(event, adapter), onReply: (event) => router.handleReply(event, adapter) });
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  const reply = (chatId: number, pattern: RegExp, what: string) => eventually(() => fake.sentTo(chatId).find((text) => pattern.test(text)), 15_000, what);

  it('registers its commands on start', async () => {
    const registered = await eventually(() => fake.calls.find((c) => c.method === 'setMyCommands'), 10_000, 'setMyCommands');
    expect((registered?.params.commands as { command: string }[]).map((c) => c.command)).to.deep.equal(['recon', 'start']);
  });

  it('refuses an unlinked person, then sets up a user from a DM', async () => {
    fake.type(bruno, '/recon account list');
    await reply(bruno.id, /not linked|setup|link/i, 'the refusal');
    fake.type(ana, '/recon setup ACME');
    await reply(ana.id, /Created "ACME" with you as owner/, 'setup');
  });

  it('adds an account through a DM conversation: the password message is deleted at once and never echoed', async () => {
    fake.type(ana, '/recon account add Main sandbox');
    await reply(ana.id, /^Bank username\?/, 'the username question');
    fake.type(ana, 'ana.bank');
    await reply(ana.id, /^Bank password\? \(your message is deleted/, 'the password question');
    const { messageId } = fake.type(ana, 'S3cret-Pa55');
    await reply(ana.id, /Credentials saved \(encrypted\)/, 'saved');
    expect(fake.calls.some((c) => c.method === 'deleteMessage' && Number(c.params.message_id) === messageId)).to.equal(true);
    expect(fake.calls.some((c) => c.method === 'editMessageText' && c.params.text === 'Bank password: received.')).to.equal(true);
    const outbound = JSON.stringify(fake.calls);
    expect(outbound).not.to.include('S3cret-Pa55');
    expect(capture.text()).not.to.include('S3cret-Pa55');
    const stored = JSON.stringify(await test.db.models.Account.findOne({ name: 'Main' }).lean());
    expect(stored).not.to.include('S3cret-Pa55');
    expect(await services.accounts.revealSecret((await services.accounts.list((await test.db.models.Member.findOne({ platformUserId: String(ana.id) }).lean())!.userId))[0]!.id, 'bank_password')).to.equal('S3cret-Pa55');
  });

  it('refuses a password typed in a group, stores and repeats nothing of it', async () => {
    fake.type(ana, '/recon account set Main bank_password=Gr0up-Leak', GROUP);
    await reply(GROUP, /private/i, 'the refusal in the group');
    expect(JSON.stringify(fake.calls)).not.to.include('Gr0up-Leak');
    expect(capture.text()).not.to.include('Gr0up-Leak');
    expect(JSON.stringify(await test.db.models.Account.find().lean())).not.to.include('Gr0up-Leak');
  });

  it('a password typed in a DM with account set: the message is deleted before the value is stored', async () => {
    const { messageId } = fake.type(ana, '/recon account set Main bank_password=Dm-Typed-Pw1');
    await reply(ana.id, /^Updated "Main": bank_password\./, 'updated');
    const deleted = fake.calls.findIndex((c) => c.method === 'deleteMessage' && Number(c.params.message_id) === messageId);
    expect(deleted, 'the message is gone from the chat').to.be.at.least(0);
    const answered = fake.calls.findIndex((c) => c.method === 'sendMessage' && /^Updated "Main"/.test(String(c.params.text)));
    expect(deleted).to.be.below(answered);
    const userId = (await test.db.models.Member.findOne({ platformUserId: String(ana.id) }).lean())!.userId;
    expect(await services.accounts.revealSecret((await services.accounts.list(userId))[0]!.id, 'bank_password')).to.equal('Dm-Typed-Pw1');
  });

  it('a password typed in a DM that cannot be deleted is refused, and nothing is stored', async () => {
    fake.failNext('deleteMessage', 400, { ok: false, error_code: 400, description: "Bad Request: message can't be deleted" });
    fake.type(ana, '/recon account set Main bank_password=Undeletable-Pw2');
    await reply(ana.id, /could not delete your message holding bank_password, so nothing was saved/, 'the refusal');
    const userId = (await test.db.models.Member.findOne({ platformUserId: String(ana.id) }).lean())!.userId;
    expect(await services.accounts.revealSecret((await services.accounts.list(userId))[0]!.id, 'bank_password')).to.equal('Dm-Typed-Pw1');
    expect(JSON.stringify(fake.calls.filter((c) => c.method === 'sendMessage'))).not.to.include('Undeletable-Pw2');
    expect(capture.text()).not.to.include('Undeletable-Pw2');
  });

  it('a bank code typed as is in the DM leaves the chat before it is used, like /recon otp; a "thanks" stays', async () => {
    const userId = (await test.db.models.Member.findOne({ platformUserId: String(ana.id) }).lean())!.userId;
    const main = (await services.accounts.list(userId))[0]!;
    const request = await test.db.models.AssistanceRequest.create({ accountId: main.id, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: main.id, expiresAt: new Date(Date.now() + 600_000) });
    try {
      const chatty = fake.type(ana, 'thanks');
      await reply(ana.id, /does not look like the bank's code/, 'the chatty message answered');
      const typed = fake.type(ana, '482913');
      await reply(ana.id, /^Code received for "Main"/, 'the code taken');
      const deletes = fake.calls.filter((c) => c.method === 'deleteMessage').map((c) => Number(c.params.message_id));
      expect(deletes, 'the code is gone from the chat').to.include(typed.messageId);
      expect(deletes, 'a message that is no code stays').not.to.include(chatty.messageId);
      const deleted = fake.calls.findIndex((c) => c.method === 'deleteMessage' && Number(c.params.message_id) === typed.messageId);
      const answered = fake.calls.findIndex((c) => c.method === 'sendMessage' && /^Code received for "Main"/.test(String(c.params.text)));
      expect(deleted).to.be.below(answered);
    } finally {
      await test.db.models.AssistanceRequest.deleteOne({ _id: request._id });
    }
  });

  it('links a second person with an invite deep link (/start <code>)', async () => {
    fake.type(ana, '/recon invite operator');
    const invite = await reply(ana.id, /RB-[A-Z2-9]{4}-[A-Z2-9]{4}/, 'an invite');
    const code = /RB-[A-Z2-9]{4}-[A-Z2-9]{4}/.exec(invite)![0];
    fake.type(bruno, `/start ${code}`);
    await reply(bruno.id, /now operator of "ACME"/, 'linked');
  });

  it('an ambiguous payment offers a button per candidate in a bound group; an operator resolves it with one', async () => {
    fake.type(ana, '/recon mode reconcile');
    await reply(ana.id, /reconcile/, 'mode set');
    fake.type(ana, '/recon notify here', GROUP);
    await reply(GROUP, /posted here too/, 'group bound');
    const account = (await test.db.models.Account.findOne({ name: 'Main' }).lean())!;
    const at = new Date(Date.now() - 3_600_000);
    const [first, second] = await services.sessions.transactions.ingest(
      account._id,
      'run',
      [
        { amountMinor: 70000, currency: 'UYU', senderName: 'Mía, Rosa', receivedAt: at, description: '', bankReference: 'b1' },
        { amountMinor: 70000, currency: 'UYU', senderName: 'ROSA MIA', receivedAt: at, description: '', bankReference: 'b2' },
      ],
      true,
    );
    const now = new Date();
    await test.db.models.ConciliationRequest.create({ accountId: account._id, userId: account.userId, externalId: 'T-9', amountMinor: 70000, currency: 'UYU', name: 'Rosa Mía', registeredAt: now, status: 'pending', statusChangedAt: now });
    await services.reconcile.transactionsArrived(account._id, []);
    await services.reconcile.evaluate(account._id, { due: true });
    await reply(GROUP, /T-9 .* is ambiguous/, 'the ambiguity in the group');
    const buttons = fake.buttonsIn(GROUP);
    expect(buttons.map((b) => b.text.slice(0, 8)).sort()).to.deep.equal([first!.id.slice(0, 8), second!.id.slice(0, 8)].sort());
    expect(buttons.every((b) => b.callback_data.length <= 64)).to.equal(true);
    const chosen = buttons.find((b) => b.text.startsWith(second!.id.slice(0, 8)))!;
    fake.press(bruno, chosen.callback_data, GROUP);
    await reply(GROUP, /^Resolved: T-9 is matched with transaction/, 'resolved by the button');
    expect(fake.calls.some((c) => c.method === 'answerCallbackQuery')).to.equal(true);
    const request = await test.db.models.ConciliationRequest.findOne({ externalId: 'T-9' }).lean();
    expect(request?.match?.transactionId).to.equal(second!.id);
    fake.press(bruno, chosen.callback_data, GROUP);
    await reply(GROUP, /"T-9" is matched; only an open request/, 'a second press is answered');
    fake.press(bruno, 'a-not-a-real-button', GROUP);
    await reply(GROUP, /not one of yours, or it no longer exists/, 'an unknown button');
  });

  it('doctor reports group privacy mode on this platform, and accounts without a webhook URL', async () => {
    fake.type(ana, '/recon doctor');
    const report = await reply(ana.id, /thing\(s\) to look at/, 'the doctor report');
    expect(report).to.include('group privacy mode is on, so in groups write /recon@reconbanker_test_bot');
    expect(report).to.include('"Main" has no webhook_url');
    expect(report).not.to.include('not registered');
  });

  it('doctor names a webhook left set without the secrets its URL may carry (the report goes to chat)', async () => {
    fake.failNext('getWebhookInfo', 200, { ok: true, result: { url: `https://bots.example.com/tg/bot${TOKEN}/hook?secret=Hook-Query-Secret`, has_custom_certificate: false, pending_update_count: 0 } });
    const findings = (await adapter.doctor!()).join('\n');
    expect(findings).to.include('a webhook is set (https://bots.example.com/tg/…/hook)');
    expect(findings).not.to.include(TOKEN.split(':')[1]!);
    expect(findings).not.to.include('Hook-Query-Secret');
  });

  it('honours 429 retry_after: the message waits, then is delivered', async () => {
    fake.failNext('sendMessage', 429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    const started = Date.now();
    await adapter.send(`telegram:${GROUP}`, { text: 'after the limit' });
    expect(Date.now() - started).to.be.at.least(900);
    const attempts = fake.calls.filter((c) => c.method === 'sendMessage' && c.params.text === 'after the limit');
    expect(attempts).to.have.length(2);
  });

  it('renders HTML with bank strings escaped, and splits long messages instead of cutting them', async () => {
    await adapter.send(`telegram:${GROUP}`, { text: 'Payment from <b>Evil & Co</b>', fields: [{ label: 'Sender', value: '<script>' }] });
    const sent = fake.calls.filter((c) => c.method === 'sendMessage').at(-1)!;
    expect(sent.params).to.deep.include({ parse_mode: 'HTML', text: 'Payment from &lt;b&gt;Evil &amp; Co&lt;/b&gt;\n<b>Sender</b>: &lt;script&gt;' });
    const long = Array.from({ length: 500 }, (_, i) => `line ${i} — ${'x'.repeat(20)}`).join('\n');
    const pieces = splitForTelegram(renderHtml({ text: long }));
    expect(pieces.length).to.be.greaterThan(1);
    expect(pieces.every((p) => p.length <= 4096)).to.equal(true);
    expect(pieces.join('\n')).to.equal(long);
  });

  it('a refused photo costs the image, not the text: the notice goes first, the photo after it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-telegram-shot-'));
    const png = path.join(dir, 'shot.png');
    writeFileSync(png, Buffer.alloc(2048, 5));
    fake.failNext('sendPhoto', 400, { ok: false, error_code: 400, description: 'Bad Request: IMAGE_PROCESS_FAILED' });
    const ref = await adapter.send(`telegram:${GROUP}`, { text: 'Bank session of "Main" failed (refused photo)', image: { path: png, alt: 'The bank page' } });
    expect(ref).to.match(new RegExp(`^telegram:${GROUP}#\\d+$`));
    expect(fake.sentTo(GROUP)).to.include('Bank session of "Main" failed (refused photo)');
    await eventually(() => /could not attach a screenshot to a Telegram message/.test(capture.text()), 10_000, 'the refused photo logged');
    // Accepted, the photo follows its text.
    await adapter.send(`telegram:${GROUP}`, { text: 'Bank session of "Main" failed (accepted photo)', image: { path: png, alt: 'The bank page' } });
    const photo = await eventually(() => { const i = fake.calls.findIndex((c) => c.method === 'sendPhoto' && c.params.caption === 'The bank page' && fake.calls.indexOf(c) > fake.calls.findIndex((t) => t.params.text === 'Bank session of "Main" failed (accepted photo)')); return i >= 0 ? i : undefined; }, 10_000, 'the photo');
    const text = fake.calls.findIndex((c) => c.params.text === 'Bank session of "Main" failed (accepted photo)');
    expect(text).to.be.below(photo);
  });

  it('a screenshot over Telegram\'s photo limit: the text goes alone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-telegram-big-'));
    const big = path.join(dir, 'big.png');
    writeFileSync(big, '');
    truncateSync(big, 10 * 1024 * 1024 + 1);
    const photos = fake.calls.filter((c) => c.method === 'sendPhoto').length;
    await adapter.send(`telegram:${GROUP}`, { text: 'Bank session failed (big screenshot)', image: { path: big, alt: 'big' } });
    expect(fake.sentTo(GROUP)).to.include('Bank session failed (big screenshot)');
    await eventually(() => /over Telegram's photo limit/.test(capture.text()), 10_000, 'the skip logged');
    expect(fake.calls.filter((c) => c.method === 'sendPhoto').length).to.equal(photos);
  });

  it('a cut upload connection: retried a bounded number of times and the give-up logged; the person\'s next command is answered meanwhile', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-telegram-cut-'));
    const png = path.join(dir, 'shot.png');
    writeFileSync(png, Buffer.alloc(2048, 6));
    fake.cut.add('sendPhoto');
    try {
      const before = fake.calls.filter((c) => c.method === 'sendPhoto').length;
      await adapter.send(`telegram:${ana.id}`, { text: 'Bank session of "Main" failed (cut upload)', image: { path: png, alt: 'cut' } });
      expect(fake.sentTo(ana.id)).to.include('Bank session of "Main" failed (cut upload)');
      fake.type(ana, '/recon whoami');
      await reply(ana.id, /^You are /, 'the next command answered');
      expect(capture.text(), 'answered before the upload was given up').not.to.match(/"call":"Telegram sendPhoto"/);
      await eventually(() => capture.lines.find((l) => l.includes('gave up sending a chat message') && l.includes('"call":"Telegram sendPhoto"')), 30_000, 'the give-up logged');
      expect(fake.calls.filter((c) => c.method === 'sendPhoto').length - before).to.equal(3);
    } finally {
      fake.cut.delete('sendPhoto');
    }
  });

  it('starts with getMe alone: a refused setMyCommands is logged and tried again later; doctor still answers', async () => {
    const log = capturingLogger();
    fake.failNext('setMyCommands', 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    const registered = fake.calls.filter((c) => c.method === 'setMyCommands').length;
    const hooked = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'webhook', webhook: { port: 0, path: '/telegram', secretToken: 'right-secret' }, commandsRetryMs: 200, log: log.log });
    await hooked.start({ onCommand: async () => ({ text: 'ok' }) });
    try {
      await eventually(() => fake.calls.filter((c) => c.method === 'setMyCommands').length >= registered + 2, 10_000, 'registered on the second try');
      expect(log.text()).to.include('could not register the Telegram command menu');
      fake.failNext('getMyCommands', 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
      fake.failNext('getWebhookInfo', 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
      const findings = await hooked.doctor!();
      expect(findings.join('\n')).to.include('could not be read (getMyCommands failed)').and.include('webhook status could not be read');
    } finally {
      await hooked.stop();
    }
  });

  it('a person who never pressed Start is a typed "not reachable", not a crash', async () => {
    fake.blocked.add('7777');
    try {
      await adapter.send('telegram:7777', { text: 'hello' });
      expect.fail('sent to a blocked person');
    } catch (error) {
      expect(error).to.be.instanceOf(NotReachableError);
      expect((error as NotReachableError).reason).to.match(/press Start/);
    }
  });

  it('webhook mode: a wrong secret token gets 401, the right one is processed once (redelivery ignored)', async () => {
    const hooked = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'webhook', webhook: { port: 0, path: '/telegram', secretToken: 'right-secret' }, log: capture.log });
    const seen: string[] = [];
    await hooked.start({ onCommand: async (event) => (seen.push(event.text), { text: 'ok' }) });
    try {
      const url = hooked.webhookUrl()!;
      const update = fake.updateFor(ana, '/recon whoami');
      const post = (secret: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body: JSON.stringify(update) });
      expect((await post('wrong-secret')).status).to.equal(401);
      expect((await post('right-secret')).status).to.equal(200);
      expect((await post('right-secret')).status).to.equal(200);
      await eventually(() => seen.length === 1, 5_000, 'the command');
      expect(seen).to.deep.equal(['whoami']);
    } finally {
      await hooked.stop();
    }
  });

  it('an update redelivered to the next process after a restart is handled once (ids kept in the database)', async () => {
    const seen: string[] = [];
    const verdicts: boolean[] = [];
    const firstTime = async (key: string) => {
      const verdict = await services.inbound.firstTime(key);
      verdicts.push(verdict);
      return verdict;
    };
    const update = fake.updateFor(ana, '/recon whoami');
    const deliver = async () => {
      // A fresh adapter each time: the process that handled it is gone, only the database remains.
      const hooked = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'webhook', webhook: { port: 0, path: '/telegram', secretToken: 'right-secret' }, log: capture.log });
      await hooked.start({ onCommand: async (event) => (seen.push(event.text), { text: 'ok' }), firstTime });
      try {
        const res = await fetch(hooked.webhookUrl()!, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'right-secret' }, body: JSON.stringify(update) });
        expect(res.status).to.equal(200);
      } finally {
        await hooked.stop();
      }
    };
    await deliver();
    await eventually(() => seen.length === 1, 5_000, 'the first delivery handled');
    await deliver();
    // The command runs right after its verdict: once both verdicts are in, a second run would be on record.
    await eventually(() => verdicts.length === 2, 5_000, 'the redelivery checked');
    expect(verdicts).to.deep.equal([true, false]);
    expect(seen).to.deep.equal(['whoami']);
    const stored = await test.db.models.InboundEvent.countDocuments({ _id: new RegExp(`:${update.update_id}$`) });
    expect(stored).to.equal(1);
  });
});
