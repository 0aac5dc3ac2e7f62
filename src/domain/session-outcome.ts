/**
 * How a bank session ends. Each failure is fatal (scheduling stops until a person fixes the
 * cause: retrying could lock the bank account) or transient (retried with back-off).
 */
export const SESSION_FAILURES = {
  invalid_credentials: { fatal: true, sentence: 'The bank rejected the username or password.' },
  account_blocked: { fatal: true, sentence: 'The bank reports that access is blocked (lockout).' },
  otp_timeout: { fatal: true, sentence: 'Nobody entered the bank code in time.' },
  otp_rejected: { fatal: true, sentence: 'The bank rejected the codes entered, too many times.' },
  otp_required: { fatal: true, sentence: 'The bank asks for a code at login, but the account is in simple login mode (set login_mode=assisted).' },
  // Not fatal: an account without credentials is not scheduled at all; this only meets a race with removing them.
  missing_credentials: { fatal: false, sentence: 'The account has no bank username or password yet.' },
  layout_changed: { fatal: false, sentence: "The bank's pages are not what the driver expects (layout changed)." },
  read_unstable: { fatal: false, sentence: "The bank's list of movements kept changing while it was read; nothing was stored, and it is read again shortly." },
  bank_unavailable: { fatal: false, sentence: 'The bank could not be reached or answered too slowly.' },
  session_expired: { fatal: false, sentence: 'The bank ended the session.' },
  browser_failed: { fatal: false, sentence: 'The browser failed.' },
  unknown: { fatal: false, sentence: 'The session failed for an unexpected reason.' },
} as const;

export type SessionFailureKind = keyof typeof SESSION_FAILURES;
export type SessionStage = 'launch' | 'login' | 'otp' | 'navigate' | 'read' | 'parse' | 'close';

export class SessionFailure extends Error {
  readonly fatal: boolean;
  constructor(
    readonly kind: SessionFailureKind,
    readonly stage: SessionStage,
    /** Detail for the log; must never hold a secret. */
    readonly detail?: string,
  ) {
    super(`${SESSION_FAILURES[kind].sentence}${detail ? ` (${detail})` : ''}`);
    this.name = 'SessionFailure';
    this.fatal = SESSION_FAILURES[kind].fatal;
  }
}
