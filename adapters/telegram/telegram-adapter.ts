import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { Bot, GrammyError, HttpError, InputFile, webhookCallback, type Context } from 'grammy';
import type { ChatAdapter, ChatAttachment, ChatHandlers, ChatMessage, Form, FormResult } from '../../src/chat/port.js';
import { messageRef, NotReachableError, parseMessageRef } from '../../src/chat/port.js';
import { createLimit, HANDLING_CONCURRENCY, HANDLING_HOLD_MS } from '../../src/chat/limit.js';
import { createWaits } from '../../src/chat/waits.js';
import { createKeyedQueue } from '../../src/chat/queue.js';
import { memoryFirstTime } from '../../src/chat/inbound.js';
import { detached } from '../../src/chat/detached.js';
import { DEFAULT_RETRY_POLICY, withBoundedRetries, type RetryPolicy } from '../../src/chat/outbound.js';
import { downloadCapped, fileTooLargeText } from '../../src/chat/download.js';
import { UserError } from '../../src/domain/errors.js';
import type { Identity } from '../../src/domain/identity.js';
import { safeUrl, type Logger } from '../../src/log.js';
import { renderHtml, splitForTelegram } from './render.js';

/**
 * Telegram through grammY. Long polling by default, or a webhook with Telegram's secret-token
 * header. Places are `telegram:<chat id>` (a private chat's id is the person's id). Commands
 * are acknowledged by returning to grammY at once (the update is committed) and handled
 * concurrently, so a command waiting for a private answer never blocks the next update.
 * Private input is a DM conversation: the bot asks for each field, deletes a message that
 * holds a secret right after reading it, and edits its question to "received".
 *
 * Outbound: answers to commands and notifications go out in two queues per chat, so a
 * notice still being retried never holds up the answer to the person's next command; every
 * call is retried within one bounded policy (src/chat/outbound.ts). Only getMe is needed to
 * start: the command menu (setMyCommands) is registered in the background and tried again
 * later when Telegram, or a Bot API emulator that lacks it, refuses.
 *
 * Files: a document whose caption is a command (`/recon statement import Main`, or
 * `/recon@<bot> …`) carries the document to it; in a private chat a document without one is
 * `statement import` (the person's only statement account). The document is fetched (getFile,
 * then the Bot API's file URL, which holds the bot token) only when the command asks for it.
 */

export type TelegramOptions = {
  token: string;
  /** Bot API root (a self-hosted Bot API server, or a test fake). */
  apiRoot?: string;
  mode: 'polling' | 'webhook';
  webhook?: { port: number; path: string; secretToken: string; host?: string };
  /** How long a private form waits for each answer. */
  formTimeoutMs?: number;
  /** Outbound retries (tests shorten them). */
  retry?: RetryPolicy;
  /** The first wait before registering the command menu again after a refusal (doubles, at most an hour). */
  commandsRetryMs?: number;
  log: Logger;
};

/** Telegram's own limit for sendPhoto (a larger screenshot goes as text alone). */
const PHOTO_LIMIT_BYTES = 10 * 1024 * 1024;

export type TelegramAdapter = ChatAdapter & { readonly bot: Bot; webhookUrl(): string | undefined };

function identityOf(ctx: Context): Identity | undefined {
  const from = ctx.from;
  if (!from) return undefined;
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username || String(from.id);
  return { platform: 'telegram', teamId: 'telegram', userId: String(from.id), displayName: name };
}

const START_TIMEOUT_MS = 15_000;
const DEFAULT_API_ROOT = 'https://api.telegram.org';

/**
 * The command a document's caption holds (what follows `/recon` or `/recon@<this bot>`), or
 * undefined when the caption is not one of ours. grammY's command filter reads message text
 * only, never captions.
 */
export function commandInCaption(caption: string, botUsername: string): string | undefined {
  const match = /^\/recon(?:@(\w+))?(?:\s+([\s\S]*))?$/i.exec(caption.trim());
  if (!match) return undefined;
  if (match[1] !== undefined && match[1].toLowerCase() !== botUsername.toLowerCase()) return undefined;
  return (match[2] ?? '').trim();
}

export function createTelegramAdapter(options: TelegramOptions): TelegramAdapter {
  const log = options.log.child({ component: 'telegram' });
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const bot = new Bot(options.token, { client: { timeoutSeconds: Math.ceil(policy.attemptTimeoutMs / 1000), ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) } });
  /** A refusal that is worth trying again: a 429 (after its retry_after) or a server error. */
  class Passing extends Error {
    constructor(readonly response: { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } }) {
      super(response.description);
    }
  }
  // Start-up calls fail fast (the service reports it and tries the whole start again with its
  // own back-off); long polling retries on its own; everything else within the bounded policy.
  const unretried = new Set(['getMe', 'getUpdates', 'setMyCommands', 'setWebhook', 'deleteWebhook']);
  bot.api.config.use(async (call, method, payload, signal) => {
    if (unretried.has(method)) return call(method, payload, signal);
    try {
      return await withBoundedRetries(
        {
          what: `Telegram ${method}`,
          policy,
          log,
          ...(signal ? { signal } : {}),
          context: { chat: (payload as { chat_id?: unknown } | undefined)?.chat_id },
          judge: (error) => {
            if (error instanceof HttpError) return { retry: true, reason: 'network' };
            if (error instanceof Passing) {
              const after = error.response.parameters?.retry_after;
              return { retry: true, ...(after !== undefined ? { afterMs: after * 1000 } : {}), reason: `${error.response.error_code}` };
            }
            return { retry: false };
          },
        },
        async () => {
          const result = await call(method, payload, signal);
          if (!result.ok && (result.parameters?.retry_after !== undefined || result.error_code >= 500)) throw new Passing(result);
          return result;
        },
      );
    } catch (error) {
      // The last refusal goes back to grammY as an answer, so it throws its usual GrammyError.
      if (error instanceof Passing) return error.response;
      throw error;
    }
  });
  const formTimeoutMs = options.formTimeoutMs ?? 5 * 60_000;
  /**
   * Per-chat outbound queues, messages to one chat one at a time, in order: answers (and the
   * questions of a private form) in one, notifications in the other.
   */
  const lanes = { answer: createKeyedQueue(), notice: createKeyedQueue() };
  type Lane = keyof typeof lanes;
  const enqueue = lanes.answer;
  let commandsTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** A private conversation waiting for the person's next message in a DM, by chat id. */
  const replies = createWaits<{ text: string; messageId: number } | null>();
  let server: Server | undefined;
  let polling: Promise<void> | undefined;
  const handling = createLimit(HANDLING_CONCURRENCY, HANDLING_HOLD_MS);
  const fileRoot = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, '');

  /**
   * A document sent with a command, fetched only when the command asks: refused on its declared
   * size before any call; then getFile, and the file's URL (it holds the token: it reaches no
   * log or error, see downloadCapped) read up to the limit.
   */
  function attachmentOf(document: { file_id: string; file_name?: string; file_size?: number }): ChatAttachment {
    const name = document.file_name ?? 'statement';
    return {
      name,
      size: document.file_size ?? null,
      async download(maxBytes) {
        if (document.file_size !== undefined && document.file_size > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
        let file: Awaited<ReturnType<typeof bot.api.getFile>>;
        try {
          file = await bot.api.getFile(document.file_id);
        } catch (error) {
          // The Bot API serves bots files of up to 20 MB.
          if (error instanceof GrammyError && /too big/i.test(error.description)) throw new UserError(`Telegram lets a bot fetch files of up to 20 MB only, and ${name} is larger; drop it in the watched folder instead.`);
          if (error instanceof GrammyError) throw new UserError(`Telegram would not hand over ${name} (${error.description}); send it again.`);
          throw new UserError(`Could not reach Telegram to fetch ${name}; send it again in a moment.`);
        }
        if (!file.file_path) throw new UserError(`Telegram did not make ${name} available for download; send it again.`);
        const filePath = file.file_path.split('/').map(encodeURIComponent).join('/');
        return downloadCapped(`${fileRoot}/file/bot${options.token}/${filePath}`, { maxBytes, name, platform: 'Telegram' });
      },
    };
  }

  function chatIdOf(ref: string): string {
    const [platform, id] = ref.split(':');
    if (platform !== 'telegram' || !id) throw new Error(`not a Telegram place: ${ref}`);
    return id;
  }

  function unreachable(error: unknown): boolean {
    return error instanceof GrammyError && (error.error_code === 403 || (error.error_code === 400 && /chat not found/i.test(error.description)));
  }

  function notReachable(error: unknown, chatId: string): unknown {
    return unreachable(error) ? new NotReachableError('telegram', `telegram:${chatId}`, 'the person has not started a chat with the bot (press Start in a private chat with it)') : error;
  }

  /**
   * The text first (split under Telegram's limit), resolving to its last piece's id; a
   * screenshot follows in the same queue as a photo, unawaited: a photo Telegram refuses, or
   * one over its size limit, costs the image (logged), never the text.
   */
  async function post(chatId: string, message: ChatMessage, lane: Lane = 'answer'): Promise<number | undefined> {
    const queue = lanes[lane];
    let last: number | undefined;
    try {
      const pieces = splitForTelegram(renderHtml(message));
      for (const [i, piece] of pieces.entries()) {
        const keyboard =
          i === pieces.length - 1 && message.choices?.length
            ? { reply_markup: { inline_keyboard: message.choices.map((c) => [{ text: c.label, callback_data: c.id.slice(0, 64) }]) } }
            : {};
        const sent = await queue(chatId, () => bot.api.sendMessage(chatId, piece, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...keyboard }));
        last = sent.message_id;
      }
    } catch (error) {
      throw notReachable(error, chatId);
    }
    const image = message.image;
    if (image) {
      detached(log, 'could not attach a screenshot to a Telegram message (the text was sent)', () =>
        queue(chatId, async () => {
          const size = (await stat(image.path)).size;
          if (size > PHOTO_LIMIT_BYTES) {
            log.warn({ chat: chatId, bytes: size }, 'screenshot over Telegram\'s photo limit: the text was sent alone');
            return;
          }
          await bot.api.sendPhoto(chatId, new InputFile(image.path, 'screenshot.png'), { caption: image.alt.slice(0, 1000) });
        }),
      );
    }
    return last;
  }

  /** The command menu, registered in the background: tried again later (doubling, at most an hour) while it is refused. */
  function registerCommands(delayMs: number): void {
    void bot.api
      .setMyCommands([
        { command: 'recon', description: 'Reconbanker: accounts, sessions, payments (try /recon help)' },
        { command: 'start', description: 'Start, or link with an invite code' },
      ])
      .then(
        () => log.info('Telegram command menu registered'),
        (error: unknown) => {
          if (stopped) return;
          log.warn({ err: error, retryInSeconds: delayMs / 1000 }, 'could not register the Telegram command menu; /recon works without it; trying again later');
          commandsTimer = setTimeout(() => registerCommands(Math.min(delayMs * 2, 3_600_000)), delayMs);
          commandsTimer.unref();
        },
      );
  }

  /** Handlers go in once, even when start is tried again after the platform was down. */
  let installed = false;
  function install(handlers: ChatHandlers) {
    if (installed) return;
    installed = true;
    const firstTime = handlers.firstTime ?? memoryFirstTime();
    /**
     * Telegram redelivers an update that was not acknowledged in time (after a crash, to the
     * next process too): each is handled once. The check starts here, in update order, and is
     * awaited where the update is acted on: for commands and buttons after the acknowledgement,
     * so a burst is not confirmed one database write at a time. Update ids count per bot.
     */
    const fresh = new WeakMap<Context, Promise<boolean>>();
    const isFresh = (ctx: Context) => fresh.get(ctx) ?? Promise.resolve(true);
    bot.use(async (ctx, next) => {
      fresh.set(ctx, firstTime(`telegram:${ctx.me.id}:${ctx.update.update_id}`));
      await next();
    });

    /** The person's own message, gone from the chat before a secret in it is stored (false: it is still there). */
    const forgetter =
      (chatId: number, messageId: number | undefined) =>
      async (): Promise<boolean> => {
        if (messageId === undefined) return true;
        try {
          await enqueue(String(chatId), () => bot.api.deleteMessage(chatId, messageId));
          return true;
        } catch (error) {
          log.warn({ err: error, chat: chatId }, 'could not delete a message holding a secret');
          return false;
        }
      };

    const runCommand = (ctx: Context, text: string, attachments: ChatAttachment[] = []) => {
      const actor = identityOf(ctx);
      const chat = ctx.chat;
      if (!actor || !chat) return;
      const isPrivate = chat.type === 'private';
      const place = { ref: `telegram:${chat.id}`, kind: isPrivate ? ('dm' as const) : ('channel' as const), private: isPrivate };
      const forget = forgetter(chat.id, ctx.message?.message_id);
      // Acknowledge now (return to grammY), handle when a slot is free.
      void handling(async () => {
        try {
          if (!(await isFresh(ctx))) return;
          const reply = await handlers.onCommand({
            actor,
            place,
            text,
            ...(attachments.length > 0 ? { attachments } : {}),
            progress: async (message) => void (await post(String(chat.id), message)),
            forget,
          });
          await post(String(chat.id), reply);
        } catch (error) {
          log.error({ err: error, chat: chat.id }, 'could not answer a Telegram command');
        }
      });
    };

    bot.command('recon', (ctx) => runCommand(ctx, ctx.match.trim()));
    // Deep link from an invite: t.me/<bot>?start=<code> arrives as "/start <code>".
    bot.command('start', (ctx) => runCommand(ctx, ctx.match.trim() ? `link ${ctx.match.trim()}` : 'help'));
    // A document: the command in its caption takes it; alone in a private chat it is a statement to import.
    bot.on('message:document', (ctx) => {
      const text = commandInCaption(ctx.message.caption ?? '', ctx.me.username);
      if (text === undefined && ctx.chat.type !== 'private') return;
      runCommand(ctx, text ?? 'statement import', [attachmentOf(ctx.message.document)]);
    });

    // A button: acknowledged at once (the spinner stops), its stored action runs concurrently.
    bot.on('callback_query:data', async (ctx) => {
      const actor = identityOf(ctx);
      const chat = ctx.chat;
      await ctx.answerCallbackQuery().catch(() => undefined);
      if (!actor || !chat || !handlers.onAction) return;
      const isPrivate = chat.type === 'private';
      const place = { ref: `telegram:${chat.id}`, kind: isPrivate ? ('dm' as const) : ('channel' as const), private: isPrivate };
      const actionId = ctx.callbackQuery.data;
      detached(log, 'could not answer a Telegram button', async () => {
        if (!(await isFresh(ctx))) return;
        const reply = await handlers.onAction!({ actor, place, actionId });
        await post(String(chat.id), reply);
      });
    });

    bot.on('message:text', async (ctx) => {
      if (ctx.chat.type !== 'private') return;
      // A form's answer or a code typed as is: rare, and its order matters, so checked first.
      if (!(await isFresh(ctx))) return;
      if (replies.settle(String(ctx.chat.id), { text: ctx.message.text, messageId: ctx.message.message_id })) return;
      // Anything else typed in private may be a bank code answered as is.
      const actor = identityOf(ctx);
      if (!actor || !handlers.onReply || ctx.message.text.startsWith('/')) return;
      const chatId = ctx.chat.id;
      const text = ctx.message.text;
      // A bank code typed as is goes from the chat like one sent with /recon otp.
      const forget = forgetter(chatId, ctx.message.message_id);
      void handling(async () => {
        try {
          const reply = await handlers.onReply!({ actor, place: { ref: `telegram:${chatId}`, kind: 'dm', private: true }, text, forget });
          if (reply) await post(String(chatId), reply);
        } catch (error) {
          log.error({ err: error }, 'could not answer a Telegram message');
        }
      });
    });
    bot.catch((error) => log.error({ err: error.error }, 'Telegram update failed'));
  }

  return {
    platform: 'telegram',
    bot,
    capabilities: { modals: false, buttons: true, deletesUserMessages: true, images: true, format: 'html' },
    filesHowTo: 'send it as a document (a file, not a photo) with the caption /recon statement import <account>; in your private chat with the bot, a document alone goes to your only statement account',
    // Telegram has no reply deadline; an update is acknowledged when the handler returns.
    ackDeadlineMs: 10_000,

    webhookUrl() {
      if (!server) return undefined;
      const address = server.address();
      return typeof address === 'object' && address ? `http://${options.webhook?.host ?? '127.0.0.1'}:${address.port}${options.webhook?.path ?? '/'}` : undefined;
    },

    async start(handlers) {
      install(handlers);
      // grammY retries getMe for as long as Telegram is unreachable: bounded here, so the
      // service can say so and try again with its own back-off.
      await bot.init(AbortSignal.timeout(START_TIMEOUT_MS) as Parameters<typeof bot.init>[0]);
      stopped = false;
      registerCommands(options.commandsRetryMs ?? 60_000);
      if (options.mode === 'webhook') {
        const hook = options.webhook;
        if (!hook) throw new Error('Telegram webhook mode needs a port, a path and a secret token');
        // A request without Telegram's secret-token header is answered 401 by grammY.
        const callback = webhookCallback(bot, 'http', { secretToken: hook.secretToken });
        server = createServer((req, res) => {
          if (req.method === 'POST' && req.url === hook.path) void callback(req, res);
          else res.writeHead(404).end();
        });
        await new Promise<void>((resolve) => server!.listen(hook.port, hook.host ?? '127.0.0.1', resolve));
        log.info({ url: this.webhookUrl() }, 'Telegram webhook listening');
      } else {
        polling = bot.start({ drop_pending_updates: false, allowed_updates: ['message', 'callback_query'], onStart: () => log.info({ bot: bot.botInfo.username }, 'Telegram long polling started') });
        polling.catch((error: unknown) => log.error({ err: error }, 'Telegram polling stopped'));
      }
    },

    async stop() {
      stopped = true;
      clearTimeout(commandsTimer);
      replies.settleAll(null);
      if (bot.isRunning()) await bot.stop();
      await polling?.catch(() => undefined);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    },

    async send(destination, message) {
      const id = await post(chatIdOf(destination), message, 'notice');
      return id === undefined ? undefined : messageRef(destination, String(id));
    },

    // A private chat's id is the person's id (writing there works once they pressed Start).
    async openDm(actor) {
      return `telegram:${actor.userId}`;
    },

    async edit(ref, message) {
      const { place, messageId } = parseMessageRef(ref);
      const chatId = chatIdOf(place);
      const [first] = splitForTelegram(renderHtml(message));
      await lanes.notice(chatId, () => bot.api.editMessageText(chatId, Number(messageId), first ?? '', { parse_mode: 'HTML', link_preview_options: { is_disabled: true } }));
    },

    async doctor() {
      const findings: string[] = [];
      const me = await bot.api.getMe();
      if (!me.can_read_all_group_messages) {
        findings.push(`Telegram: group privacy mode is on, so in groups write /recon@${me.username} … (or BotFather → /setprivacy → Disable).`);
      }
      // Each check on its own: a Bot API (or an emulator) without one of them still gets the others.
      const commands = await bot.api.getMyCommands().catch(() => undefined);
      if (!commands) findings.push('Telegram: the registered bot commands could not be read (getMyCommands failed); /recon works without the menu.');
      else if (!commands.some((c) => c.command === 'recon')) findings.push('Telegram: /recon is not registered as a bot command (restart the service, or check the token).');
      const hook = await bot.api.getWebhookInfo().catch(() => undefined);
      if (!hook) findings.push('Telegram: the webhook status could not be read (getWebhookInfo failed).');
      else {
        // The report goes to chat: the URL without what may be a secret (a bot token in its path, a query).
        if (options.mode === 'polling' && hook.url) findings.push(`Telegram: a webhook is set (${safeUrl(hook.url)}) while the service uses long polling; remove it with deleteWebhook or set TELEGRAM_MODE=webhook.`);
        if (options.mode === 'webhook' && !hook.url) findings.push('Telegram: webhook mode, but Telegram has no webhook URL for this bot (call setWebhook with your public URL and the secret token).');
        if (hook.last_error_message) findings.push(`Telegram: the last webhook delivery failed: ${hook.last_error_message}.`);
      }
      return findings;
    },

    async askPrivately(actor: Identity, form: Form): Promise<FormResult> {
      const chatId = Number(actor.userId);
      const values: Record<string, string> = {};
      try {
        await post(String(chatId), { text: `${form.title}${form.intro ? `\n${form.intro}` : ''}\nAnswer each question here; send "cancel" to stop.` });
        for (const field of form.fields) {
          const question = field.secret ? `${field.label}? (your message is deleted as soon as it is read)` : `${field.label}?`;
          const promptId = await post(String(chatId), { text: question });
          const answer = await replies.wait(String(chatId), formTimeoutMs, null);
          if (!answer) return { status: 'timed_out' };
          if (field.secret) {
            // Gone from the chat before anything else happens; the value lives on only in memory.
            await enqueue(String(chatId), () => bot.api.deleteMessage(chatId, answer.messageId)).catch((error: unknown) => log.warn({ err: error }, 'could not delete a message holding a secret'));
            if (promptId) await enqueue(String(chatId), () => bot.api.editMessageText(chatId, promptId, `${field.label}: received.`)).catch(() => undefined);
          }
          const text = answer.text.trim();
          if (text.toLowerCase() === 'cancel' || (text === '' && !field.optional)) {
            await post(String(chatId), { text: 'Cancelled.' });
            return { status: 'cancelled' };
          }
          values[field.name] = text;
        }
        return { status: 'submitted', values };
      } catch (error) {
        if (error instanceof NotReachableError) return { status: 'unreachable', reason: error.reason };
        throw error;
      }
    },
  };
}
