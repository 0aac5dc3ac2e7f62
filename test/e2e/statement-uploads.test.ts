import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { slackDriver, telegramDriver, type ChatDriver } from '../helpers/chat-drivers.js';
import { dumpDatabase, freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/**
 * Statement files as a way in, end to end: the real service process with one chat platform
 * (its real library against the platform's fake API, which serves the posted file), a real
 * pending-orders endpoint (reconcile mode) and a real webhook receiver that verifies every
 * delivery with the `standardwebhooks` package. On Telegram a camt.053 is posted in the DM,
 * then the same file is dropped into the account's watched folder, then posted again alone:
 * one import's worth of movements, the requests matched once, one signed webhook each. On
 * Slack a CSV is posted in a channel with "/recon statement import", then again in the DM:
 * the same. Payer names are ASCII or Latin-1 (folded by today's name matching).
 */

type Order = { external_id: string; amount: string; currency: string; name: string };
const today = new Date().toISOString().slice(0, 10);

/** A camt.053.001.08 of our own making: one booked entry per movement, each with its bank reference. */
function camt053(entries: { ref: string; amount: string; credit: boolean; payer: string; remittance: string }[]): Buffer {
  const ntry = entries.map(
    (e) => `
      <Ntry>
        <Amt Ccy="EUR">${e.amount}</Amt>
        <CdtDbtInd>${e.credit ? 'CRDT' : 'DBIT'}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>${today}</Dt></BookgDt>
        <ValDt><Dt>${today}</Dt></ValDt>
        <AcctSvcrRef>${e.ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>${e.ref}-1</AcctSvcrRef></Refs>
          <RltdPties>${e.credit ? `<Dbtr><Pty><Nm>${e.payer}</Nm></Pty></Dbtr>` : `<Cdtr><Pty><Nm>${e.payer}</Nm></Pty></Cdtr>`}</RltdPties>
          <RmtInf><Ustrd>${e.remittance}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>`,
  );
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>E2E-${today}</MsgId><CreDtTm>${today}T23:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>E2E-STMT-1</Id>
      <CreDtTm>${today}T23:00:00</CreDtTm>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>${ntry.join('')}
    </Stmt>
  </BkToCstmrStmt>
</Document>
`);
}

describe('statement files through chat and the watched folder (process, fake platform API, real endpoint and receiver)', function () {
  this.timeout(120_000);
  let orders: Order[] = [];
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let driver: ChatDriver | undefined;
  let service: ServiceProcess | undefined;
  let db: Database | undefined;

  before(async () => {
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
  });

  afterEach(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await driver?.close();
    await receiver?.close();
    await db?.close();
    service = undefined;
    driver = undefined;
    db = undefined;
  });

  after(async () => {
    await endpoint?.close();
  });

  /** The service on this platform, with its watched folders in a temp dir scanned every second. */
  async function start(label: string, made: ChatDriver): Promise<{ databaseUri: string; statementsDir: string }> {
    driver = made;
    receiver = await startReceiver();
    const databaseUri = freshDatabaseUri(`stmt${label}`);
    const statementsDir = mkdtempSync(path.join(tmpdir(), `rb-statements-${label}-`));
    service = startServiceProcess({
      MONGODB_URI: databaseUri,
      SECRET_KEYS: `ci:${Buffer.alloc(32, 5).toString('base64')}`,
      SANDBOX_BANK: 'off',
      CHAT_CONSOLE: 'off',
      ALLOW_PRIVATE_URLS: 'true',
      JOB_POLL_MS: '200',
      SCRAPE_TICK_SECONDS: '3600',
      POLL_INTERVAL_MINUTES: '600',
      STATEMENTS_DIR: statementsDir,
      STATEMENT_SCAN_SECONDS: '1',
      SHUTDOWN_TIMEOUT_MS: '2000',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), `rb-stmt-data-${label}-`)),
      ...made.env(),
    });
    await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
    await made.connected(service);
    db = await connectDatabase({ uri: databaseUri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
    return { databaseUri, statementsDir };
  }

  const said = (pattern: RegExp, what: string, from = 0) => eventually(() => driver!.seen('ana').slice(from).find((text) => pattern.test(text)), 30_000, what);

  /** Sets up the tenant in reconcile mode and a statement account; resolves to its signing secret. */
  async function statementAccount(name: string, settings: string): Promise<string> {
    await driver!.command('ana', 'setup ACME', 'dm');
    await said(/Created "ACME" with you as owner/, 'setup');
    await driver!.command('ana', 'mode reconcile', 'dm');
    await said(/reconcile/, 'the mode');
    await driver!.command('ana', `account add "${name}" statement`, 'dm');
    const added = await said(new RegExp(`Account "${name}" added \\(bank statement\\)`), 'the account');
    const secret = /Webhook signing secret \(shown once[^\n]*\n(\S+)/.exec(added)?.[1];
    expect(secret, 'the signing secret, shown once in the DM').to.be.a('string');
    await driver!.command('ana', `account set "${name}" pending_orders_endpoint=${endpoint.url}/pending webhook_url=${receiver.url}/hook ${settings}`.trim(), 'dm');
    await said(new RegExp(`Updated "${name}"`), 'the settings');
    await driver!.command('ana', `account poll "${name}"`, 'dm');
    await said(/Polled .*: 2 order\(s\) listed, 2 new, .*matching: 0 matched, 0 ambiguous, 2 not found/, 'the requests registered, nothing to match yet');
    return secret!;
  }

  /** What the database holds for the account: its movements, its events, its requests. */
  async function state(name: string) {
    const account = await db!.models.Account.findOne({ name }).lean();
    const accountId = account!._id;
    const requests = await db!.models.ConciliationRequest.find({ accountId }).sort({ externalId: 1 }).lean();
    return {
      movements: await db!.models.BankTransaction.countDocuments({ accountId }),
      events: (await db!.models.OutboxEvent.find({ accountId }).lean()).map((e) => `${String(e.type)}:${String((e.data as { external_id?: string }).external_id)}`).sort(),
      requests: requests.map((r) => `${r.externalId}:${r.status}`),
    };
  }

  /** Every delivery verifies with the signing secret; resolves to what they said (status, order, amount), distinct. */
  async function verifiedDeliveries(secret: string, expected: string[]): Promise<string[]> {
    const received = await eventually(() => {
      const seen = [...new Set(receiver.received.map((r) => r.id))];
      return seen.length >= expected.length ? receiver.received : undefined;
    }, 30_000, `${expected.length} webhooks delivered`);
    const kinds = new Set<string>();
    for (const delivery of received) {
      const payload = receiver.verify(delivery, secret) as { external_id: string; status: string; amount: number; currency: string };
      kinds.add(`${payload.status}:${payload.external_id}:${payload.amount} ${payload.currency}`);
    }
    return [...kinds].sort();
  }

  async function stopAndCheckSecrets(databaseUri: string, secrets: string[]): Promise<void> {
    service!.child.kill('SIGTERM');
    expect((await service!.exited).code, 'a clean shutdown').to.equal(0);
    const stored = [service!.stdout(), service!.stderr(), await dumpDatabase(databaseUri)].join('\n');
    for (const secret of secrets) {
      const at = stored.indexOf(secret);
      expect(at, `a secret (${secret.slice(0, 6)}…) leaked: ${stored.slice(Math.max(0, at - 200), at)}`).to.equal(-1);
    }
  }

  it('Telegram: a camt.053 in the DM, the same file in the watched folder, then alone in the DM: one set of movements, matched once, signed webhooks', async () => {
    const { databaseUri, statementsDir } = await start('telegram', await telegramDriver('polling'));
    orders = [
      { external_id: 'INV-501', amount: '1250.00', currency: 'EUR', name: 'José Pérez' },
      { external_id: 'INV-502', amount: '89.90', currency: 'EUR', name: 'Anna Schmidt' },
    ];
    const secret = await statementAccount('Acme EUR', '');
    const file = camt053([
      { ref: 'E2E-1', amount: '1250.00', credit: true, payer: 'Jose Perez', remittance: 'Invoice 501' },
      { ref: 'E2E-2', amount: '89.90', credit: true, payer: 'ANNA SCHMIDT', remittance: 'Order of March' },
      { ref: 'E2E-3', amount: '40.00', credit: false, payer: 'Office Supplies', remittance: 'Paper' },
    ]);

    await driver!.sendFile('ana', 'dm', 'statement import "Acme EUR"', { name: 'camt053.xml', bytes: file });
    await said(/^Statement camt053\.xml imported into "Acme EUR" \(camt, utf-8\): 3 entries read, 2 credits stored, 0 duplicates skipped, 1 debit ignored\.\nMatched: INV-501, INV-502\.$/, 'the import summary');
    expect(await verifiedDeliveries(secret, ['INV-501', 'INV-502'])).to.deep.equal(['matched:INV-501:1250 EUR', 'matched:INV-502:89.9 EUR']);
    const first = await state('Acme EUR');
    expect(first.movements).to.equal(2);
    expect(first.requests).to.deep.equal(['INV-501:matched', 'INV-502:matched']);

    // The bank's own delivery of the same statement, by SFTP into the watched folder.
    const folder = path.join(statementsDir, 'Acme EUR');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'camt053.xml.part'), file);
    renameSync(path.join(folder, 'camt053.xml.part'), path.join(folder, 'camt053.xml'));
    const mark = driver!.seen('ana').length;
    await said(/^Statement camt053\.xml imported into "Acme EUR" \(camt, utf-8\): 3 entries read, 0 credits stored, 2 duplicates skipped, 1 debit ignored\.\nThis same file was imported before \([^)]+\)\.\n\(from the watched folder Acme EUR\/\)$/, 'the folder import', mark);
    await eventually(() => readdirSync(path.join(folder, 'done')).some((name) => name.endsWith('-camt053.xml')), 10_000, 'the file moved to done/');

    // Posted again, alone: the only statement account takes it; nothing new.
    await driver!.sendFile('ana', 'dm', null, { name: 'camt053.xml', bytes: file });
    // (Ends there: the folder's notice of the same words goes on to name the folder.)
    await said(/^Statement camt053\.xml imported into "Acme EUR" \(camt, utf-8\): 3 entries read, 0 credits stored, 2 duplicates skipped, 1 debit ignored\.\nThis same file was imported before \([^)]+\)\.$/, 'the second chat import', mark);
    expect(await state('Acme EUR')).to.deep.equal(first);
    expect(first.events).to.deep.equal(['conciliation.matched:INV-501', 'conciliation.matched:INV-502']);
    expect(new Set(receiver.received.map((r) => r.id)).size, 'one webhook per event').to.equal(2);

    await stopAndCheckSecrets(databaseUri, [...Object.values(driver!.env()).filter((v) => /token/i.test(v)), secret]);
  });

  it('Slack: a CSV posted in a channel with "/recon statement import", then in the DM: matched once, signed webhooks, the second adds nothing', async () => {
    const { databaseUri } = await start('slack', await slackDriver('http'));
    orders = [
      { external_id: 'S-77', amount: '310.00', currency: 'USD', name: 'María García' },
      { external_id: 'S-78', amount: '1020.50', currency: 'USD', name: 'Peter Brown' },
    ];
    const secret = await statementAccount('Shop USD', 'csv_preset=generic');
    const csv = Buffer.from(['date,amount,currency,payer,reference,id', `${today},310.00,USD,Maria Garcia,Order S-77,BANK-1`, `${today},-45.00,USD,Cloud Hosting,invoice 12,BANK-2`, `${today},1020.50,USD,PETER BROWN,S-78,BANK-3`, ''].join('\n'));

    await driver!.sendFile('ana', 'channel', '/recon statement import "Shop USD"', { name: 'shop.csv', bytes: csv });
    await said(/^Statement shop\.csv imported into "Shop USD" \(CSV, utf-8\): 3 entries read, 2 credits stored, 0 duplicates skipped, 1 debit ignored\.\nMatched: S-77, S-78\.$/, 'the import summary');
    expect(await verifiedDeliveries(secret, ['S-77', 'S-78'])).to.deep.equal(['matched:S-77:310 USD', 'matched:S-78:1020.5 USD']);
    const first = await state('Shop USD');
    expect(first.movements).to.equal(2);
    expect(first.requests).to.deep.equal(['S-77:matched', 'S-78:matched']);

    await driver!.sendFile('ana', 'dm', 'statement import "Shop USD"', { name: 'shop.csv', bytes: csv });
    await said(/^Statement shop\.csv imported into "Shop USD" \(CSV, utf-8\): 3 entries read, 0 credits stored, 2 duplicates skipped, 1 debit ignored\.\nThis same file was imported before \([^)]+\)\.$/, 'the second import');
    expect(await state('Shop USD')).to.deep.equal(first);
    expect(first.events).to.deep.equal(['conciliation.matched:S-77', 'conciliation.matched:S-78']);
    expect(new Set(receiver.received.map((r) => r.id)).size, 'one webhook per event').to.equal(2);

    await stopAndCheckSecrets(databaseUri, [...Object.values(driver!.env()).filter((v) => /token|secret/i.test(v)), secret]);
  });
});
