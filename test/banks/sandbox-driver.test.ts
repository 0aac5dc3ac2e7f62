import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveSavedPages, type SavedPortal } from '../../src/banks/driver-kit.js';
import { parseSandboxRow, printedDateTime } from '../../src/banks/sandbox/parse.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { SessionFailure } from '../../src/domain/session-outcome.js';
import { projectRoot } from '../../src/paths.js';
import { CHROMIUM_PATH } from '../helpers/services.js';

const pages = path.join(projectRoot, 'test/fixtures/sandbox-pages');

describe('sandbox driver', () => {
  describe('row parsing (pure)', () => {
    const row = { date: '26/11/2026 14:05', description: ' Transferencia ', sender: 'José Pérez', reference: 'R-1', amount: '1.500,00', currency: 'UYU' };

    it('normalises a row: local time → UTC instant (and the printed time kept), local amount → minor units', () => {
      expect(parseSandboxRow(row, 'America/Montevideo')).to.deep.equal({
        ok: true,
        transaction: { receivedAt: new Date('2026-11-26T17:05:00Z'), printedAt: '2026-11-26T14:05', amountMinor: 150000, currency: 'UYU', senderName: 'José Pérez', description: 'Transferencia', bankReference: 'R-1' },
      });
    });

    it("converts with the zone's daylight-saving rules, and keeps what the bank printed", () => {
      const at = (date: string) => parseSandboxRow({ ...row, date }, 'Europe/Madrid');
      // Summer (UTC+2), winter (UTC+1), and the night clocks went back (25 Oct 2026, 03:00 → 02:00).
      const instants = ['15/07/2026 12:00', '15/12/2026 12:00', '25/10/2026 01:30', '25/10/2026 03:30'].map((date) => {
        const parsed = at(date);
        return parsed.ok ? [parsed.transaction.printedAt, parsed.transaction.receivedAt.toISOString()] : [];
      });
      expect(instants).to.deep.equal([
        ['2026-07-15T12:00', '2026-07-15T10:00:00.000Z'],
        ['2026-12-15T12:00', '2026-12-15T11:00:00.000Z'],
        ['2026-10-25T01:30', '2026-10-24T23:30:00.000Z'],
        ['2026-10-25T03:30', '2026-10-25T02:30:00.000Z'],
      ]);
    });

    const bad: [string, Record<string, string>, RegExp][] = [
      ['an impossible date', { date: '31/02/2026 10:00' }, /is not a real date/],
      ['a date in another format', { date: '2026-11-26 14:05' }, /date must look like DD\/MM\/YYYY HH:MM/],
      ['an amount with a broken thousands group', { amount: '1.50,00' }, /amount "1\.50,00"/],
      ['too many decimals', { amount: '1,005' }, /amount "1,005"/],
      ['a currency that is not a code', { currency: 'pesos' }, /currency must be a 3-letter code/],
    ];
    for (const [what, change, reason] of bad) {
      it(`refuses ${what}`, () => {
        const result = parseSandboxRow({ ...row, ...change }, 'America/Montevideo');
        expect(result.ok).to.equal(false);
        if (!result.ok) expect(result.reason).to.match(reason);
      });
    }

    it('empty sender and reference become null; debits are negative', () => {
      const result = parseSandboxRow({ ...row, sender: ' ', reference: '', amount: '-300,00' }, 'America/Montevideo');
      expect(result.ok && result.transaction).to.deep.include({ senderName: null, bankReference: null, amountMinor: -30000 });
    });

    it('local times cross midnight into the next UTC day', () => {
      const parsed = parseSandboxRow({ ...row, date: '31/12/2026 22:30' }, 'America/Montevideo');
      expect(parsed.ok && parsed.transaction.receivedAt.toISOString()).to.equal('2027-01-01T01:30:00.000Z');
    });

    it('the printed date-time is the calendar date the bank showed, or nothing', () => {
      expect(printedDateTime('29/02/2028 23:59')).to.equal('2028-02-29T23:59');
      expect(printedDateTime('29/02/2026 10:00')).to.equal(undefined);
      expect(printedDateTime('31/04/2026 10:00')).to.equal(undefined);
      expect(printedDateTime('01/13/2026 10:00')).to.equal(undefined);
      expect(printedDateTime('01/01/2026 24:00')).to.equal(undefined);
    });
  });

  describe('on saved pages (driver kit, real Chromium)', function () {
    this.timeout(60_000);
    let browser: Browser;
    let page: Page;
    let portal: SavedPortal;

    before(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      portal = await serveSavedPages(pages, [
        { path: '/movements', query: { page: '1', from: '2026-11-20' }, file: 'movements-1.html' },
        { path: '/movements', query: { page: '2' }, file: 'movements-2.html' },
        { path: '/movements', query: { from: '2026-01-01' }, file: 'movements-empty.html' },
        { path: '/movements', query: { from: '2026-02-01' }, file: 'movements-modern.html' },
        { path: '/login-error', file: 'login-error.html' },
        { path: '/login-locked', file: 'login-locked.html' },
        { path: '/otp', file: 'otp.html' },
        { path: '/otp-rejected', file: 'otp-rejected.html' },
        { path: '/home', file: 'home.html' },
        { path: '/login', file: 'login.html' },
      ]);
      page = await (await browser.newContext()).newPage();
    });

    after(async () => {
      await browser?.close();
      await portal?.close();
    });

    it('reads every row of every page, following "next"', async () => {
      const { transactions: rows, pages } = await sandboxDriver.readTransactions(page, { from: '2026-11-20', to: '2026-11-26' }, { baseUrl: portal.url });
      expect(rows).to.have.length(27);
      expect(pages).to.equal(2);
      expect(portal.requests.filter((r) => r.startsWith('GET /movements'))).to.deep.equal(['GET /movements?from=2026-11-20&to=2026-11-26&page=1', 'GET /movements?from=2026-11-20&to=2026-11-26&page=2']);
      expect(rows[0]).to.deep.equal({ receivedAt: new Date('2026-11-20T12:00:00Z'), printedAt: '2026-11-20T09:00', amountMinor: -50, currency: 'USD', senderName: null, description: 'Pago <factura> & "recibo"', bankReference: null });
      expect(rows[1]).to.deep.include({ amountMinor: 113711, currency: 'UYU', senderName: 'Pagador Ñúñez 1', bankReference: 'REF-1' });
    });

    it('an empty period reads nothing', async () => {
      expect(await sandboxDriver.readTransactions(page, { from: '2026-01-01', to: '2026-01-02' }, { baseUrl: portal.url })).to.deep.equal({ transactions: [], pages: 1 });
    });

    it('a redesigned page is layout_changed, not an empty read', async () => {
      try {
        await sandboxDriver.readTransactions(page, { from: '2026-02-01', to: '2026-02-02' }, { baseUrl: portal.url });
        expect.fail('should throw');
      } catch (error) {
        expect(error).to.be.instanceOf(SessionFailure);
        expect(error).to.deep.include({ kind: 'layout_changed', stage: 'read', fatal: false });
      }
    });

    const outcomes: [string, string][] = [
      ['/login-error', 'invalid_credentials'],
      ['/login-locked', 'account_blocked'],
      ['/otp', 'otp_needed'],
      ['/otp-rejected', 'otp_rejected'],
      ['/home', 'ok'],
      ['/login', 'unknown_page'],
    ];
    for (const [route, outcome] of outcomes) {
      it(`detects ${outcome} on ${route}`, async () => {
        await page.goto(`${portal.url}${route}`);
        expect(await sandboxDriver.detectLoginOutcome(page)).to.equal(outcome);
      });
    }
  });
});
