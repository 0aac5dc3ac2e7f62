import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { createSandboxBank, type SandboxBank, type SandboxMovementInput } from '../../src/banks/sandbox/bank-server.js';
import { sandboxDriverFor } from '../../src/banks/sandbox/driver.js';
import { SessionFailure } from '../../src/domain/session-outcome.js';
import { MAX_READ_PASSES, readUntilStable } from '../../src/sessions/stable-read.js';
import { createTransactionRepository, type StoredTransaction } from '../../src/store/transaction-repository.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
import { CHROMIUM_PATH } from '../helpers/services.js';

function isoMinutesAgo(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** What identifies a bank movement for a person: two stored rows with the same key are one movement stored twice. */
function keyOf(t: StoredTransaction): string {
  return [t.receivedAt.toISOString(), t.amountMinor, t.currency, t.senderName, t.description].join('|');
}

/** `count` distinct movements, one every `everyMinutes` back from an hour ago (within the default look-back). */
function movements(count: number, tag: string, everyMinutes = 20): SandboxMovementInput[] {
  return Array.from({ length: count }, (_, i) => ({ at: isoMinutesAgo(60 + i * everyMinutes), amount: `${1000 + i}.00`, sender: `Pagador ${tag} ${i}` }));
}

describe('exactly-once storage while movements arrive during a read (real Chromium on the sandbox bank)', function () {
  this.timeout(180_000);
  const test = useTestDatabase('exactlyonce');
  const f = useSandboxSessions(test, { persistentPollMs: 300, monitorTickMs: 200 });

  async function stored(id: string): Promise<StoredTransaction[]> {
    return f.services.sessions.transactions.recent(id, { limit: 1_000, offset: 0 });
  }

  async function expectEachOnce(id: string, expected: number): Promise<StoredTransaction[]> {
    const rows = await stored(id);
    const keys = rows.map(keyOf);
    expect(keys.length - new Set(keys).size, 'movements stored twice').to.equal(0);
    expect(rows).to.have.length(expected);
    return rows;
  }

  const failureOf = async (name: string) => JSON.stringify(await f.services.sessions.control.failures(f.userId, { account: name, limit: 1 }));

  it('a movement that arrives between page 1 and page 2 is stored once, and no row of the read is stored twice', async () => {
    const { id, username } = await f.account('Arrival');
    f.bank.addMovements(username, movements(30, 'A')); // pages of 25: two pages
    // Newest-first pages: the arrival pushes the last row of page 1 onto page 2.
    f.bank.injectAfterPage(username, { page: 1, movements: [{ at: isoMinutesAgo(1), amount: '77.00', sender: 'Llegada Nueva' }] });

    const first = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(first, await failureOf('Arrival')).to.deep.include({ status: 'ok', found: 31, inserted: 31, passes: 3 });
    const second = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(second, 'an unchanged list of two pages: two passes, nothing new').to.deep.include({ status: 'ok', inserted: 0, passes: 2 });

    const rows = await expectEachOnce(id, 31);
    expect(rows.filter((t) => t.senderName === 'Llegada Nueva')).to.have.length(1);
  });

  it('movements booked late (dated inside the list) after pages 1 and 2 of three are stored once each', async () => {
    const { id, username } = await f.account('BackDated');
    f.bank.addMovements(username, movements(60, 'B', 10));
    // Dated between rows already read: they shift every later page by one.
    f.bank.injectAfterPage(username, { page: 1, movements: [{ at: isoMinutesAgo(60 + 10 * 5 + 5), amount: '5.00', sender: 'Tarde Uno' }] });
    f.bank.injectAfterPage(username, { page: 2, movements: [{ at: isoMinutesAgo(60 + 10 * 30 + 5), amount: '6.00', sender: 'Tarde Dos' }, { at: isoMinutesAgo(2), amount: '7.00', sender: 'Nueva' }] });
    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result, await failureOf('BackDated')).to.deep.include({ status: 'ok', inserted: 63 });
    expect((await f.services.sessions.runner.runOneShot(id, 'manual')).status).to.equal('ok');
    await expectEachOnce(id, 63);
  });

  it('a list that keeps changing through every pass fails the read (transient, nothing stored); the next read stores each movement once', async () => {
    const { id, username } = await f.account('Busy');
    f.bank.addMovements(username, movements(30, 'C'));
    f.bank.injectAfterPage(username, { page: 1, movements: [{ at: isoMinutesAgo(1), amount: '1.00', sender: 'Otra' }], times: MAX_READ_PASSES });
    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result).to.deep.include({ status: 'failed', kind: 'read_unstable', fatal: false });
    expect(await f.services.sessions.transactions.count(id), 'nothing of a torn read is stored').to.equal(0);
    const status = await f.services.sessions.control.status(f.userId, 'Busy');
    expect(status.view.scrapeBlockedAt, 'not blocked: retried with back-off').to.equal(null);
    expect(status.scrape?.failures).to.equal(1);

    expect(await f.services.sessions.runner.runOneShot(id, 'manual')).to.deep.include({ status: 'ok', inserted: 30 + MAX_READ_PASSES });
    const rows = await stored(id);
    // The same transfer arrived once per pass: identical movements, kept apart by their occurrence counter.
    expect(rows.filter((t) => t.senderName === 'Otra')).to.have.length(MAX_READ_PASSES);
    const others = rows.filter((t) => t.senderName !== 'Otra').map(keyOf);
    expect(new Set(others).size).to.equal(30);
  });

  it('a persistent session stores a movement that arrives between its pages once', async () => {
    const { id, username } = await f.account('Watch', { settings: { session_type: 'persistent' } });
    f.bank.addMovements(username, movements(30, 'E'));
    f.bank.injectAfterPage(username, { page: 1, movements: [{ at: isoMinutesAgo(1), amount: '55.00', sender: 'Durante' }] });
    await f.services.sessions.monitors.tick();
    try {
      await eventually(async () => (await f.services.sessions.transactions.count(id)) >= 31, 30_000, 'the first reads');
      // Several more reads of the unchanged list: still each movement once.
      const reads = async () => (await test.db.models.SessionRun.findOne({ accountId: id }).lean())?.found ?? 0;
      await eventually(async () => (await reads()) === 31, 10_000, 'a later read');
      await expectEachOnce(id, 31);
    } finally {
      await f.services.accounts.setStatus(f.userId, id, 'inactive');
      await f.services.sessions.monitors.tick();
      await eventually(() => !f.services.sessions.monitors.running.includes(id), 20_000, 'the monitor to stop');
    }
  });

  it('movements stored before printed-time identities (by instant) still match: re-keyed once, none stored again, ids kept', async () => {
    const { id, username } = await f.account('Upgraded');
    const input = movements(5, 'F');
    input.push({ ...input[0]! }); // identical twins keep their two occurrences
    f.bank.addMovements(username, input);
    // What version 1.0.0 of the sandbox driver read and stored: instants at UTC−3, no printed time.
    const old = input.map((m) => ({ receivedAt: new Date(m.at), amountMinor: Math.round(Number(m.amount) * 100), currency: 'UYU', senderName: m.sender ?? null, description: 'Transferencia recibida', bankReference: null }));
    const before = await f.services.sessions.transactions.ingest(id, 'v1-run', old, false);
    expect(before).to.have.length(6);
    await test.db.models.BankTransaction.updateOne({ _id: before[0]!.id }, { $set: { usedBy: 'request-settled-before' } });
    expect(before.every((t) => t.printedAt === null)).to.equal(true);

    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result, await failureOf('Upgraded')).to.deep.include({ status: 'ok', found: 6, inserted: 0 });
    const after = await test.db.models.BankTransaction.find({ accountId: id }).lean();
    expect(after.map((d) => d._id).sort()).to.deep.equal(before.map((t) => t.id).sort());
    expect(after.every((d) => d.fingerprint.startsWith('p:') && typeof d.printedAt === 'string')).to.equal(true);
    expect(after.find((d) => d._id === before[0]!.id)?.usedBy).to.equal('request-settled-before');
    expect((await f.services.sessions.runner.runOneShot(id, 'manual')).status).to.equal('ok');
    expect(await f.services.sessions.transactions.count(id)).to.equal(6);
  });
});

describe('the page limit of a read (real Chromium on the sandbox bank, a driver that pages at most 3 times)', function () {
  this.timeout(90_000);
  const test = useTestDatabase('pagelimit');
  const f = useSandboxSessions(test, {}, { driver: sandboxDriverFor('America/Montevideo', { maxPages: 3 }) });

  it('a list of exactly the limit is read whole', async () => {
    const { id, username } = await f.account('Full');
    f.bank.addMovements(username, movements(75, 'G', 5));
    expect(await f.services.sessions.runner.runOneShot(id, 'manual')).to.deep.include({ status: 'ok', inserted: 75 });
  });

  it('a list longer than the limit fails the read (layout_changed, transient), never a silently shortened one', async () => {
    const { id, username } = await f.account('Huge');
    f.bank.addMovements(username, movements(76, 'H', 5));
    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result).to.deep.include({ status: 'failed', kind: 'layout_changed', fatal: false });
    const [failure] = await f.services.sessions.control.failures(f.userId, { account: 'Huge', limit: 1 });
    expect(failure).to.deep.include({ stage: 'read' });
    expect(failure?.message).to.match(/more than 3 pages of movements from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}; nothing was stored/);
    expect(await f.services.sessions.transactions.count(id)).to.equal(0);
  });
});

describe("bank time zones: a read across a daylight-saving change (real Chromium on a sandbox bank in Europe/Madrid)", function () {
  this.timeout(60_000);
  const test = useTestDatabase('dst');
  let bank: SandboxBank;
  let browser: Browser;

  before(async () => {
    bank = createSandboxBank({ config: { timeZone: 'Europe/Madrid' } });
    await bank.start();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await bank?.stop();
  });

  /** Logs into the sandbox with a driver for `timeZone` and reads 24–26 October 2026 (clocks went back on the 25th, 03:00 → 02:00). */
  async function read(timeZone: string) {
    const driver = sandboxDriverFor(timeZone);
    const page = await (await browser.newContext()).newPage();
    const otp = { request: async () => Promise.reject(new SessionFailure('otp_required', 'otp')), accepted: async () => undefined };
    await driver.login(page, { baseUrl: bank.url, credentials: { username: 'madrid', password: 'pw' }, otp, progress: () => undefined });
    const result = await readUntilStable(() => driver.readTransactions(page, { from: '2026-10-24', to: '2026-10-26' }, { baseUrl: bank.url }));
    await page.context().close();
    return { driver, transactions: result.transactions };
  }

  it('dates each movement by the rules of its day, and a change of zone rules stores nothing again', async () => {
    bank.addUser({ username: 'madrid', password: 'pw' });
    const same = { amount: '10.00', sender: 'Noche' };
    bank.addMovements('madrid', [
      { at: '2026-10-24T23:30:00Z', amount: '1.00', sender: 'Verano' }, // 01:30 CEST (UTC+2)
      { at: '2026-10-25T00:30:00Z', ...same }, // 02:30 CEST
      { at: '2026-10-25T01:30:00Z', ...same }, // 02:30 CET: printed the same as the one before
      { at: '2026-10-25T02:30:00Z', amount: '2.00', sender: 'Invierno' }, // 03:30 CET (UTC+1)
    ]);
    const { driver, transactions } = await read('Europe/Madrid');
    const summary = transactions.map((t) => [t.printedAt, t.receivedAt.toISOString(), t.senderName]).sort();
    expect(summary).to.deep.equal([
      ['2026-10-25T01:30', '2026-10-24T23:30:00.000Z', 'Verano'],
      // The repeated hour is ambiguous in print; it is read in the later offset.
      ['2026-10-25T02:30', '2026-10-25T01:30:00.000Z', 'Noche'],
      ['2026-10-25T02:30', '2026-10-25T01:30:00.000Z', 'Noche'],
      ['2026-10-25T03:30', '2026-10-25T02:30:00.000Z', 'Invierno'],
    ]);

    const repository = createTransactionRepository({ models: test.db.models });
    expect(await repository.ingest('acc-madrid', 'r1', transactions, driver.info), 'the two identical 02:30 movements stay two').to.have.length(4);
    expect(await repository.ingest('acc-madrid', 'r2', (await read('Europe/Madrid')).transactions, driver.info)).to.have.length(0);
    // The same pages read under other rules (as after a tz-data change, or a zone corrected): other instants, the same identities.
    const other = await read('Atlantic/Canary');
    expect(other.transactions[0]?.receivedAt.getTime()).not.to.equal(transactions[0]?.receivedAt.getTime());
    expect(await repository.ingest('acc-madrid', 'r3', other.transactions, other.driver.info)).to.have.length(0);
    expect(await repository.count('acc-madrid')).to.equal(4);
  });
});
