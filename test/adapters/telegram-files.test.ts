import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { commandInCaption, createTelegramAdapter, type TelegramAdapter } from '../../adapters/telegram/telegram-adapter.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeTelegram } from '../helpers/fake-telegram.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'statements', 'fixtures');
const TOKEN = '123456:TEST-files-token-for-the-fake';
const ana = { id: 2001, first_name: 'Ana' };
const GROUP = -6006;
const MAX_BYTES = 64 * 1024;

describe('Telegram adapter: statement files sent as documents (real grammY against a fake Bot API)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('telegramfiles');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeTelegram>>;
  let adapter: TelegramAdapter;
  let services: Services;
  const camt08 = readFileSync(path.join(fixtures, 'camt053_v08.xml'));
  const camt02 = readFileSync(path.join(fixtures, 'camt053_v02.xml'));

  before(async () => {
    fake = await startFakeTelegram(TOKEN);
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message), statementSettings: { maxBytes: MAX_BYTES } });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'polling', retry: { attempts: 2, totalMs: 5_000, baseDelayMs: 500, attemptTimeoutMs: 5_000 }, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter) });
    fake.type(ana, '/recon setup ACME');
    await reply(ana.id, /Created "ACME"/, 'setup');
    fake.type(ana, '/recon account add "Acme EUR" statement');
    await reply(ana.id, /Account "Acme EUR" added/, 'the statement account');
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  const reply = (chatId: number, pattern: RegExp, what: string) => eventually(() => fake.sentTo(chatId).find((text) => pattern.test(text)), 15_000, what);
  const getFiles = () => fake.calls.filter((c) => c.method === 'getFile').length;

  it('reads a command from a caption: /recon and /recon@<this bot>, never another bot\'s', () => {
    expect(commandInCaption('/recon statement import "Acme EUR"', 'rb_bot')).to.equal('statement import "Acme EUR"');
    expect(commandInCaption('  /Recon@RB_bot statement preview Main ', 'rb_bot')).to.equal('statement preview Main');
    expect(commandInCaption('/recon', 'rb_bot')).to.equal('');
    expect(commandInCaption('/recon@other_bot statement import Main', 'rb_bot')).to.equal(undefined);
    expect(commandInCaption('/reconcile Main', 'rb_bot')).to.equal(undefined);
    expect(commandInCaption('the statement for March', 'rb_bot')).to.equal(undefined);
  });

  it('a document captioned /recon statement import <account> in a DM is fetched (getFile, then its file URL) and imported', async () => {
    fake.sendDocument(ana, { name: 'camt053_v08.xml', bytes: camt08, caption: '/recon statement import "Acme EUR"' });
    await reply(ana.id, /^Statement camt053_v08\.xml imported into "Acme EUR" \(camt, utf-8\): 5 entries read, 5 credits stored, 0 duplicates skipped/, 'the summary');
    expect(fake.downloads).to.have.length(1);
    expect(fake.downloads[0]!.complete, 'read to its end').to.equal(true);
    expect(fake.sentTo(ana.id)).to.include('Reading camt053_v08.xml…');
  });

  it('in a group, /recon@<bot> statement preview shows how the file would be read and stores nothing', async () => {
    fake.sendDocument(ana, { name: 'v02.xml', bytes: camt02, caption: '/recon@reconbanker_test_bot statement preview "Acme EUR"' }, GROUP);
    const preview = await reply(GROUP, /^Preview of a statement for "Acme EUR" \(camt, utf-8\)/, 'the preview');
    expect(preview).to.include('Nothing was stored');
    const account = await test.db.models.Account.findOne({ name: 'Acme EUR' }).lean();
    expect(await test.db.models.BankTransaction.countDocuments({ accountId: account!._id })).to.equal(5);
  });

  it('a document alone in a DM goes to the only statement account', async () => {
    fake.sendDocument(ana, { name: 'batch.xml', bytes: camt02 });
    await reply(ana.id, /^Statement batch\.xml imported into "Acme EUR" \(camt, utf-8\): 6 entries read, 3 credits stored/, 'imported without a caption');
  });

  it('with two statement accounts, a document alone is answered with the usage and its accounts, and is not fetched', async () => {
    fake.type(ana, '/recon account add Other statement');
    await reply(ana.id, /Account "Other" added/, 'a second statement account');
    const before = getFiles();
    fake.sendDocument(ana, { name: 'which.xml', bytes: camt02 });
    const answer = await reply(ana.id, /^Which account is this statement for\?/, 'the usage');
    expect(answer).to.equal('Which account is this statement for? Your statement accounts: "Acme EUR", Other. Send the file again, naming one: send it as a document (a file, not a photo) with the caption /recon statement import &lt;account&gt;; in your private chat with the bot, a document alone goes to your only statement account.');
    expect(getFiles()).to.equal(before);
  });

  it('a document for an account that is not there is refused before it is fetched', async () => {
    const before = getFiles();
    fake.sendDocument(ana, { name: 'nowhere.xml', bytes: camt02, caption: '/recon statement import Nowhere' });
    await reply(ana.id, /^No account named "Nowhere"\. List them with: account list$/, 'the refusal');
    expect(getFiles()).to.equal(before);
  });

  it('the command without a document is answered with how to send one', async () => {
    fake.type(ana, '/recon statement import "Acme EUR"');
    await reply(ana.id, /^Send the statement file with the command: send it as a document \(a file, not a photo\) with the caption \/recon statement import/, 'the usage');
  });

  it('a document larger than the limit is refused on its declared size, before getFile or any download', async () => {
    const before = { getFiles: getFiles(), downloads: fake.downloads.length };
    fake.sendDocument(ana, { name: 'huge.xml', bytes: Buffer.alloc(MAX_BYTES + 1, 0x20), caption: '/recon statement import "Acme EUR"' });
    await reply(ana.id, /^huge\.xml is larger than 64 KB; split it or drop it in the watched folder\.$/, 'the refusal');
    expect(getFiles()).to.equal(before.getFiles);
    expect(fake.downloads.length).to.equal(before.downloads);
  });

  it('a document whose size is not declared is cut off at the limit: refused, never read whole', async () => {
    const bytes = Buffer.alloc(8 * 1024 * 1024, 0x20);
    fake.sendDocument(ana, { name: 'unsized.xml', bytes, caption: '/recon statement import "Acme EUR"', declaredSize: null });
    await reply(ana.id, /^unsized\.xml is larger than 64 KB; split it or drop it in the watched folder\.$/, 'the refusal');
    const download = fake.downloads.at(-1)!;
    expect(download.path).to.match(/^documents\//);
    await eventually(() => download.complete === false && fake.downloads.at(-1) === download, 5_000, 'the download record');
    expect(download.sent, 'the fake stopped sending when the reader left').to.be.below(bytes.length);
  });

  it('a refusal from getFile is one sentence; the bot token is in no log line and no answer', async () => {
    fake.failNext('getFile', 400, { ok: false, error_code: 400, description: 'Bad Request: wrong file_id or the file is temporarily unavailable' });
    fake.sendDocument(ana, { name: 'gone.xml', bytes: camt02, caption: '/recon statement import Other' });
    await reply(ana.id, /^Telegram would not hand over gone\.xml \(Bad Request: wrong file_id or the file is temporarily unavailable\); send it again\.$/, 'the refusal');
    const said = JSON.stringify(fake.calls.filter((c) => c.method === 'sendMessage'));
    for (const where of [capture.text(), said]) {
      expect(where).not.to.include(TOKEN);
      expect(where).not.to.include('TEST-files-token');
    }
    // The file names people sent are theirs: no log line carries one.
    for (const name of ['camt053_v08.xml', 'batch.xml', 'huge.xml', 'unsized.xml', 'gone.xml']) expect(capture.text()).not.to.include(name);
  });
});
