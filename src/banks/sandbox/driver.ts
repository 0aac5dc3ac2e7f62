import type { Page } from 'playwright-core';
import { SessionFailure, type SessionStage } from '../../domain/session-outcome.js';
import type { BankDriver, DayRange, LoginOutcome, RawTransaction } from '../driver.js';
import { parseSandboxRow } from './parse.js';

const NAV_TIMEOUT_MS = 20_000;

/**
 * Runs in the page. Kept as source text: the TypeScript loader would wrap an inline function
 * with helpers (`__name`) that do not exist in the browser.
 */
const EXTRACT_ROWS = `Array.from(document.querySelectorAll('#movements tr.movement')).map((tr) => ({
  date: tr.querySelector('.m-date')?.textContent ?? '',
  description: tr.querySelector('.m-desc')?.textContent ?? '',
  sender: tr.querySelector('.m-sender')?.textContent ?? '',
  reference: tr.querySelector('.m-ref')?.textContent ?? '',
  amount: tr.querySelector('.m-amount')?.textContent ?? '',
  currency: tr.querySelector('.m-currency')?.textContent ?? '',
}))`;
/** More pages than this for one range is not a list a driver should page through: the read fails. */
export const MAX_PAGES = 200;

/** Any navigation error (refused, reset, timeout) means the bank is not answering. */
async function navigate(page: Page, stage: SessionStage, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new SessionFailure('bank_unavailable', stage, detail);
  }
}

async function submit(page: Page, stage: SessionStage, selector: string): Promise<void> {
  await navigate(page, stage, () => Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS }), page.click(selector, { timeout: NAV_TIMEOUT_MS })]));
}

async function present(page: Page, selector: string): Promise<boolean> {
  return (await page.locator(selector).count()) > 0;
}

/**
 * The sandbox bank's driver. The sandbox prints local times of Uruguay by default; a driver for
 * a sandbox set to another zone (tests of daylight saving) is made with `sandboxDriverFor`.
 */
export function sandboxDriverFor(timeZone: string, options: { maxPages?: number } = {}): BankDriver {
  const maxPages = options.maxPages ?? MAX_PAGES;
  return {
    info: {
      id: 'sandbox',
      code: 'sandbox',
      name: 'Sandbox Bank',
      country: 'UY',
      currencies: ['UYU', 'USD'],
      twoFactorKinds: ['numeric', 'alphanumeric'],
      driverVersion: '1.1.0',
      timeZone,
      // Version 1.0.0 declared UTC−3 (Uruguay, which has kept it all year since 2015).
      legacyUtcOffsetMinutes: -180,
      referencesAreUnique: false,
      sessionSurvivesPageClose: true,
    },

    async detectLoginOutcome(page): Promise<LoginOutcome> {
      if (await present(page, '#welcome')) return 'ok';
      if (await present(page, '#account-locked')) return 'account_blocked';
      if (await present(page, '#otp-error')) return 'otp_rejected';
      if (await present(page, '#otp-code')) return 'otp_needed';
      if (await present(page, '#login-error')) return 'invalid_credentials';
      return 'unknown_page';
    },

    async login(page, context) {
      context.progress('opening the bank');
      await navigate(page, 'login', () => page.goto(`${context.baseUrl}/login`, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS }));
      if (!(await present(page, '#username')) || !(await present(page, '#password'))) throw new SessionFailure('layout_changed', 'login', 'no login form');
      await page.fill('#username', context.credentials.username);
      await page.fill('#password', context.credentials.password);
      context.progress('logging in');
      await submit(page, 'login', '#login-button');

      let outcome = await this.detectLoginOutcome(page);
      let rejectedBefore = false;
      while (outcome === 'otp_needed' || outcome === 'otp_rejected') {
        rejectedBefore = outcome === 'otp_rejected';
        const input = page.locator('#otp-code');
        const length = Number(await input.getAttribute('data-length')) || 6;
        const type = (await input.getAttribute('data-type')) === 'alphanumeric' ? 'alphanumeric' : 'numeric';
        context.progress(rejectedBefore ? 'the bank rejected the code; waiting for another' : 'waiting for the bank code');
        const code = await context.otp.request({ length, type, purpose: 'login' }, rejectedBefore);
        await page.fill('#otp-code', code);
        await submit(page, 'otp', '#otp-button');
        outcome = await this.detectLoginOutcome(page);
        // The sandbox, like real banks, sends you back to the login page after too many codes.
        if (outcome === 'invalid_credentials' && (await page.locator('#login-error').innerText()).includes('código')) {
          throw new SessionFailure('otp_rejected', 'otp', 'the bank ended the login after rejected codes');
        }
        if (outcome === 'ok') await context.otp.accepted();
      }
      switch (outcome) {
        case 'ok':
          return;
        case 'invalid_credentials':
          throw new SessionFailure('invalid_credentials', 'login');
        case 'account_blocked':
          throw new SessionFailure('account_blocked', 'login');
        default:
          throw new SessionFailure('layout_changed', 'login', 'unrecognised page after login');
      }
    },

    async readTransactions(page, range: DayRange, context) {
      const transactions: RawTransaction[] = [];
      let next: string | null = `${context.baseUrl}/movements?from=${range.from}&to=${range.to}&page=1`;
      let pages = 0;
      while (next) {
        if (pages === maxPages) throw new SessionFailure('layout_changed', 'read', `more than ${maxPages} pages of movements from ${range.from} to ${range.to}; nothing was stored`);
        const url: string = next;
        pages += 1;
        await navigate(page, 'navigate', () => page.goto(url, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS }));
        if (new URL(page.url()).pathname === '/login') throw new SessionFailure('session_expired', 'navigate');
        if (await present(page, '#no-movements')) break;
        if (!(await present(page, '#movements'))) throw new SessionFailure('layout_changed', 'read', 'no movements table');
        const rows: unknown[] = await page.evaluate(EXTRACT_ROWS);
        for (const [index, row] of rows.entries()) {
          const parsed = parseSandboxRow(row, this.info.timeZone);
          if (!parsed.ok) throw new SessionFailure('layout_changed', 'parse', `row ${index + 1} of page ${pages}: ${parsed.reason}`);
          transactions.push(parsed.transaction);
        }
        // Check presence first: a locator waits (30 s) for an element that is not there.
        const href = (await present(page, '#next-page')) ? await page.locator('#next-page').getAttribute('href') : null;
        next = href ? new URL(href, context.baseUrl).toString() : null;
        if (next === url) throw new SessionFailure('layout_changed', 'read', `page ${pages} links to itself as the next page`);
      }
      return { transactions, pages };
    },

    async isAlive(page, context) {
      try {
        await page.goto(`${context.baseUrl}/home`, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS });
        return await present(page, '#welcome');
      } catch {
        return false;
      }
    },

    async keepAlive(page, context) {
      await this.isAlive(page, context);
    },

    async logout(page, context) {
      // From any page (a persistent session may have closed its tab): go home, then log out.
      if (!(await present(page, '#logout'))) {
        await page.goto(`${context.baseUrl}/home`, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS }).catch(() => undefined);
      }
      if (await present(page, '#logout')) await submit(page, 'close', '#logout').catch(() => undefined);
    },
  };
}

export const sandboxDriver: BankDriver = sandboxDriverFor('America/Montevideo');
