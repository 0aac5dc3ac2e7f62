import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { UnavailableError, UserError } from '../domain/errors.js';
import { hasRole } from '../domain/roles.js';
import type { Services } from '../services.js';
import { codeFits, type AssistanceView } from '../sessions/assistance.js';
import { isUnavailable } from '../store/database.js';
import type { CommandContext, CommandSpec } from './command.js';
import type { ActionEvent, ChatAdapter, ChatMessage, CommandEvent, ReplyEvent } from './port.js';
import { splitOptions, tokenize } from './tokenize.js';
import type { Member } from '../users/user-service.js';

export const COMMAND_ROOT = '/recon';

export type CommandRouter = {
  readonly commands: readonly CommandSpec[];
  handle(event: CommandEvent, adapter: Pick<ChatAdapter, 'askPrivately'> & Partial<Pick<ChatAdapter, 'doctor' | 'platform' | 'openDm' | 'filesHowTo'>>): Promise<ChatMessage>;
  /**
   * A plain private message: when it looks like a bank code and exactly one of the person's
   * accounts is waiting for one, it answers that prompt (as `otp <account> <code>` would).
   */
  handleReply(event: ReplyEvent, adapter: Pick<ChatAdapter, 'askPrivately'>): Promise<ChatMessage | undefined>;
  /** A pressed button: its stored command runs as the presser (role checks included). */
  handleAction(event: ActionEvent, adapter: Pick<ChatAdapter, 'askPrivately'> & Partial<Pick<ChatAdapter, 'doctor' | 'platform' | 'openDm'>>): Promise<ChatMessage>;
};

function usageOf(command: CommandSpec): string {
  return `Usage: ${COMMAND_ROOT} ${command.usage}`;
}

/** Finds the command with the longest path that prefixes the words. */
function match(commands: readonly CommandSpec[], words: string[]): { command: CommandSpec; rest: string[] } | undefined {
  let best: CommandSpec | undefined;
  for (const command of commands) {
    const fits = command.path.every((part, i) => words[i]?.toLowerCase() === part);
    if (fits && (!best || command.path.length > best.path.length)) best = command;
  }
  return best ? { command: best, rest: words.slice(best.path.length) } : undefined;
}

function suggestions(commands: readonly CommandSpec[], words: string[]): string {
  const group = commands.filter((c) => c.path[0] === words[0]?.toLowerCase());
  const listed = (group.length > 0 ? group : commands).map((c) => `  ${COMMAND_ROOT} ${c.usage}`);
  return listed.join('\n');
}

/** Positionals and options → the object the command's schema validates. */
function toArgs(command: CommandSpec, rest: string[]): { args: Record<string, unknown> } | { error: string } {
  const { positionals, options } = splitOptions(rest);
  const names = command.positionals ?? [];
  const args: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const isLast = i === names.length - 1;
    if (isLast && command.variadic) args[name] = positionals.slice(i);
    else if (positionals[i] !== undefined) args[name] = positionals[i];
  });
  if (!command.variadic && positionals.length > names.length) {
    return { error: `Unexpected word "${positionals[names.length]}".` };
  }
  if (command.optionsAs) args[command.optionsAs] = options;
  else Object.assign(args, options);
  return { args };
}

export function createCommandRouter(deps: { commands: CommandSpec[]; services: Services; log: Logger }): CommandRouter {
  const { commands, services, log } = deps;

  /**
   * Where to reach a member in private (bank-code prompts, alerts): the private chat they write
   * from, or one the platform opens for them when they have only written in channels.
   */
  async function rememberWhereToWrite(member: Member, event: CommandEvent, adapter: Partial<Pick<ChatAdapter, 'openDm'>>): Promise<void> {
    if (event.place.private) {
      if (member.dmRef !== event.place.ref) await services.users.rememberDm(member.id, event.place.ref);
      return;
    }
    if (member.dmRef || !adapter.openDm) return;
    try {
      await services.users.rememberDm(member.id, await adapter.openDm(event.actor));
    } catch (error) {
      log.warn({ err: error, platform: event.actor.platform }, 'could not open a private chat with a member; prompts reach them once they write to the bot in private');
    }
  }

  const router: CommandRouter = {
    commands,
    async handleReply(event, adapter) {
      const code = event.text.trim();
      if (!event.place.private || !/^[A-Za-z0-9]{3,12}$/.test(code)) return undefined;
      try {
        const member = await services.users.findMember(event.actor);
        if (!member) return undefined;
        const waiting: { name: string; request: AssistanceView }[] = [];
        for (const account of await services.accounts.list(member.userId)) {
          const request = await services.sessions.assistance.pending(account.id);
          if (request) waiting.push({ name: account.name, request });
        }
        const [only] = waiting;
        if (!only) return undefined;
        if (waiting.length > 1) return { text: `Several accounts are waiting for a bank code (${waiting.map((w) => w.name).join(', ')}); say which: ${COMMAND_ROOT} otp <account> <code>` };
        // A code for the request leaves the chat as `otp` typed in full does; a "thanks" stays.
        const forget = event.forget && codeFits(code, only.request.descriptor) ? { forget: event.forget } : {};
        return await router.handle({ actor: event.actor, place: event.place, text: `otp "${only.name}" ${code}`, progress: async () => undefined, ...forget }, adapter);
      } catch (error) {
        log.warn({ err: error, platform: event.actor.platform }, 'could not handle a private message');
        return undefined;
      }
    },
    async handleAction(event, adapter) {
      try {
        const member = await services.users.findMember(event.actor);
        if (!member) return { text: `You are not linked to a Reconbanker user yet. Ask an admin for an invite code, then run: ${COMMAND_ROOT} link <code>` };
        const taken = await services.actions.find(event.actionId, member.userId);
        if (!taken.ok) return { text: taken.reason };
        return await router.handle({ actor: event.actor, place: event.place, text: taken.action.command, progress: async () => undefined }, adapter);
      } catch (error) {
        const ref = randomBytes(4).toString('hex');
        log.error({ err: error, ref, platform: event.actor.platform }, 'button action failed');
        return { text: `Something went wrong (reference ${ref}). The details are in the service log.` };
      }
    },
    async handle(event, adapter) {
      const stripped = event.text.trim().replace(/^\/recon\b/i, '').trim();
      const tokens = tokenize(stripped);
      if (!tokens.ok) return { text: tokens.error };
      const words = tokens.words.length > 0 ? tokens.words : ['help'];
      const found = match(commands, words);
      if (!found) {
        return { text: `Unknown command "${words.slice(0, 2).join(' ')}". Commands:\n${suggestions(commands, words)}` };
      }
      const { command, rest } = found;
      const name = command.path.join(' ');
      // The command's words may hold secrets: log its name and who asked, never its text.
      const logContext = { command: name, platform: event.actor.platform, actor: event.actor.userId };
      try {
        const member = await services.users.findMember(event.actor);
        if (command.access !== 'anyone') {
          if (!member) {
            return { text: `You are not linked to a Reconbanker user yet. Ask an admin for an invite code, then run: ${COMMAND_ROOT} link <code>` };
          }
          if (!hasRole(member.role, command.access)) {
            log.info({ ...logContext, role: member.role }, 'command refused: role');
            return { text: `"${name}" needs the ${command.access} role; you are ${member.role}. Nothing was changed.` };
          }
        }
        if (member) await rememberWhereToWrite(member, event, adapter);
        const raw = toArgs(command, rest);
        if ('error' in raw) return { text: `${raw.error}\n${usageOf(command)}` };
        const parsed = command.args.safeParse(raw.args);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
          const reason = issue?.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : issue?.message;
          return { text: `${field}${reason ?? 'invalid arguments'}.\n${usageOf(command)}` };
        }
        const ctx: CommandContext = {
          actor: event.actor,
          place: event.place,
          attachments: event.attachments ?? [],
          ...(adapter.filesHowTo ? { filesHowTo: adapter.filesHowTo } : {}),
          member,
          services,
          askPrivately: (form) => adapter.askPrivately(event.actor, form),
          platformDoctor: async () => (adapter.doctor ? await adapter.doctor() : []),
          progress: (message) => event.progress(message),
          forgetMessage: async () => (event.forget ? await event.forget() : true),
        };
        const reply = await command.handler(ctx, parsed.data);
        // A person who just set up or linked is a member only now.
        if (!member) {
          const joined = await services.users.findMember(event.actor);
          if (joined) await rememberWhereToWrite(joined, event, adapter);
        }
        log.info(logContext, 'command handled');
        return reply;
      } catch (error) {
        if (error instanceof UserError) return { text: error.message };
        if (error instanceof UnavailableError || isUnavailable(error)) {
          log.warn({ ...logContext, err: error }, 'command failed: database unavailable');
          return { text: new UnavailableError().message };
        }
        const ref = randomBytes(4).toString('hex');
        log.error({ ...logContext, err: error, ref }, 'command failed');
        return { text: `Something went wrong (reference ${ref}). The details are in the service log.` };
      }
    },
  };
  return router;
}
