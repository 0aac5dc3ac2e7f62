import type { Identity } from '../domain/identity.js';

/**
 * The one interface through which the core talks to people. Each platform (and the console)
 * implements it in adapters/; the core never imports an adapter.
 */

/** A platform-neutral message; adapters render it (and escape every string in it). */
export type ChatMessage = {
  text: string;
  fields?: { label: string; value: string }[];
  choices?: { id: string; label: string }[];
  image?: { path: string; alt: string };
};

/** A posted message: its place's reference, `#`, and the platform's id for it (place references hold no `#`). */
export function messageRef(place: string, messageId: string): string {
  return `${place}#${messageId}`;
}

export function parseMessageRef(ref: string): { place: string; messageId: string } {
  const at = ref.lastIndexOf('#');
  if (at <= 0 || at === ref.length - 1) throw new Error(`not a message reference: ${ref}`);
  return { place: ref.slice(0, at), messageId: ref.slice(at + 1) };
}

/** Where a command was typed. `ref` is a stored, platform-prefixed reference (`console:local`, `slack:T1:C2`). */
export type Place = { ref: string; kind: 'dm' | 'channel'; private: boolean };

export type FormField = { name: string; label: string; secret: boolean; optional?: boolean };
export type Form = { title: string; intro?: string; fields: FormField[] };
/** A submitted form's values by field name: a field absent from `values` was left unanswered (unchanged), never cleared. */
export type FormResult = { status: 'submitted'; values: Record<string, string> } | { status: 'cancelled' | 'timed_out' } | { status: 'unreachable'; reason: string };

/** A person or place the platform will not let us write to (Telegram: never pressed Start; Discord 50007; Slack without im:write). */
export class NotReachableError extends Error {
  constructor(
    readonly platform: string,
    readonly ref: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${ref} on ${platform}: ${reason}`);
    this.name = 'NotReachableError';
  }
}

/**
 * A file that came with a command (a statement posted in a DM or a bound channel). The adapter
 * downloads it with the platform's API only when asked, and never past `maxBytes`.
 */
export type ChatAttachment = {
  name: string;
  /** As the platform reports it, when it does. */
  size: number | null;
  download(maxBytes: number): Promise<Buffer>;
};

export type CommandEvent = {
  actor: Identity;
  place: Place;
  /** What followed `/recon`. */
  text: string;
  /** Files sent with the command (a statement file), where the platform carries them. */
  attachments?: ChatAttachment[];
  /** Sends (or updates) progress for long work; the final answer is the handler's result. */
  progress(message: ChatMessage): Promise<void>;
  /**
   * Removes the person's message that carried the command from the chat (it held a secret).
   * Resolves to false when it is still there; absent where a command leaves no message that
   * others could read (slash commands, the console).
   */
  forget?(): Promise<boolean>;
};

/** A button pressed: `actionId` is the short id the button carried. */
export type ActionEvent = { actor: Identity; place: Place; actionId: string };

/**
 * A plain message in a private chat that was not a command (a bank code typed as is, say).
 * `forget` removes it from the chat, as CommandEvent's does (absent where nothing stays).
 */
export type ReplyEvent = { actor: Identity; place: Place; text: string; forget?(): Promise<boolean> };

export type ChatHandlers = {
  onCommand(event: CommandEvent): Promise<ChatMessage>;
  onAction?(event: ActionEvent): Promise<ChatMessage>;
  /** Resolves to an answer, or undefined when the message meant nothing to us (stay silent). */
  onReply?(event: ReplyEvent): Promise<ChatMessage | undefined>;
  /** True the first time a platform event id is seen, across restarts (inbound is at-least-once). */
  firstTime?(eventKey: string): Promise<boolean>;
};

export type Capabilities = {
  modals: boolean;
  buttons: boolean;
  deletesUserMessages: boolean;
  images: boolean;
  format: 'plain' | 'html' | 'markdown';
};

export type ChatAdapter = {
  readonly platform: string;
  readonly capabilities: Capabilities;
  /**
   * How a person sends a file with a command here, in words that complete "Send the statement
   * file with the command: …" (absent where no file can come with a command).
   */
  readonly filesHowTo?: string;
  /** How long the platform waits for an acknowledgement. */
  readonly ackDeadlineMs: number;
  start(handlers: ChatHandlers): Promise<void>;
  stop(): Promise<void>;
  /**
   * Posts to a stored reference (a DM or a channel). Resolves to a reference to the posted
   * message (see messageRef) where the adapter can edit it later, undefined otherwise.
   */
  send(destination: string, message: ChatMessage): Promise<string | undefined>;
  /**
   * The reference of the person's private chat with the bot, opened if needed (Slack
   * conversations.open, Discord's DM channel): prompts reach people who only ever wrote in channels.
   */
  openDm?(actor: Identity): Promise<string>;
  /** Replaces the text of a message this adapter posted (an OTP prompt someone else answered). */
  edit?(messageRef: string, message: ChatMessage): Promise<void>;
  /** Collects fields in private (modal, DM or hidden console input); secret values are never echoed. */
  askPrivately(actor: Identity, form: Form): Promise<FormResult>;
  /** Misconfiguration this platform can see (missing scopes, privacy mode, commands not registered); empty when fine. */
  doctor?(): Promise<string[]>;
};
