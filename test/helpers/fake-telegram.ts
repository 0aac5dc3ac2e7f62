import { createServer, type IncomingMessage } from 'node:http';
import { listenOnLoopback } from '../../src/http/loopback.js';
import { serveInPieces, type Download } from './serve-file.js';

/**
 * A fake of the Telegram Bot API on 127.0.0.1 for the real grammY client: real long polling
 * (getUpdates waits for updates or its timeout), sendMessage / editMessageText /
 * deleteMessage / setMyCommands / sendPhoto / answerCallbackQuery recorded, and injected
 * failures (429 with retry_after, 403 for people who never pressed Start, a connection cut
 * before any answer). Documents people send are served as the Bot API does: getFile gives a
 * file_path, and `/file/bot<token>/<file_path>` the bytes (each download recorded, with
 * whether it was read to the end).
 */

export type Call = { method: string; params: Record<string, unknown>; at: number };
type Update = Record<string, unknown> & { update_id: number };

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
  if (type.includes('multipart/form-data')) {
    // Only the plain fields are of interest (chat_id, caption); files are counted, not parsed.
    const text = raw.toString('latin1');
    const fields: Record<string, unknown> = {};
    for (const match of text.matchAll(/name="([^"]+)"\r\n\r\n([^\r]*)\r\n/g)) fields[match[1] as string] = match[2];
    fields.multipart = true;
    return fields;
  }
  return {};
}

export async function startFakeTelegram(token: string, port = 0) {
  const calls: Call[] = [];
  const updates: Update[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 1000;
  const pollers = new Set<() => void>();
  const failures: { method: string; chat?: string; status: number; body: Record<string, unknown> }[] = [];
  const blocked = new Set<string>();
  /** Methods whose every request is recorded, then has its connection cut without an answer. */
  const cut = new Set<string>();
  /** Every getUpdates offset, when it arrived: an update below it is acknowledged. */
  const confirmations: { offset: number; at: number }[] = [];
  const bot = { id: 4242, is_bot: true, first_name: 'Reconbanker', username: 'reconbanker_test_bot' };
  /** Documents sent, by file_id: their bytes (served as they are, whatever size was declared). */
  const files = new Map<string, { path: string; bytes: Buffer }>();
  /** Each request for a file's bytes: how much went out, and whether the reader took all of it. */
  const downloads: Download[] = [];
  let nextFile = 1;

  const server = createServer((req, res) => {
    void (async () => {
      const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.url ?? '');
      if (download) {
        if (download[1] !== token) return res.writeHead(401).end();
        const filePath = decodeURIComponent(download[2] as string);
        const file = [...files.values()].find((f) => f.path === filePath);
        if (!file) return res.writeHead(404).end();
        const record: Download = { path: filePath, sent: 0, complete: false, headers: req.headers };
        downloads.push(record);
        await serveInPieces(res, file.bytes, record);
        return;
      }
      const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
      const reply = (status: number, body: Record<string, unknown>) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!match || match[1] !== token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const method = match[2] as string;
      const params = await readBody(req);
      if (method !== 'getUpdates') calls.push({ method, params, at: Date.now() });
      if (cut.has(method)) return req.socket.destroy();
      const failure = failures.findIndex((f) => f.method === method && (f.chat === undefined || f.chat === String(params.chat_id)));
      if (failure >= 0) {
        const [f] = failures.splice(failure, 1);
        return reply(f!.status, f!.body);
      }
      if ((method === 'sendMessage' || method === 'sendPhoto') && blocked.has(String(params.chat_id))) {
        return reply(403, { ok: false, error_code: 403, description: "Forbidden: bot can't initiate conversation with a user" });
      }
      switch (method) {
        case 'getMe':
          return reply(200, { ok: true, result: bot });
        case 'getUpdates': {
          const offset = Number(params.offset ?? 0);
          confirmations.push({ offset, at: performance.now() });
          const timeoutMs = Math.min(Number(params.timeout ?? 0), 2) * 1000;
          const pending = () => updates.filter((u) => u.update_id >= offset);
          if (pending().length === 0 && timeoutMs > 0) {
            await new Promise<void>((resolve) => {
              const wake = () => {
                pollers.delete(wake);
                clearTimeout(timer);
                resolve();
              };
              const timer = setTimeout(wake, timeoutMs);
              pollers.add(wake);
            });
          }
          // Confirmed updates (below the offset) are forgotten, as Telegram does.
          for (let i = updates.length - 1; i >= 0; i--) if ((updates[i] as Update).update_id < offset) updates.splice(i, 1);
          return reply(200, { ok: true, result: pending() });
        }
        case 'sendMessage':
        case 'sendPhoto':
          return reply(200, { ok: true, result: { message_id: nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(params.chat_id), type: 'private' }, text: params.text ?? '' } });
        case 'getMyCommands': {
          const registered = [...calls].reverse().find((c) => c.method === 'setMyCommands');
          return reply(200, { ok: true, result: registered?.params.commands ?? [] });
        }
        case 'getFile': {
          const file = files.get(String(params.file_id));
          if (!file) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
          if (file.bytes.length > 20 * 1024 * 1024) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' });
          return reply(200, { ok: true, result: { file_id: params.file_id, file_unique_id: `u${String(params.file_id)}`, file_size: file.bytes.length, file_path: file.path } });
        }
        case 'getWebhookInfo':
          return reply(200, { ok: true, result: { url: '', has_custom_certificate: false, pending_update_count: 0 } });
        case 'editMessageText':
          return reply(200, { ok: true, result: { message_id: Number(params.message_id), date: 0, chat: { id: Number(params.chat_id), type: 'private' }, text: params.text } });
        default:
          return reply(200, { ok: true, result: true });
      }
    })();
  });
  const listening = await listenOnLoopback(server, port);

  /** Where updates go in webhook mode (as Telegram does after setWebhook), one at a time, in order. */
  let webhook: { url: string; secret: string } | undefined;
  let deliveries: Promise<unknown> = Promise.resolve();
  const webhookAnswers: number[] = [];

  function push(update: Omit<Update, 'update_id'>): number {
    const update_id = nextUpdateId++;
    if (webhook) {
      const { url, secret } = webhook;
      const body = JSON.stringify({ update_id, ...update });
      deliveries = deliveries.then(async () => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body }).catch(() => undefined);
        webhookAnswers.push(res?.status ?? 0);
      });
      return update_id;
    }
    updates.push({ update_id, ...update });
    for (const wake of [...pollers]) wake();
    return update_id;
  }

  type Person = { id: number; first_name: string };
  const chatOf = (person: Person, group?: number) => (group ? { id: group, type: 'group', title: 'Finance' } : { id: person.id, type: 'private', first_name: person.first_name });

  return {
    ...listening,
    apiRoot: listening.url,
    calls,
    blocked,
    cut,
    confirmations,
    /** The person types `text` in their private chat with the bot, or in a group. */
    type(person: Person, text: string, group?: number): { updateId: number; messageId: number } {
      const messageId = nextMessageId++;
      const command = /^\/(\w+)/.exec(text);
      const message = {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: chatOf(person, group),
        from: { id: person.id, is_bot: false, first_name: person.first_name },
        text,
        ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: (command[0] as string).length }] } : {}),
      };
      return { updateId: push({ message }), messageId };
    },
    /**
     * The person sends a document (with a caption, or none) in their private chat or a group.
     * `declaredSize` is the file_size the update says (the real size by default; null: none).
     */
    sendDocument(person: Person, file: { name: string; bytes: Buffer; caption?: string; declaredSize?: number | null }, group?: number): { updateId: number; messageId: number; fileId: string } {
      const messageId = nextMessageId++;
      const fileId = `doc-${nextFile++}`;
      files.set(fileId, { path: `documents/file_${fileId}.${file.name.split('.').pop() ?? 'bin'}`, bytes: file.bytes });
      const size = file.declaredSize === undefined ? file.bytes.length : file.declaredSize;
      const command = file.caption ? /^\/(\w+(@\w+)?)/.exec(file.caption) : null;
      const message = {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: chatOf(person, group),
        from: { id: person.id, is_bot: false, first_name: person.first_name },
        document: { file_id: fileId, file_unique_id: `u${fileId}`, file_name: file.name, mime_type: 'application/octet-stream', ...(size === null ? {} : { file_size: size }) },
        ...(file.caption ? { caption: file.caption } : {}),
        ...(command ? { caption_entities: [{ type: 'bot_command', offset: 0, length: (command[0] as string).length }] } : {}),
      };
      return { updateId: push({ message }), messageId, fileId };
    },
    /** Each download of a document's bytes (getFile's file_path). */
    downloads,
    /** The raw update the Telegram servers would POST to a webhook. */
    updateFor(person: Person, text: string): Update {
      const command = /^\/(\w+)/.exec(text);
      return {
        update_id: nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: chatOf(person),
          from: { id: person.id, is_bot: false, first_name: person.first_name },
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: (command[0] as string).length }] } : {}),
        },
      };
    },
    /** The person presses an inline button (its callback data) under a message in a chat. */
    press(person: Person, data: string, group?: number): number {
      return push({
        callback_query: {
          id: `cb-${nextUpdateId}`,
          from: { id: person.id, is_bot: false, first_name: person.first_name },
          chat_instance: 'ci',
          data,
          message: { message_id: nextMessageId++, date: Math.floor(Date.now() / 1000), chat: chatOf(person, group), text: '' },
        },
      });
    },
    /** The inline buttons of the last message sent to a chat. */
    buttonsIn(chatId: number | string): { text: string; callback_data: string }[] {
      const last = calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(chatId) && c.params.reply_markup).at(-1);
      const markup = last?.params.reply_markup as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined;
      return (markup?.inline_keyboard ?? []).flat();
    },
    /** The next call of `method` (to `chat`, when given) fails with this status and body. */
    failNext(method: string, status: number, body: Record<string, unknown>, chat?: number | string) {
      failures.push({ method, status, body, ...(chat === undefined ? {} : { chat: String(chat) }) });
    },
    /** From now on, updates are POSTed to this webhook with the secret-token header instead of waiting for getUpdates. */
    deliverTo(url: string, secret: string) {
      webhook = { url, secret };
    },
    /** The HTTP status of each webhook delivery, in order. */
    webhookAnswers,
    sentTo(chatId: number | string): string[] {
      return calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(chatId)).map((c) => String(c.params.text));
    },
    async close() {
      for (const wake of [...pollers]) wake();
      await listening.close();
    },
  };
}
