import type { z } from 'zod';
import type { Identity } from '../domain/identity.js';
import type { Role } from '../domain/roles.js';
import type { Services } from '../services.js';
import type { Member } from '../users/user-service.js';
import type { ChatAttachment, ChatMessage, Form, FormResult, Place } from './port.js';

export type CommandContext = {
  actor: Identity;
  place: Place;
  /** Files sent with the command. */
  attachments: ChatAttachment[];
  /** How a file is sent with a command on this platform (the adapter's words), when it can be. */
  filesHowTo?: string;
  /** Null only for commands open to people not linked yet. */
  member: Member | null;
  services: Services;
  askPrivately(form: Form): Promise<FormResult>;
  /** What the platform this command came from finds wrong with its own set-up. */
  platformDoctor?(): Promise<string[]>;
  progress(message: ChatMessage): Promise<void>;
  /** Removes the person's command message from the chat (it held a secret); false when it is still there. */
  forgetMessage(): Promise<boolean>;
};

/** The caller's membership, for commands that require one (the router has checked it). */
export function memberOf(ctx: CommandContext): Member {
  if (!ctx.member) throw new Error(`command needs a linked member but none was resolved`);
  return ctx.member;
}

type Access = Role | 'anyone';

/**
 * A chat command declared once: the router parses and checks it, every adapter delivers it.
 * Words after the command path fill `positionals` in order (the last may be `variadic`);
 * `key=value` words become options, merged into the arguments (or gathered under `optionsAs`).
 */
export type CommandSpec<Args = Record<string, unknown>> = {
  path: string[];
  usage: string;
  summary: string;
  access: Access;
  positionals?: string[];
  variadic?: boolean;
  optionsAs?: string;
  /**
   * The command reads a file sent with it: a platform whose commands carry files as options
   * offers one for it (Discord's attachment option). `consolePath` is the positional that names
   * a file on the server instead, taken in the console only, so not offered where a file is.
   */
  file?: { description: string; consolePath?: string };
  args: z.ZodType<Args>;
  handler(ctx: CommandContext, args: Args): Promise<ChatMessage>;
};

export function defineCommand<Schema extends z.ZodType>(
  spec: Omit<CommandSpec<z.infer<Schema>>, 'args' | 'handler'> & {
    args: Schema;
    handler(ctx: CommandContext, args: z.infer<Schema>): Promise<ChatMessage>;
  },
): CommandSpec {
  return spec as unknown as CommandSpec;
}
