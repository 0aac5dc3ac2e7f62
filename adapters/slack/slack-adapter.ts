import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { App, LogLevel, SocketModeReceiver, webApi, type Logger as BoltLogger } from '@slack/bolt';
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
import type { Logger } from '../../src/log.js';
import { createAckFirstReceiver } from './ack-first-receiver.js';
import { renderBlocks } from './render.js';

/**
 * Slack through Bolt, in HTTP mode (requests verified with the signing secret: a bad
 * signature or a timestamp older than 5 minutes gets 401) or in Socket Mode (an outbound
 * WebSocket opened with the app-level token; no public URL). `/recon` is acknowledged at once,
 * then handled; answers go to the command's `response_url` while it is valid (30 minutes) and
 * by `chat.postMessage` after. Private input is a modal opened with the command's trigger id
 * (valid about 3 seconds). Places are `slack:<team>:<channel>`.
 *
 * Files: a slash command cannot carry one, so a statement comes as a message with the file
 * (Events API `message` with `files`, in a DM with the app or a channel it is in) whose text is
 * `statement import <account>` (or `preview`; `/recon` before it, or a mention of the app, may be
 * there too); in a DM a file with no text is `statement import`. Every other message is left
 * alone, unread. The file is fetched from its `url_private_download` with the bot token
 * (files:read) only when the command asks, and only from Slack. `file_shared` events are not
 * used: they carry no text, and the `message` event of the same upload does.
 */

export type SlackOptions = {
  botToken: string;
  /** Web API root (tests point it at a fake). */
  apiUrl?: string;
  /** Retries of a failed request (network, server); 0 in tests. Never more than the policy's attempts. */
  retries?: number;
  /** Outbound retries (tests shorten them). */
  retry?: RetryPolicy;
  formTimeoutMs?: number;
  log: Logger;
} & (
  | {
      mode?: 'http';
      signingSecret: string;
      port: number;
      host?: string;
      path?: string;
      /** How long one request may take to arrive whole (its headers within at most 10 s): a slow sender is cut off. */
      requestTimeoutMs?: number;
    }
  | { mode: 'socket'; appToken: string }
);

/** A request's headers and its whole body must arrive within these (Node's defaults are minutes). */
const REQUEST_TIMEOUT_MS = 15_000;
const HEADERS_TIMEOUT_MS = 10_000;

/**
 * Bolt's and the Socket Mode client's logs go to ours at warn and above only: their debug
 * lines print whole payloads (a modal's submitted password among them).
 */
function boltLogger(log: Logger): BoltLogger {
  const text = (parts: unknown[]) => parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' ');
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => log.warn(text(parts)),
    error: (...parts: unknown[]) => log.error(text(parts)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: () => undefined,
  };
}

export type SlackAdapter = ChatAdapter & { url(): string | undefined };

const RESPONSE_URL_TTL_MS = 30 * 60_000;
/** commands: /recon; chat:write: answers and notices; im:write: prompts by DM. */
const REQUIRED_SCOPES = ['commands', 'chat:write', 'im:write'];
/** files:read: fetching a posted statement; *:history: the message events that carry files (DMs, channels). */
const FILE_SCOPES = ['files:read', 'im:history', 'channels:history'];

type SlackFile = { id: string; name?: string; title?: string; size?: number; url_private_download?: string; url_private?: string };

/**
 * The statement command a message that came with a file holds, or undefined when it holds
 * none: `statement import|preview …`, after an optional `/recon` or a mention of the app; in
 * a DM, no text at all is `statement import`. Slack escapes &, < and > in message text.
 */
export function statementCommandIn(text: string, isDm: boolean): string | undefined {
  const plain = text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[\u201C\u201D\u201E]/g, '"')
    .replace(/[\u2018\u2019]/g, "'")
    .trim()
    .replace(/^<@[A-Z0-9]+>\s*/, '')
    .replace(/^\/recon\b\s*/i, '');
  if (plain === '') return isDm ? 'statement import' : undefined;
  return /^statement\s+(import|preview)\b/i.test(plain) ? plain : undefined;
}
const TRIGGER_TTL_MS = 2_500;
const START_TIMEOUT_MS = 15_000;

export function createSlackAdapter(options: SlackOptions): SlackAdapter {
  const log = options.log.child({ component: 'slack' });
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  // Bounded (src/chat/outbound.ts): a hung request ends at the attempt timeout, failures are
  // retried a few times within the budget, and a 429 is handed to us (rejectRateLimitedCalls)
  // instead of pausing every call of the client for as long as Slack asks.
  const clientOptions = {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    timeout: policy.attemptTimeoutMs,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: Math.min(options.retries ?? policy.attempts - 1, policy.attempts - 1), factor: 2, minTimeout: policy.baseDelayMs, maxRetryTime: policy.totalMs },
  };
  const logger = boltLogger(log);
  const http = options.mode === 'socket' ? undefined : { ...options, path: options.path ?? '/slack/events' };
  const httpReceiver = http ? createAckFirstReceiver({ signingSecret: http.signingSecret, path: http.path, log }) : undefined;
  const socketReceiver =
    options.mode === 'socket'
      ? new SocketModeReceiver({ appToken: options.appToken, logger, installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: options.retries ?? 100, factor: 1.3 } } } })
      : undefined;
  const app = new App({ token: options.botToken, receiver: (httpReceiver ?? socketReceiver)!, logger, clientOptions, deferInitialization: true });
  const formTimeoutMs = options.formTimeoutMs ?? 10 * 60_000;
  /** The latest trigger id per person (opening a modal needs one, fresh). */
  const triggers = new Map<string, { id: string; at: number }>();
  const forms = createWaits<FormResult>();
  let server: Server | undefined;

  function channelOf(ref: string): string {
    const [platform, , channel] = ref.split(':');
    if (platform !== 'slack' || !channel) throw new Error(`not a Slack place: ${ref}`);
    return channel;
  }

  /** Seconds Slack asked us to wait (a 429), or undefined for any other failure. */
  function retryAfterOf(error: unknown): number | undefined {
    const direct = (error as { retryAfter?: number }).retryAfter;
    if (typeof direct === 'number') return direct;
    const text = `${(error as Error).message ?? ''} ${((error as { original?: Error }).original?.message ?? '')}`;
    const match = /rate limit.*retry-after: (\d+)/i.exec(text);
    return match ? Number(match[1]) : undefined;
  }

  /** Messages to one channel go out one at a time, in order, honouring Retry-After. */
  const enqueue = createKeyedQueue();

  /** One Web API call, tried again after the Retry-After of a 429 while it fits in the policy. */
  async function withRetryAfter<T>(channel: string, call: () => Promise<T>): Promise<T> {
    return withBoundedRetries(
      {
        what: 'Slack Web API call',
        policy,
        log,
        context: { channel },
        judge: (error) => {
          const wait = retryAfterOf(error);
          return wait === undefined ? { retry: false } : { retry: true, afterMs: wait * 1000, reason: 'rate limited' };
        },
      },
      call,
    );
  }

  /**
   * A screenshot right under its message (needs files:write; without it the message keeps the
   * path and the failure to attach is logged). A fixed file name: nothing of the path travels.
   */
  async function attach(channel: string, image: NonNullable<ChatMessage['image']>): Promise<void> {
    try {
      const file = await readFile(image.path);
      await withRetryAfter(channel, () => app.client.filesUploadV2({ channel_id: channel, file, filename: 'screenshot.png', title: 'Bank page', alt_text: image.alt }));
    } catch (error) {
      log.warn({ err: error, channel }, 'could not attach a screenshot (is the files:write scope granted?)');
    }
  }

  /** Posts in order per channel; resolves to the message's ts. */
  async function post(channel: string, message: ChatMessage): Promise<string | undefined> {
    const { text, blocks } = renderBlocks(message);
    try {
      const sent = await enqueue(channel, () => withRetryAfter(channel, () => app.client.chat.postMessage({ channel, text, blocks: blocks as never })));
      // The screenshot follows in the same queue, unawaited: it never holds up the text's sender.
      const image = message.image;
      if (image) detached(log, 'could not attach a screenshot', () => enqueue(channel, () => attach(channel, image)));
      return sent.ts;
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      if (code === 'channel_not_found' || code === 'not_in_channel' || code === 'missing_scope' || code === 'cannot_dm_bot' || code === 'user_not_found') {
        throw new NotReachableError('slack', `slack:${channel}`, code === 'missing_scope' ? 'the app lacks the im:write or chat:write scope' : `Slack says ${code}`);
      }
      if (retryAfterOf(error) === undefined) log.warn({ channel, code: code ?? (error as { code?: string }).code }, 'gave up sending a chat message');
      throw error;
    }
  }

  const handling = createLimit(HANDLING_CONCURRENCY, HANDLING_HOLD_MS);

  /** The bot token goes to Slack's own hosts only (or to the Web API root this adapter was given, a test fake). */
  function tokenMayGoTo(raw: string): boolean {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return false;
    }
    if (options.apiUrl && url.origin === new URL(options.apiUrl).origin) return true;
    return url.protocol === 'https:' && (url.hostname === 'slack.com' || url.hostname.endsWith('.slack.com'));
  }

  /**
   * A file posted with a statement command, fetched only when the command asks: refused on
   * its declared size first; its download URL (from files.info when the event lacks one) read
   * with the bot token up to the limit.
   */
  function fileAttachment(file: SlackFile): ChatAttachment {
    const name = file.name ?? file.title ?? 'statement';
    const declared = typeof file.size === 'number' ? file.size : null;
    return {
      name,
      size: declared,
      async download(maxBytes) {
        if (declared !== null && declared > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
        let url = file.url_private_download ?? file.url_private;
        if (!url) {
          try {
            const info = await app.client.files.info({ file: file.id });
            url = info.file?.url_private_download ?? info.file?.url_private;
            if (typeof info.file?.size === 'number' && info.file.size > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
          } catch (error) {
            if (error instanceof UserError) throw error;
            const code = (error as { data?: { error?: string } }).data?.error;
            throw new UserError(code === 'missing_scope' ? `Slack did not let the app read ${name}: it needs the files:read scope (add it, then reinstall the app).` : `Slack would not describe ${name}${code ? ` (${code})` : ''}; send it again.`);
          }
        }
        if (!url) throw new UserError(`Slack gave no download address for ${name}; send it again.`);
        if (!tokenMayGoTo(url)) throw new UserError(`Slack's download address for ${name} is not on slack.com, so it was not fetched.`);
        return downloadCapped(url, {
          maxBytes,
          name,
          platform: 'Slack',
          headers: { authorization: `Bearer ${options.botToken}` },
          // Without files:read Slack answers its sign-in page instead of the file.
          refuse: (type) => (/text\/html/i.test(type) ? `Slack answered with a web page instead of ${name}: the app needs the files:read scope (add it, then reinstall the app).` : undefined),
        });
      },
    };
  }

  /** Handlers go in once, even when start is tried again after the platform was down. */
  let installed = false;
  function install(handlers: ChatHandlers) {
    if (installed) return;
    installed = true;
    const firstTime = handlers.firstTime ?? memoryFirstTime();
    app.command('/recon', async ({ command, ack, respond }) => {
      // Acknowledged at the door (ack-first-receiver); a retry (same trigger) is handled once.
      await ack();
      const actor: Identity = { platform: 'slack', teamId: command.team_id, userId: command.user_id, displayName: command.user_name };
      triggers.set(`${command.team_id}:${command.user_id}`, { id: command.trigger_id, at: Date.now() });
      const isDm = command.channel_id.startsWith('D') || command.channel_name === 'directmessage';
      const place = { ref: `slack:${command.team_id}:${command.channel_id}`, kind: isDm ? ('dm' as const) : ('channel' as const), private: isDm };
      const started = Date.now();
      const answer = async (message: ChatMessage) => {
        const { text, blocks } = renderBlocks(message);
        if (Date.now() - started < RESPONSE_URL_TTL_MS) await respond({ text, blocks: blocks as never, response_type: 'ephemeral', replace_original: false });
        else await post(command.channel_id, message);
      };
      void handling(async () => {
        try {
          // Checked in its turn, not in the burst of acknowledgements (a database write each).
          if (!(await firstTime(`slack:${command.team_id}:${command.trigger_id}`))) return;
          const reply = await handlers.onCommand({ actor, place, text: command.text ?? '', progress: answer });
          await answer(reply);
        } catch (error) {
          log.error({ err: error }, 'could not answer a Slack command');
        }
      });
    });

    // A message with a file (a statement): the only messages read. The app's own uploads
    // (screenshots) are left out by Bolt's ignoreSelf, and other bots' by their bot_id.
    app.event('message', async ({ event, body }) => {
      const message = event as { subtype?: string; bot_id?: string; user?: string; channel?: string; channel_type?: string; text?: string; ts?: string; thread_ts?: string; team?: string; files?: SlackFile[]; user_profile?: { display_name?: string; real_name?: string } };
      if (!message.files?.length || message.bot_id || !message.user || !message.channel) return;
      const isDm = message.channel_type === 'im' || message.channel.startsWith('D');
      const text = statementCommandIn(message.text ?? '', isDm);
      if (text === undefined) return;
      const team = message.team ?? (body as { team_id?: string }).team_id ?? 'unknown';
      const user = message.user;
      const channel = message.channel;
      const actor: Identity = { platform: 'slack', teamId: team, userId: user, displayName: message.user_profile?.display_name || message.user_profile?.real_name || user };
      const place = { ref: `slack:${team}:${channel}`, kind: isDm ? ('dm' as const) : ('channel' as const), private: isDm };
      const files = message.files;
      // In a channel only the sender sees the answer, as with /recon.
      const answer = async (reply: ChatMessage) => {
        if (isDm) return void (await post(channel, reply));
        const { text: fallback, blocks } = renderBlocks(reply);
        await enqueue(channel, () => withRetryAfter(channel, () => app.client.chat.postEphemeral({ channel, user, text: fallback, blocks: blocks as never, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) })));
      };
      void handling(async () => {
        try {
          // One upload in one place is handled once (Slack retries events it thinks were not received).
          if (!(await firstTime(`slack:file:${team}:${channel}:${files.map((f) => f.id).join(',')}`))) return;
          const reply = await handlers.onCommand({ actor, place, text, attachments: files.map(fileAttachment), progress: answer });
          await answer(reply);
        } catch (error) {
          log.error({ err: error }, 'could not answer a Slack message with a file');
        }
      });
    });

    app.view('rb_form', async ({ ack, view }) => {
      await ack();
      const values: Record<string, string> = {};
      for (const [blockId, block] of Object.entries(view.state.values)) {
        const input = block.value as { value?: string | null } | undefined;
        if (input?.value) values[blockId] = input.value;
      }
      forms.settle(view.private_metadata, { status: 'submitted', values });
    });
    app.view({ callback_id: 'rb_form', type: 'view_closed' }, async ({ ack, view }) => {
      await ack();
      forms.settle(view.private_metadata, { status: 'cancelled' });
    });

    app.action(/^rb:/, async ({ ack, body, action }) => {
      await ack();
      if (!handlers.onAction || body.type !== 'block_actions') return;
      if (!(await firstTime(`slack:${body.user.id}:${(action as { action_ts?: string }).action_ts ?? body.trigger_id}`))) return;
      const actionId = (action as { value?: string }).value ?? '';
      const team = body.team?.id ?? body.user.team_id ?? 'unknown';
      const channel = body.channel?.id ?? '';
      const actor: Identity = { platform: 'slack', teamId: team, userId: body.user.id, displayName: body.user.name ?? body.user.id };
      // A stored action may ask in private (a bank code from the prompt's button): the press's trigger opens the modal.
      triggers.set(`${team}:${body.user.id}`, { id: body.trigger_id, at: Date.now() });
      const isDm = channel.startsWith('D');
      detached(log, 'could not answer a Slack button', async () => {
        const reply = await handlers.onAction!({ actor, place: { ref: `slack:${team}:${channel}`, kind: isDm ? 'dm' : 'channel', private: isDm }, actionId });
        await post(channel, reply);
      });
    });
    app.error(async (error) => log.error({ err: error }, 'Slack event failed'));
  }

  return {
    platform: 'slack',
    capabilities: { modals: true, buttons: true, deletesUserMessages: false, images: true, format: 'markdown' },
    filesHowTo: "Slack's /recon cannot carry a file, so post the file as a message whose text is statement import <account>, in your DM with the app or in a channel it is in",
    ackDeadlineMs: 3_000,

    url() {
      const address = server?.address();
      return http && typeof address === 'object' && address ? `http://${http.host ?? '127.0.0.1'}:${address.port}${http.path}` : undefined;
    },

    async start(handlers) {
      install(handlers);
      // Bolt's client retries auth.test for many minutes while Slack is unreachable: one quick
      // probe first, so the service can say so and try again with its own back-off.
      await new webApi.WebClient(options.botToken, { ...clientOptions, logger, retryConfig: { retries: 0 }, timeout: START_TIMEOUT_MS }).auth.test();
      await app.init();
      if (socketReceiver) {
        // Resolves once Slack's "hello" arrives on the socket; reconnects on its own after.
        await socketReceiver.start();
        log.info('Slack connected in Socket Mode');
        return;
      }
      const requestTimeout = http!.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
      server = createServer(
        { requestTimeout, headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout), connectionsCheckingInterval: Math.min(1_000, requestTimeout) },
        httpReceiver!.requestListener,
      );
      server.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve) => server!.listen(http!.port, http!.host ?? '127.0.0.1', resolve));
      log.info({ url: this.url() }, 'Slack HTTP endpoint listening');
    },

    async stop() {
      forms.settleAll({ status: 'cancelled' });
      if (socketReceiver) {
        const closed = new Promise<void>((resolve) => {
          socketReceiver.client.once('disconnected', () => resolve());
          setTimeout(resolve, 5_000).unref();
        });
        await socketReceiver.stop();
        await closed;
      }
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    },

    async send(destination, message) {
      const ts = await post(channelOf(destination), message);
      return ts ? messageRef(destination, ts) : undefined;
    },

    async openDm(actor) {
      try {
        const opened = await app.client.conversations.open({ users: actor.userId });
        if (!opened.channel?.id) throw new Error('Slack opened no channel');
        return `slack:${actor.teamId}:${opened.channel.id}`;
      } catch (error) {
        const code = (error as { data?: { error?: string } }).data?.error;
        if (code === 'missing_scope') throw new NotReachableError('slack', `slack:${actor.teamId}:${actor.userId}`, 'the app lacks the im:write scope');
        throw error;
      }
    },

    async edit(ref, message) {
      const { place, messageId } = parseMessageRef(ref);
      const channel = channelOf(place);
      const { text, blocks } = renderBlocks(message);
      await enqueue(channel, () => withRetryAfter(channel, () => app.client.chat.update({ channel, ts: messageId, text, blocks: blocks as never })));
    },

    async doctor() {
      const auth = await app.client.auth.test();
      // Slack lists the scopes in a header; an API (or emulator) that does not cannot be checked.
      if (!auth.response_metadata?.scopes) return ["Slack: the app's scopes could not be checked (auth.test listed none)."];
      const scopes = new Set(auth.response_metadata.scopes);
      const missing = REQUIRED_SCOPES.filter((scope) => !scopes.has(scope));
      const forFiles = FILE_SCOPES.filter((scope) => !scopes.has(scope));
      return [
        ...(missing.length > 0 ? [`Slack: the app lacks the scope(s) ${missing.join(', ')} (add them under OAuth & Permissions, then reinstall the app).`] : []),
        ...(forFiles.length > 0 ? [`Slack: without the scope(s) ${forFiles.join(', ')} statement files posted in Slack are not read (add them, subscribe to the message.im and message.channels bot events, then reinstall the app).`] : []),
      ];
    },

    async askPrivately(actor: Identity, form: Form): Promise<FormResult> {
      const trigger = triggers.get(`${actor.teamId}:${actor.userId}`);
      if (!trigger || Date.now() - trigger.at > TRIGGER_TTL_MS) {
        return { status: 'unreachable', reason: 'a private form can only open right after a command; run the command again' };
      }
      triggers.delete(`${actor.teamId}:${actor.userId}`);
      const id = randomUUID();
      const result = forms.wait(id, formTimeoutMs, { status: 'timed_out' });
      const opened = app.client.views.open({
        trigger_id: trigger.id,
        view: {
          type: 'modal',
          callback_id: 'rb_form',
          private_metadata: id,
          notify_on_close: true,
          title: { type: 'plain_text', text: form.title.slice(0, 24) },
          submit: { type: 'plain_text', text: 'Save' },
          close: { type: 'plain_text', text: 'Cancel' },
          blocks: ([
            ...(form.intro ? [{ type: 'section', text: { type: 'mrkdwn', text: form.intro } }] : []),
            ...form.fields.map((field) => ({
              type: 'input',
              block_id: field.name,
              optional: field.optional === true,
              label: { type: 'plain_text', text: field.label },
              element: { type: 'plain_text_input', action_id: 'value' },
            })),
          ] as never),
        },
      });
      try {
        await opened;
      } catch (error) {
        forms.settle(id, { status: 'cancelled' });
        // Slack refuses a trigger id that came too late (about 3 seconds after the command).
        const code = (error as { data?: { error?: string } }).data?.error;
        if (code === 'invalid_trigger_id' || code === 'expired_trigger_id' || code === 'trigger_exchanged') return { status: 'unreachable', reason: 'Slack did not let the private form open in time; run the command again' };
        throw error;
      }
      return result;
    },
  };
}
