import type { Page } from 'playwright-core';
import type { AccountService } from '../accounts/account-service.js';
import type { BankDriver, OtpRequester } from '../banks/driver.js';
import { SessionFailure } from '../domain/session-outcome.js';
import type { AssistanceService } from './assistance.js';
import type { SessionAccount } from './events.js';

/**
 * Logs a page into an account's bank: credentials are opened from the secret box only here,
 * handed to the driver, and dropped. In simple mode a code request fails the login (fatal);
 * in assisted mode it becomes an assistance request.
 */
export async function logIn(options: {
  page: Page;
  bank: { driver: BankDriver; baseUrl: string };
  account: SessionAccount;
  /** The account's settings as shown (secrets masked): username and login mode are read here. */
  settings: Record<string, unknown>;
  accounts: AccountService;
  assistance: AssistanceService;
  signal?: AbortSignal;
  progress(text: string): void;
}): Promise<void> {
  const username = typeof options.settings.bank_username === 'string' ? options.settings.bank_username : null;
  const password = await options.accounts.revealSecret(options.account.id, 'bank_password');
  if (!username || !password) throw new SessionFailure('missing_credentials', 'login');
  const otp: OtpRequester & { cancel?(reason: string): Promise<void> } =
    options.settings.login_mode === 'assisted'
      ? options.assistance.requester(options.account, options.signal ? { signal: options.signal } : {})
      : {
          request: async () => {
            throw new SessionFailure('otp_required', 'otp');
          },
          accepted: async () => undefined,
        };
  try {
    await options.bank.driver.login(options.page, { baseUrl: options.bank.baseUrl, credentials: { username, password }, otp, progress: options.progress });
  } catch (error) {
    await otp.cancel?.('login ended');
    throw error;
  }
}
