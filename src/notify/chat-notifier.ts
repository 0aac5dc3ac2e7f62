import type { ChatMessage } from '../chat/port.js';
import { hasRole, type Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import type { AssistanceEvent } from '../sessions/assistance.js';
import { describeCode } from '../sessions/assistance.js';
import type { SessionEvent } from '../sessions/events.js';
import type { UserService } from '../users/user-service.js';

/** Where chat messages go: a stored reference (`console:local`, `slack:T:C`), resolved by main to an adapter. */
export type ChatSender = (ref: string, message: ChatMessage) => Promise<void>;

export type ChatNotifier = ReturnType<typeof createChatNotifier>;

function hhmm(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/** Operational messages to people: OTP prompts and session outcomes (SPEC §7 "Notifications"). */
export function createChatNotifier(deps: { users: UserService; send: ChatSender; log: Logger }) {
  async function toMembers(userId: string, minRole: Role, message: ChatMessage, except?: string): Promise<void> {
    const members = await deps.users.listMembers(userId);
    const refs = new Set(members.filter((m) => m.dmRef && hasRole(m.role, minRole)).map((m) => m.dmRef as string));
    if (except) refs.delete(except);
    for (const ref of refs) await toRef(ref, message);
  }

  async function toRef(ref: string, message: ChatMessage): Promise<void> {
    try {
      await deps.send(ref, message);
    } catch (error) {
      deps.log.warn({ err: error, ref }, 'could not deliver a chat message');
    }
  }

  return {
    async assistance(event: AssistanceEvent): Promise<void> {
      const name = `"${event.account.name}"`;
      const reply = `/recon otp ${name} <code>`;
      const d = event.request.descriptor;
      const texts: Record<AssistanceEvent['type'], string> = {
        requested: `Bank code needed for account ${name} (${event.account.bank}): a ${describeCode(d)} code, before ${hhmm(event.request.expiresAt)}. Reply with: ${reply}`,
        rejected: `The bank rejected the code for ${name} (${event.request.attempts} rejected so far). Send the new code before ${hhmm(event.request.expiresAt)}: ${reply}`,
        fulfilled: `The bank accepted the code for ${name}; the session goes on.`,
        expired: `No code arrived in time for ${name}; the login failed.`,
        cancelled: `The code request for ${name} was withdrawn.`,
      };
      await toMembers(event.account.userId, 'operator', { text: texts[event.type] });
    },

    async session(event: SessionEvent): Promise<void> {
      const name = `"${event.account.name}"`;
      switch (event.type) {
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
          await toMembers(event.account.userId, 'operator', message, event.ref);
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
  };
}
