import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import type { Services } from '../../src/services.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { bufferSource } from '../../src/statements/text.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { manualClock } from '../helpers/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { buildServices, reconcilingShop, type SentMessage } from '../helpers/services.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const file = (name: string) => bufferSource(readFileSync(path.join(fixtures, name)), name);

describe('statement imports: store once, match, report (real database and endpoint)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('statements');
  const clock = manualClock(new Date('2026-12-02T09:00:00Z'));
  const sent: SentMessage[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-statement-folders-'));
  let orders: { external_id: string; amount: string; currency: string; name: string }[] = [];
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let services: Services;
  let userId = '';

  before(async () => {
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
    services = buildServices(test.db, { clock, sent, statementSettings: { dir } });
    userId = await reconcilingShop(services);
  });

  after(async () => {
    await endpoint?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function statementAccount(name: string, settings: Record<string, unknown> = {}): Promise<string> {
    const created = await services.accounts.create(userId, { name, bank: 'statement' });
    await services.accounts.configure(userId, created.id, { pending_orders_endpoint: `${endpoint.url}/orders`, ...settings });
    return created.id;
  }

  async function status(accountId: string, externalId: string): Promise<ConciliationRequestDoc['status']> {
    const doc = await test.db.models.ConciliationRequest.findOne({ accountId, externalId }).lean<ConciliationRequestDoc>();
    return doc?.status as ConciliationRequestDoc['status'];
  }

  it('intraday camt.052, then the day\'s camt.053, then a camt.054 and the same file again: each movement once, matches as they arrive', async () => {
    const id = await statementAccount('Acme EUR');
    orders = [
      { external_id: 'O-2001', amount: '610.00', currency: 'EUR', name: 'Soren Kierkegaard ApS' },
      { external_id: 'O-2002', amount: '92.50', currency: 'EUR', name: 'John Smith' },
      { external_id: 'O-2003', amount: '75.00', currency: 'EUR', name: 'Lukasz Wrobel' },
      { external_id: 'O-2004', amount: '49.99', currency: 'EUR', name: 'Ana Lucia Gomez' },
    ];
    await services.reconcile.poller.pollAccount(id);
    expect(await status(id, 'O-2001')).to.equal('not_found');

    const intraday = await services.statements.importer.importFile({ userId, account: 'Acme EUR', source: file('camt052_v04.xml'), fileName: 'camt052_v04.xml', via: 'chat' });
    expect(intraday).to.deep.include({ format: 'camt', entriesRead: 4, creditsStored: 3, duplicatesSkipped: 0, debitsIgnored: 0, pendingKeptApart: 1, refusedCount: 0, importedBefore: null });
    expect(intraday.matches).to.deep.equal([
      { externalId: 'O-2001', status: 'matched' },
      { externalId: 'O-2002', status: 'matched' },
    ]);
    expect(await status(id, 'O-2003'), 'a pending entry is not matched before it is booked').to.equal('not_found');

    const daily = await services.statements.importer.importFile({ userId, account: id, source: file('camt053_v08.xml'), fileName: 'camt053_v08.xml', via: 'api' });
    expect(daily).to.deep.include({ entriesRead: 5, creditsStored: 3, duplicatesSkipped: 2, pendingKeptApart: 0 });
    expect(daily.matches).to.deep.equal([
      { externalId: 'O-2003', status: 'matched' },
      { externalId: 'O-2004', status: 'matched' },
    ]);

    const notification = await services.statements.importer.importFile({ userId, account: id, source: file('camt054_v08.xml'), fileName: 'camt054_v08.xml', via: 'chat' });
    expect(notification).to.deep.include({ entriesRead: 1, creditsStored: 0, duplicatesSkipped: 1 });
    const again = await services.statements.importer.importFile({ userId, account: id, source: file('camt053_v08.xml'), fileName: 'camt053_v08.xml', via: 'chat' });
    expect(again).to.deep.include({ creditsStored: 0, duplicatesSkipped: 5 });
    expect(again.importedBefore).to.be.instanceOf(Date);

    expect(await test.db.models.BankTransaction.countDocuments({ accountId: id })).to.equal(6);
    const events = await services.reconcile.outbox.list(id);
    expect(events.map((e) => `${e.type} ${String(e.data.external_id)}`).sort()).to.deep.equal(['conciliation.matched O-2001', 'conciliation.matched O-2002', 'conciliation.matched O-2003', 'conciliation.matched O-2004']);
    const stored = await test.db.models.BankTransaction.findOne({ accountId: id, senderName: 'Ana Lucía Gómez' }).lean();
    expect(stored).to.deep.include({ amountMinor: 4999, currency: 'EUR', bankReference: 'acctsvcr:TX-88001', fingerprint: 'stmt:acctsvcr:TX-88001' });
    expect(stored?.description).to.equal('RF18539007547034');
  });

  it('the same movements in a batch stay two; a file refused whole stores nothing and says why in one sentence', async () => {
    const id = await statementAccount('Batch', { statement_format: 'camt' });
    const summary = await services.statements.importer.importFile({ userId, account: id, source: file('camt053_v02.xml'), fileName: 'camt053_v02.xml', via: 'chat' });
    expect(summary).to.deep.include({ entriesRead: 6, creditsStored: 3, debitsIgnored: 1, reversalsIgnored: 1, refusedCount: 1 });
    expect(summary.refused).to.deep.equal([{ where: 'Ntry 5', reason: 'its 2 transaction(s) add up to 90.00 EUR, the entry says 100.00' }]);
    const before = await test.db.models.BankTransaction.countDocuments({ accountId: id });
    let message = '';
    try {
      await services.statements.importer.importFile({ userId, account: id, source: file('mt940_slash.sta'), fileName: '../../etc/mt940 slash.sta', via: 'chat' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.equal('mt940_slash.sta: The file looks like MT940/MT942, but this account reads camt (ISO 20022) files; set its format to auto or mt940.');
    expect(await test.db.models.BankTransaction.countDocuments({ accountId: id })).to.equal(before);
    const record = await test.db.models.StatementImport.findOne({ accountId: id, status: 'refused' }).lean();
    expect(record).to.deep.include({ fileName: 'mt940_slash.sta', via: 'chat' });
  });

  it('a file of another bank account than statement_account is refused; a portal account takes no files', async () => {
    await statementAccount('Pinned', { statement_account: 'NL69 INGB 0123 4567 89' });
    let refused = '';
    await services.statements.importer.importFile({ userId, account: 'Pinned', source: file('camt053_v08.xml'), via: 'chat' }).catch((e: Error) => (refused = e.message));
    expect(refused).to.equal('The file is a statement of account DE02120300000000202051, not of NL69INGB0123456789 (this account\'s statement_account).');
    await services.accounts.create(userId, { name: 'Portal', bank: 'sandbox' });
    let portal = '';
    await services.statements.importer.importFile({ userId, account: 'Portal', source: file('camt053_v08.xml'), via: 'chat' }).catch((e: Error) => (portal = e.message));
    expect(portal).to.equal('"Portal" reads its bank by logging in (bank sandbox); statement files go to accounts of the bank "statement".');
  });

  it('a CSV account with a preset; passthrough sends one movement event per new credit with a payer', async () => {
    await services.users.setOperationMode(userId, 'passthrough');
    try {
      const id = await statementAccount('Csv', { csv_preset: 'de-bank', csv_mapping: { skip_lines: 4 }, webhook_url: 'https://example.com/hook' });
      const summary = await services.statements.importer.importFile({ userId, account: id, source: file('csv_de_skip_cp1252.csv'), via: 'chat' });
      expect(summary).to.deep.include({ format: 'csv', encoding: 'windows-1252', creditsStored: 2, debitsIgnored: 1 });
      const events = await services.reconcile.outbox.list(id);
      expect(events.map((e) => `${e.type} ${String(e.data.name)} ${String(e.data.amount_minor)}`).sort()).to.deep.equal(['bank.movement Jörg Weiß 123456', 'bank.movement Åsa Öberg 1250']);
    } finally {
      await services.users.setOperationMode(userId, 'reconcile');
    }
  });

  it('watched folder: a file is taken once it stops changing, moved to done/; a refused one to failed/ with the reason beside it; partial uploads are left alone', async () => {
    const id = await statementAccount('Folder');
    const folder = path.join(dir, 'Folder');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'day.xml'), readFileSync(path.join(fixtures, 'camt053_v08.xml')));
    writeFileSync(path.join(folder, 'broken.sta'), 'not a statement at all');
    writeFileSync(path.join(folder, 'upload.xml.part'), 'half');
    expect(await services.statements.scanFolders(), 'the first scan only notes the files').to.deep.equal([]);
    const outcomes = (await services.statements.scanFolders()) as { file: string; summary?: { creditsStored: number }; refused?: string }[];
    expect(outcomes.map((o) => o.file).sort()).to.deep.equal(['broken.sta', 'day.xml']);
    expect(outcomes.find((o) => o.file === 'day.xml')?.summary?.creditsStored).to.equal(5);
    expect(readdirSync(folder).sort()).to.deep.equal(['done', 'failed', 'processing', 'upload.xml.part']);
    expect(readdirSync(path.join(folder, 'done'))).to.have.length(1);
    const failed = readdirSync(path.join(folder, 'failed')).sort();
    expect(failed).to.have.length(2);
    expect(readFileSync(path.join(folder, 'failed', failed[1] as string), 'utf8')).to.match(/^broken\.sta: The file is not a statement this service can read/);
    expect(await test.db.models.BankTransaction.countDocuments({ accountId: id })).to.equal(5);
    expect(sent.some((s) => s.ref === 'console:local' && /^Statement day\.xml imported into "Folder" \(camt, utf-8\): 5 entries read, 5 credits stored/.test(s.message.text))).to.equal(true);
    expect(sent.some((s) => /refused and moved to Folder\/failed\//.test(s.message.text))).to.equal(true);
    expect(await services.statements.scanFolders(), 'nothing is read twice').to.deep.equal([]);
  });

  it('chat: statement import with an attached file; a file path is refused outside the console; presets listed', async () => {
    await statementAccount('Chat');
    const router = createCommandRouter({ commands: allCommands(), services, log: (await import('pino')).pino({ level: 'silent' }) });
    const forms = scriptedForms([]);
    const slack = identity('U1');
    const owner = await services.users.findMember({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' });
    const invite = await services.users.createInvite(owner!, 'operator');
    await router.handle(commandIn('dm', slack, `link ${invite.code}`), forms);
    const bytes = readFileSync(path.join(fixtures, 'mt940_de_cp1252.sta'));
    const attached = { ...commandIn('dm', slack, 'statement import Chat'), attachments: [{ name: 'umsatz.sta', size: bytes.length, download: async () => bytes }] };
    const reply = await router.handle(attached, forms);
    expect(reply.text).to.match(/^Statement umsatz\.sta imported into "Chat" \(MT940, windows-1252\): 7 entries read, 3 credits stored, 0 duplicates skipped, 1 debit ignored, 2 reversals ignored \(check them by hand\), 1 refused\./);
    expect(reply.text).to.contain('• line 23: the :61: line is not a statement line (date, C/D mark, amount)');
    const path_ = await router.handle(commandIn('dm', slack, `statement import Chat ${path.join(fixtures, 'camt053_v08.xml')}`), forms);
    expect(path_.text).to.equal('A file path works in the console only; here, send the statement file with the command.');
    const none = await router.handle(commandIn('dm', slack, 'statement import Chat'), forms);
    expect(none.text).to.match(/^Send the statement file with the command/);
    const presets = await router.handle(commandIn('dm', slack, 'statement presets'), forms);
    expect(presets.text).to.contain('de-bank — German online-banking export');
    const console_ = identity('op', 'console', 'local');
    const added = await router.handle(commandIn('dm', console_, 'account add Files statement'), forms);
    expect(added.text).to.contain('It reads bank statement files (camt, MT940, OFX, CSV): send one with /recon statement import "Files"');
    expect(forms.asked, 'no bank credentials are asked for a statement account').to.deep.equal([]);
    const scrape = await router.handle(commandIn('dm', console_, 'account scrape Files'), forms);
    expect(scrape.text).to.equal('"Files" reads statement files, not a bank portal: send one with /recon statement import "Files", or drop it in its watched folder.');
  });
});
