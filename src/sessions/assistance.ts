import type { Clock } from '../domain/clock.js';
import { ConflictError, NotFoundError, RateLimitedError, UserError } from '../domain/errors.js';
import { SessionFailure } from '../domain/session-outcome.js';
import type { Logger } from '../log.js';
import type { OtpDescriptor, OtpRequester } from '../banks/driver.js';
import { isDuplicateKey } from '../store/database.js';
import type { AccountDoc, AssistanceRequestDoc, Models } from '../store/models.js';
import { sealedContexts } from '../store/sealed-fields.js';
import type { SecretBox } from '../store/secret-box.js';

/**
 * Assistance requests (SPEC §1, §2): a login waiting for a one-time code. The request is a
 * stored record, so a code can come from any process (chat, API, another worker). The code
 * itself crosses the database sealed, for the moment between submission and typing, and is
 * removed as soon as the waiting session takes it; it is never kept, shown or logged.
 */

export type AssistanceView = {
  id: string;
  accountId: string;
  type: 'otp';
  descriptor: OtpDescriptor;
  attempts: number;
  status: 'pending' | 'fulfilled' | 'cancelled' | 'expired';
  expiresAt: Date;
  /** The chat messages asking for the current code (to be edited when it is answered or closed). */
  prompts: string[];
  /** The platform the latest code came from (`slack`, `telegram`…), never who or what. */
  answeredOn: string | null;
  createdAt: Date;
};

export type AssistanceEvent = {
  /** `interrupted`: its login stopped before an answer (a restart, a crash); the next login asks anew. */
  type: 'requested' | 'rejected' | 'fulfilled' | 'expired' | 'cancelled' | 'interrupted';
  request: AssistanceView;
  account: { id: string; name: string; bank: string; userId: string };
};

export type AssistanceService = ReturnType<typeof createAssistanceService>;

const SUBMISSION_WINDOW_MS = 10 * 60_000;
const SUBMISSIONS_PER_WINDOW = 5;

function view(doc: AssistanceRequestDoc): AssistanceView {
  return {
    id: doc._id,
    accountId: doc.accountId,
    type: 'otp',
    descriptor: { length: doc.descriptor.length, type: doc.descriptor.type, ...(doc.descriptor.purpose ? { purpose: doc.descriptor.purpose } : {}) },
    attempts: doc.attempts ?? 0,
    status: doc.status,
    expiresAt: doc.expiresAt,
    prompts: doc.prompts ?? [],
    answeredOn: doc.submittedBy ? (doc.submittedBy.split(':')[0] ?? null) : null,
    createdAt: doc.createdAt,
  };
}

export function describeCode(descriptor: OtpDescriptor): string {
  return `${descriptor.length}-character ${descriptor.type === 'numeric' ? 'numeric (digits only)' : 'alphanumeric (letters and digits)'}`;
}

export function codeFits(code: string, descriptor: OtpDescriptor): boolean {
  return code.length === descriptor.length && (descriptor.type === 'numeric' ? /^\d+$/.test(code) : /^[A-Za-z0-9]+$/.test(code));
}

export function createAssistanceService(deps: {
  models: Models;
  secrets: SecretBox;
  clock: Clock;
  log: Logger;
  /** Tells people; may resolve to the references of the prompts it posted, which the request keeps. */
  announce(event: AssistanceEvent): Promise<string[] | void>;
  timeoutMs: number;
  maxRejectedCodes: number;
  pollMs?: number;
}) {
  const { AssistanceRequest, Account } = deps.models;
  const pollMs = deps.pollMs ?? 250;
  const context = sealedContexts.assistanceCode;

  async function announce(type: AssistanceEvent['type'], doc: AssistanceRequestDoc, account: AssistanceEvent['account']) {
    try {
      const prompts = await deps.announce({ type, request: view(doc), account });
      // Stored with the request: whichever process ends it edits them, after a restart too.
      // Once it has ended and they were edited, none stays open.
      const open = type === 'requested' || type === 'rejected';
      if (open && prompts) await AssistanceRequest.updateOne({ _id: doc._id }, { $set: { prompts } });
      if (!open && (doc.prompts?.length ?? 0) > 0) await AssistanceRequest.updateOne({ _id: doc._id }, { $set: { prompts: [] } });
    } catch (error) {
      deps.log.error({ err: error, requestId: doc._id, type }, 'could not announce an assistance event');
    }
  }

  async function finish(id: string, status: 'fulfilled' | 'expired' | 'cancelled', reason: string | null): Promise<AssistanceRequestDoc | null> {
    return AssistanceRequest.findOneAndUpdate(
      { _id: id, status: 'pending' },
      { $set: { status, resolvedAt: deps.clock.now(), reason }, $unset: { pendingFor: 1, sealedCode: 1 } },
      { returnDocument: 'after' },
    ).lean<AssistanceRequestDoc>();
  }

  /**
   * Before a login asks: the caller holds the account's lease, so a request still pending is
   * stale (a crash), and prompts still open belong to a login that stopped (a restart). Both
   * are closed, their prompts edited to say so.
   */
  async function closeLeftovers(account: AssistanceEvent['account']): Promise<void> {
    const left = await AssistanceRequest.find({ accountId: account.id, $or: [{ pendingFor: account.id }, { 'prompts.0': { $exists: true } }] }).lean<AssistanceRequestDoc[]>();
    for (const doc of left) {
      const closed = doc.status === 'pending' ? await finish(doc._id, 'cancelled', 'superseded') : doc;
      if (closed) await announce('interrupted', closed, account);
    }
  }

  async function open(account: AssistanceEvent['account'], descriptor: OtpDescriptor): Promise<AssistanceRequestDoc> {
    await closeLeftovers(account);
    const fields = { accountId: account.id, descriptor: { ...descriptor, purpose: descriptor.purpose ?? null }, attempts: 0, status: 'pending' as const, pendingFor: account.id, expiresAt: new Date(deps.clock.now().getTime() + deps.timeoutMs) };
    try {
      return (await AssistanceRequest.create(fields)).toObject() as AssistanceRequestDoc;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // Left pending between the look and the write (another process without the lease): closed, then ours.
      await closeLeftovers(account);
      return (await AssistanceRequest.create(fields)).toObject() as AssistanceRequestDoc;
    }
  }

  return {
    /** The OTP requester a driver awaits, for one login of one account. */
    requester(account: AssistanceEvent['account'], options: { signal?: AbortSignal } = {}): OtpRequester & { cancel(reason: string): Promise<void> } {
      let current: AssistanceRequestDoc | undefined;
      return {
        async request(descriptor, rejectedBefore) {
          if (!current) {
            current = await open(account, descriptor);
            await announce('requested', current, account);
          } else if (rejectedBefore) {
            const attempts = (current.attempts ?? 0) + 1;
            if (attempts >= deps.maxRejectedCodes) {
              const done = await finish(current._id, 'cancelled', 'too many rejected codes');
              if (done) await announce('cancelled', done, account);
              throw new SessionFailure('otp_rejected', 'otp', `${attempts} codes rejected`);
            }
            const updated = await AssistanceRequest.findOneAndUpdate(
              { _id: current._id, status: 'pending' },
              { $set: { attempts, expiresAt: new Date(deps.clock.now().getTime() + deps.timeoutMs) }, $unset: { sealedCode: 1 } },
              { returnDocument: 'after' },
            ).lean<AssistanceRequestDoc>();
            if (!updated) throw new SessionFailure('otp_timeout', 'otp', 'the request was withdrawn');
            current = updated;
            await announce('rejected', current, account);
          }
          const id = current._id;
          for (;;) {
            if (options.signal?.aborted) {
              await finish(id, 'cancelled', 'session stopped');
              throw new SessionFailure('otp_timeout', 'otp', 'session stopped while waiting for a code');
            }
            const taken = await AssistanceRequest.findOneAndUpdate({ _id: id, status: 'pending', sealedCode: { $exists: true } }, { $unset: { sealedCode: 1 } }).lean<AssistanceRequestDoc>();
            if (taken?.sealedCode) return deps.secrets.open(taken.sealedCode, context(id));
            const latest = await AssistanceRequest.findById(id).lean<AssistanceRequestDoc>();
            if (!latest || latest.status !== 'pending') throw new SessionFailure('otp_timeout', 'otp', 'the request was withdrawn');
            if (deps.clock.now() >= latest.expiresAt) {
              const expired = await finish(id, 'expired', 'no code in time');
              if (expired) await announce('expired', expired, account);
              throw new SessionFailure('otp_timeout', 'otp');
            }
            await new Promise((resolve) => setTimeout(resolve, pollMs));
          }
        },
        async accepted() {
          if (!current) return;
          const done = await finish(current._id, 'fulfilled', null);
          if (done) await announce('fulfilled', done, account);
        },
        async cancel(reason) {
          if (!current) return;
          const done = await finish(current._id, 'cancelled', reason);
          if (done) await announce('cancelled', done, account);
        },
      };
    },

    async pending(accountId: string): Promise<AssistanceView | null> {
      const doc = await AssistanceRequest.findOne({ pendingFor: accountId }).lean<AssistanceRequestDoc>();
      return doc ? view(doc) : null;
    },

    /**
     * A code from a person or a service. The first valid code for a pending request wins. At
     * most 5 per 10 minutes per account count, and only well-formed codes for a pending
     * request: the limit is against guessing, and a DM saying "thanks" while a code is awaited
     * is no guess (five of them used to block the real code).
     */
    async submit(accountId: string, code: string, submittedBy: string): Promise<AssistanceView> {
      const now = deps.clock.now();
      const pending = await AssistanceRequest.findOne({ pendingFor: accountId }).lean<AssistanceRequestDoc>();
      if (!pending) {
        if (!(await Account.exists({ _id: accountId }))) throw new NotFoundError('Account not found.');
        throw new ConflictError('No bank code is being waited for on this account.');
      }
      const trimmed = code.trim();
      const descriptor = view(pending).descriptor;
      if (!codeFits(trimmed, descriptor)) throw new UserError(`That does not look like the bank's code: it expects a ${describeCode(descriptor)} code.`);
      for (let tries = 0; ; tries++) {
        const account = await Account.findById(accountId, { otpSubmissions: 1 }).lean<Pick<AccountDoc, 'otpSubmissions'>>();
        if (!account) throw new NotFoundError('Account not found.');
        const recent = (account.otpSubmissions ?? []).filter((at: Date) => now.getTime() - at.getTime() < SUBMISSION_WINDOW_MS);
        if (recent.length >= SUBMISSIONS_PER_WINDOW) {
          // The oldest submission in the window leaves it first: then one more counts.
          const oldest = Math.min(...recent.map((at: Date) => at.getTime()));
          throw new RateLimitedError('Too many codes were sent for this account (at most 5 in 10 minutes). Wait a few minutes.', Math.max(1_000, oldest + SUBMISSION_WINDOW_MS - now.getTime()));
        }
        // Optimistic: only if nobody else submitted meanwhile.
        const result = await Account.updateOne({ _id: accountId, otpSubmissions: account.otpSubmissions ?? [] }, { $set: { otpSubmissions: [...recent, now] } });
        if (result.modifiedCount === 1) break;
        if (tries > 5) throw new UserError('The account is busy; try again.');
      }
      const stored = await AssistanceRequest.findOneAndUpdate(
        { _id: pending._id, status: 'pending', sealedCode: { $exists: false } },
        { $set: { sealedCode: deps.secrets.seal(trimmed, sealedContexts.assistanceCode(pending._id)), submittedBy } },
        { returnDocument: 'after' },
      ).lean<AssistanceRequestDoc>();
      if (!stored) throw new ConflictError('A code was already sent for this request and is being checked.');
      deps.log.info({ accountId, requestId: pending._id, submittedBy }, 'bank code submitted');
      return view(stored);
    },
  };
}
