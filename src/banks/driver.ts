import type { Page } from 'playwright-core';
import type { BankMovement } from '../domain/fingerprint.js';
import type { BankInfo } from './bank-info.js';

/**
 * The contract every bank driver implements (SPEC §3). A driver receives a Playwright page and
 * a narrow context: never the process environment, keys or the database.
 */

export type OtpDescriptor = { length: number; type: 'numeric' | 'alphanumeric'; purpose?: string };

/** How a driver gets a one-time code from a person (assisted login). */
export type OtpRequester = {
  /**
   * Resolves with a code to type. `rejectedBefore` says the previous code was refused by the
   * bank. Throws a SessionFailure (otp_timeout, otp_rejected, otp_required) when no code will come.
   */
  request(descriptor: OtpDescriptor, rejectedBefore: boolean): Promise<string>;
  /** The bank accepted the last code. */
  accepted(): Promise<void>;
};

export type LoginContext = {
  baseUrl: string;
  credentials: { username: string; password: string };
  otp: OtpRequester;
  progress(text: string): void;
};

/** What the driver saw after a login step. */
export type LoginOutcome = 'ok' | 'invalid_credentials' | 'account_blocked' | 'otp_needed' | 'otp_rejected' | 'unknown_page';

/**
 * A movement as read from the bank, already normalised (money in minor units, instant in
 * UTC), with the date-time as the bank printed it (what its identity hashes).
 */
export type RawTransaction = BankMovement & { printedAt: string };

/**
 * One pass over the bank's list of movements for a range. `pages` says how many bank
 * responses it was assembled from: one response is a snapshot on its own; more can be torn by
 * movements arriving between them, so the session layer reads again until two passes agree
 * (src/sessions/stable-read.ts).
 */
export type ReadPass = { transactions: RawTransaction[]; pages: number };

/** Whole local days, inclusive, as the bank's own filters take them (YYYY-MM-DD). */
export type DayRange = { from: string; to: string };

export type DriverInfo = Omit<BankInfo, 'loginUrl' | 'status' | 'source'> & {
  /** The bank's IANA time zone ("America/Montevideo"), never a fixed offset: its printed times follow its daylight-saving rules. */
  timeZone: string;
  /**
   * Only for drivers written when drivers declared a fixed UTC offset: that offset. Movements
   * stored then were identified by their instant; they are re-keyed to the printed time with
   * it, once per account, before the first read that uses the new identities.
   */
  legacyUtcOffsetMinutes?: number;
  /** True when the bank's reference identifies a movement on its own (used as fingerprint). */
  referencesAreUnique: boolean;
  /**
   * True when the login lives in cookies, so a persistent session may close its tab between
   * reads (much less memory). False for portals that keep the session in the page's own state.
   */
  sessionSurvivesPageClose: boolean;
};

export type BankDriver = {
  readonly info: DriverInfo;
  login(page: Page, context: LoginContext): Promise<void>;
  detectLoginOutcome(page: Page): Promise<LoginOutcome>;
  /**
   * One pass over whole local days, every page of it. A list longer than the driver can page
   * through is a failure (`layout_changed`), never a silently shortened read.
   */
  readTransactions(page: Page, range: DayRange, context: { baseUrl: string }): Promise<ReadPass>;
  isAlive(page: Page, context: { baseUrl: string }): Promise<boolean>;
  keepAlive(page: Page, context: { baseUrl: string }): Promise<void>;
  logout(page: Page, context: { baseUrl: string }): Promise<void>;
};
