import type { ChatMessage } from '../chat/port.js';
import { hasRole, type Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import type { AssistanceEvent } from '../sessions/assistance.js';
import { describeCode } from '../sessions/assistance.js';
import type { SessionEvent } from '../sessions/events.js';
import type { UserService } from '../users/user-service.js';
import { minorToDecimalString } from '../domain/money.js';
import type { PollReport } from '../reconcile/poller.js';
import { streakLength } from '../reconcile/poll-failures.js';
import type { CandidateFacts } from '../reconcile/result-events.js';
import type { OutboxEventDoc } from '../store/models.js';
import type { DeliveryTrouble } from '../webhooks/dispatcher.js';
import type { ChatActions } from '../chat/actions.js';

/**
 * Where chat messages go: a stored reference (`console:local`, `slack:T:C`), resolved by main
 * to an adapter. Resolves to a reference to the posted message when it can be edited later.
 */
export type ChatSender = (ref: string, message: ChatMessage) => Promise<string | undefined | void>;
/** Replaces a posted message (by the reference ChatSender gave). */
export type ChatEditor = (messageRef: string, message: ChatMessage) => Promise<void>;

export type ChatNotifier = ReturnType<typeof createChatNotifier>;

function hhmm(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/** Operational messages to people: OTP prompts and session outcomes (SPEC §7 "Notifications"). */
export function createChatNotifier(deps: { users: UserService; actions?: ChatActions; send: ChatSender; edit?: ChatEditor; log: Logger }) {
  /** By DM to the members with at least `minRole`; resolves to the references of the messages posted. */
  async function toMembers(userId: string, minRole: Role, message: ChatMessage, except?: string): Promise<string[]> {
    const members = await deps.users.listMembers(userId);
    const refs = new Set(members.filter((m) => m.dmRef && hasRole(m.role, minRole)).map((m) => m.dmRef as string));
    if (except) refs.delete(except);
    const posted: string[] = [];
    for (const ref of refs) {
      const sent = await toRef(ref, message);
      if (sent) posted.push(sent);
    }
    return posted;
  }

  /** The account's operators by DM, and every channel bound with `notify here` (each place once). */
  async function toEveryone(userId: string, message: ChatMessage, except?: string): Promise<void> {
    const members = await deps.users.listMembers(userId);
    const refs = new Set(members.filter((m) => m.dmRef && hasRole(m.role, 'operator')).map((m) => m.dmRef as string));
    for (const ref of await deps.users.channels(userId)) refs.add(ref);
    if (except) refs.delete(except);
    for (const ref of refs) await toRef(ref, message);
  }

  async function toRef(ref: string, message: ChatMessage): Promise<string | undefined> {
    try {
      return (await deps.send(ref, message)) ?? undefined;
    } catch (error) {
      deps.log.warn({ err: error, ref }, 'could not deliver a chat message');
      return undefined;
    }
  }

  return {
    /**
     * Prompts operators by DM (resolving to the prompts' references, which the request keeps)
     * and, once the request moves on, edits every earlier prompt to say so: a code given by one
     * operator on one platform closes the prompt everyone else still sees.
     */
    async assistance(event: AssistanceEvent): Promise<string[]> {
      const name = `"${event.account.name}"`;
      const reply = `/recon otp ${name} <code>`;
      const d = event.request.descriptor;
      const texts: Record<Exclude<AssistanceEvent['type'], 'interrupted'>, string> = {
        requested: `Bank code needed for account ${name} (${event.account.bank}): a ${describeCode(d)} code, before ${hhmm(event.request.expiresAt)}. Reply with: ${reply}`,
        rejected: `The bank rejected the code for ${name} (${event.request.attempts} rejected so far). Send the new code before ${hhmm(event.request.expiresAt)}: ${reply}`,
        fulfilled: `The bank accepted the code for ${name}; the session goes on.`,
        expired: `No code arrived in time for ${name}; the login failed.`,
        cancelled: `The code request for ${name} was withdrawn.`,
      };
      if (event.type !== 'requested' && deps.edit) {
        const by = event.request.answeredOn ? ` (given on ${event.request.answeredOn})` : '';
        const closed: Record<Exclude<AssistanceEvent['type'], 'requested'>, string> = {
          rejected: `Bank code for account ${name}: the code sent${by} was rejected; a new code is asked in a newer message.`,
          fulfilled: `Bank code for account ${name}: answered${by} and accepted by the bank. Nothing more to do.`,
          expired: `Bank code for account ${name}: no code arrived in time; this request is closed.`,
          cancelled: `Bank code for account ${name}: this request was withdrawn; nothing more to do.`,
          interrupted: `Bank code for account ${name}: the login waiting for it was interrupted (the service restarted); a newer message asks again.`,
        };
        for (const ref of event.request.prompts) {
          await deps.edit(ref, { text: closed[event.type] }).catch((error: unknown) => deps.log.warn({ err: error, ref }, 'could not edit a code prompt'));
        }
      }
      // Interrupted: the new request's own prompt follows at once; editing the old ones is enough.
      if (event.type === 'interrupted') return [];
      // A prompt carries a button that asks for the code in a private form (Slack and Discord
      // modals, a DM question on Telegram): a code can be given from the prompt itself, even
      // where /recon is not registered in DMs.
      const asks = event.type === 'requested' || event.type === 'rejected';
      const choices = asks && deps.actions ? [{ id: await deps.actions.create(event.account.userId, `otp ${quote(event.account.name)}`), label: 'Enter the code' }] : [];
      const posted = await toMembers(event.account.userId, 'operator', { text: texts[event.type], ...(choices.length ? { choices } : {}) });
      return event.type === 'requested' || event.type === 'rejected' ? posted : [];
    },

    async session(event: SessionEvent): Promise<void> {
      const name = `"${event.account.name}"`;
      switch (event.type) {
        case 'started':
          return;
        case 'progress':
          if (event.ref) await toRef(event.ref, { text: `${event.account.name}: ${event.text}…` });
          return;
        case 'finished':
          if (event.ref) await toRef(event.ref, { text: `${event.account.name}: read ${event.found} movement(s), ${event.inserted} new.` });
          return;
        case 'failed': {
          const next = event.nextAttemptAt ? ` Next attempt at ${hhmm(event.nextAttemptAt)}.` : '';
          const message: ChatMessage = {
            text: `Bank session of ${name} failed (${event.kind}, at ${event.stage}): ${event.sentence}${next}`,
            ...(event.screenshot ? { image: { path: event.screenshot, alt: `The bank page when ${event.account.name}'s session failed` } } : {}),
          };
          if (event.ref) await toRef(event.ref, message);
          await toEveryone(event.account.userId, message, event.ref);
          return;
        }
        case 'blocked':
          await toMembers(event.account.userId, 'operator', { text: `Scraping of ${name} is stopped: ${event.reason} Fix the cause, then: /recon account restart ${name}` });
          return;
        case 'needs_attention':
          await toMembers(event.account.userId, 'operator', { text: `The persistent session of ${name} needs attention: ${event.reason} When ready: /recon account reactivate ${name}` });
          return;
        case 'recovered':
          await toMembers(event.account.userId, 'operator', { text: `The bank session of ${name} works again.` });
          return;
      }
    },

    /** A reconciliation result, to the account's operators (and bound channels, once they exist). */
    async result(event: OutboxEventDoc, accountName: string): Promise<void> {
      const message = resultMessage(event, accountName);
      if (!message) return;
      // An ambiguity offers a button per candidate where the platform has buttons.
      const candidates = event.type === 'conciliation.ambiguous' ? ((event.data.candidates as CandidateFacts[] | undefined) ?? []) : [];
      if (deps.actions && candidates.length > 0) {
        const choices = [];
        for (const c of candidates) {
          const id = await deps.actions.create(event.userId, `pending resolve ${quote(accountName)} ${quote(String(event.data.external_id))} ${c.id}`);
          choices.push({ id, label: `${c.id.slice(0, 8)} · ${c.sender_name ?? '(no sender)'} · ${when(c.received_at)}` });
        }
        message.choices = choices;
      }
      await toEveryone(event.userId, message);
    },

    /** Many results of one type on one account at once (a large poll): one message, the first few named, and how to list them. */
    async results(events: OutboxEventDoc[], accountName: string): Promise<void> {
      const first = events[0];
      if (!first) return;
      const status = first.type.replace(/^conciliation\./, '');
      const what: Record<string, string> = { matched: 'payments matched', ambiguous: 'requests are ambiguous', expired: 'requests expired', failed: 'requests are marked failed' };
      const named = events.slice(0, 5).map((e) => String(e.data.external_id));
      const more = events.length > named.length ? ` and ${events.length - named.length} more` : '';
      const text = `${events.length} ${what[status] ?? `results (${first.type})`} on "${accountName}" at once: ${named.join(', ')}${more}. List them: /recon pending ${quote(accountName)} status=${status}`;
      await toEveryone(first.userId, { text });
    },

    /** What a statement import did: to whoever sent the file (if anyone) and to the account's people. */
    async statement(userId: string, message: ChatMessage, ref?: string): Promise<void> {
      if (ref) await toRef(ref, message);
      await toEveryone(userId, message, ref);
    },

    /** A delivery that gave up (parked) or a receiver that answered 410 Gone. */
    async delivery(report: DeliveryTrouble): Promise<void> {
      const what = `${report.event.lane === 'notification' ? 'notification' : 'webhook'} ${report.event._id} (${report.event.type})`;
      const text =
        report.kind === 'gone'
          ? `The receiver of "${report.accountName}" answered 410 Gone (${report.url}): its deliveries are stopped. Fix it or change webhook_url, then: /recon webhook resume "${report.accountName}"`
          : `Delivery of ${what} for "${report.accountName}" failed for good after ${report.event.webhook.attempts + 1} attempt(s): ${report.reason}. Send it again with: /recon webhook replay ${report.event._id}`;
      await toEveryone(report.event.userId, { text });
    },

    /** A poll's outcome: to whoever asked for it; to operators when polling starts failing, recovers, or skips new items. */
    async poll(report: PollReport): Promise<void> {
      const name = `"${report.accountName}"`;
      const { outcome } = report;
      if (outcome.ok === 'skipped') {
        if (report.ref) await toRef(report.ref, { text: `Not polled ${name}: ${outcome.reason}.` });
        return;
      }
      if (outcome.ok === false) {
        const text = `Polling the pending orders of ${name} failed: ${outcome.error}. Nothing stored was changed; the next poll retries.`;
        if (report.ref) await toRef(report.ref, { text });
        if (report.firstFailure) await toMembers(report.userId, 'operator', { text }, report.ref);
        else if (report.stillFailing) {
          const still = `Polling the pending orders of ${name} still fails after ${streakLength(report.stillFailing.forMs)} (${report.stillFailing.failures} polls in a row): ${outcome.error}. Nothing stored was changed; the next poll retries.`;
          await toMembers(report.userId, 'operator', { text: still }, report.ref);
        }
        return;
      }
      const e = outcome.evaluation;
      const parts = [
        `${outcome.orders} order(s) listed`,
        `${outcome.created} new`,
        `${outcome.updated} changed`,
        `${outcome.cancelled} cancelled`,
        ...(outcome.reopened ? [`${outcome.reopened} reopened`] : []),
      ];
      const results = `matching: ${e.matched} matched, ${e.ambiguous} ambiguous, ${e.notFound} not found${e.errors + e.failed ? `, ${e.errors + e.failed} errors` : ''}`;
      const held = outcome.heldEmpty ? ' The endpoint returned an empty list after listing orders: nothing is cancelled unless the next poll is empty too.' : '';
      const skipped = outcome.skipped.length > 0 ? `\n${outcome.skipped.length} item(s) skipped:\n${outcome.skipped.map((s) => `• ${s.externalId ?? `item #${s.index + 1}`}: ${s.reason}`).join('\n')}` : '';
      if (report.ref) await toRef(report.ref, { text: `Polled ${name}: ${parts.join(', ')}; ${results}.${held}${skipped}` });
      if (report.recovered) await toMembers(report.userId, 'operator', { text: `Polling the pending orders of ${name} works again.` }, report.ref);
      if (report.newSkips) await toMembers(report.userId, 'operator', { text: `The pending-orders endpoint of ${name} lists items that cannot be read:${skipped}` }, report.ref);
    },
  };
}

/** A command word, quoted when it needs to be (the chat tokenizer's double quotes). */
function quote(word: string): string {
  return /^[^\s"]+$/.test(word) ? word : `"${word.replace(/"/g, '')}"`;
}

function money(minor: unknown, currency: unknown): string {
  return typeof minor === 'number' && typeof currency === 'string' ? `${minorToDecimalString(minor, currency)} ${currency}` : '?';
}

function when(iso: unknown): string {
  return typeof iso === 'string' && iso.length >= 16 ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '?';
}

/** Plain text for a result event; bank-derived strings are data, never markup (adapters escape). */
export function resultMessage(event: OutboxEventDoc, accountName: string): ChatMessage | undefined {
  const d = event.data as Record<string, unknown> & { match?: { transaction_id: string; sender_name: string | null; received_at: string; by: string }; candidates?: CandidateFacts[] };
  const order = `${String(d.external_id)} (${money(d.amount_minor, d.currency)} from ${String(d.name)})`;
  const account = `"${accountName}"`;
  switch (event.type) {
    case 'conciliation.matched': {
      const m = d.match;
      const how = m?.by === 'operator' ? ' (resolved by an operator)' : event.evidence ? ` (${event.evidence})` : '';
      return { text: `Payment matched on ${account}: ${order} ← transaction ${m?.transaction_id.slice(0, 8) ?? '?'} from ${m?.sender_name ?? '(no sender)'}, received ${when(m?.received_at)}${how}.` };
    }
    case 'conciliation.ambiguous': {
      const candidates = d.candidates ?? [];
      const total = typeof d.candidate_count === 'number' ? d.candidate_count : candidates.length;
      return {
        text:
          `Payment ${order} on ${account} is ambiguous: ${event.evidence && !/equally plausible/.test(event.evidence) ? event.evidence : `${total} transactions fit equally well`}, so none was picked.\n` +
          candidates.map((c) => `• ${c.id.slice(0, 8)} — ${c.sender_name ?? '(no sender)'}, received ${when(c.received_at)}`).join('\n') +
          `\nChoose one: /recon pending resolve ${account} ${String(d.external_id)} <transaction>`,
      };
    }
    case 'conciliation.expired':
      return { text: `Payment ${order} on ${account} expired: no matching transfer within 5 days. If it arrives later, re-register it: /recon pending rematch ${account} ${String(d.external_id)}` };
    case 'conciliation.failed':
      return { text: `Matching of ${order} on ${account} kept failing and is marked failed (${String(d.error)}). Try again: /recon pending rematch ${account} ${String(d.external_id)}` };
    case 'bank.movement':
      return undefined;
  }
}
