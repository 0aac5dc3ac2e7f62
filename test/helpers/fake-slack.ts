import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenOnLoopback } from '../../src/http/loopback.js';
import { serveInPieces, type Download } from './serve-file.js';

/**
 * A fake of Slack's Web API (and of response_url) on 127.0.0.1 for the real Bolt client, plus
 * helpers that send Slack's signed HTTP requests (slash commands, modal submissions, button
 * presses) to the app. Socket Mode too: `apps.connections.open` hands out a ws:// URL on
 * the same port, which says hello and carries the same payloads as envelopes to be acked.
 * Files people post are served at their `url_private_download` to the bot token alone (each
 * download recorded); with `files.scopeMissing` Slack's sign-in page is answered instead, as
 * Slack does for a token without files:read.
 */

export type SlackCall = { method: string; params: Record<string, unknown>; at: number };

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const params: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    try {
      params[key] = /^[[{]/.test(value) ? (JSON.parse(value) as unknown) : value;
    } catch {
      params[key] = value;
    }
  }
  return params;
}

export type SlackFileObject = { id: string; name: string; title: string; mimetype: string; filetype: string; size?: number; url_private: string; url_private_download?: string };

export async function startFakeSlack(options: { botToken?: string } = {}) {
  const calls: SlackCall[] = [];
  /** Files people posted, by id. */
  const files = new Map<string, { object: SlackFileObject; bytes: Buffer }>();
  const downloads: Download[] = [];
  const filesState = { scopeMissing: false };
  let nextFile = 1;
  const limited: { method: string; channel?: string; retryAfter: number }[] = [];
  const responses: Record<string, unknown>[] = [];
  /** Files sent to an upload URL (files.uploadV2's second step). */
  const uploads: { fileId: string; bytes: number }[] = [];
  let ts = 1000;
  const server = createServer((req, res) => {
    void (async () => {
      const download = /^\/files-pri\/T1-(F\w+)\/download\//.exec(req.url ?? '');
      if (download) {
        const file = files.get(download[1] as string);
        if (!file) return res.writeHead(404).end();
        if (options.botToken && req.headers.authorization !== `Bearer ${options.botToken}`) return res.writeHead(302, { location: 'https://acme.slack.com/?redir=files' }).end();
        if (filesState.scopeMissing) return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><html><body>Sign in to Slack</body></html>');
        const record: Download = { path: req.url ?? '', sent: 0, complete: false, headers: req.headers };
        downloads.push(record);
        return serveInPieces(res, file.bytes, record, { 'content-length': String(file.bytes.length) });
      }
      if (req.url?.startsWith('/upload/')) {
        let bytes = 0;
        for await (const chunk of req) bytes += (chunk as Buffer).length;
        uploads.push({ fileId: req.url.slice('/upload/'.length), bytes });
        return res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      }
      const params = await readBody(req);
      const reply = (body: Record<string, unknown>) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url?.startsWith('/respond/')) {
        responses.push({ ...params, responseTo: Number(req.url.slice('/respond/'.length)) });
        return reply({ ok: true });
      }
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] as string;
      calls.push({ method, params, at: Date.now() });
      const limit = limited.findIndex((l) => l.method === method && (l.channel === undefined || l.channel === params.channel));
      if (limit >= 0) {
        const [l] = limited.splice(limit, 1);
        return res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(l!.retryAfter) }).end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      }
      switch (method) {
        case 'auth.test':
          // Scopes travel in a header; this app was installed without im:write.
          res.setHeader('x-oauth-scopes', 'commands,chat:write,users:read');
          return reply({ ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'reconbanker', team_id: 'T1', user_id: 'UBOT', bot_id: 'BBOT' });
        case 'chat.postMessage':
          return reply({ ok: true, channel: params.channel, ts: `${ts++}.000` });
        case 'views.open':
          return reply({ ok: true, view: { id: 'V1' } });
        case 'files.getUploadURLExternal': {
          const fileId = `F${ts++}`;
          return reply({ ok: true, file_id: fileId, upload_url: `http://127.0.0.1:${(server.address() as { port: number }).port}/upload/${fileId}` });
        }
        case 'files.completeUploadExternal':
          return reply({ ok: true, files: ((params.files as { id: string }[] | undefined) ?? []).map((f) => ({ id: f.id })) });
        case 'apps.connections.open':
          return reply({ ok: true, url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/socket` });
        case 'chat.postEphemeral':
          return reply({ ok: true, message_ts: `${ts++}.000` });
        case 'files.info': {
          const file = files.get(String(params.file));
          return reply(file ? { ok: true, file: file.object } : { ok: false, error: 'file_not_found' });
        }
        case 'conversations.open':
          return reply({ ok: true, channel: { id: `D${String(params.users)}` } });
        default:
          return reply({ ok: true });
      }
    })();
  });
  const sockets = new Set<WebSocket>();
  const acks = new Map<string, (payload: unknown) => void>();
  let envelopes = 0;
  const socketServer = new WebSocketServer({ server, path: '/socket' });
  socketServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (raw) => {
      const ack = JSON.parse(String(raw)) as { envelope_id: string; payload?: unknown };
      acks.get(ack.envelope_id)?.(ack.payload);
      acks.delete(ack.envelope_id);
    });
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: { host: 'fake' } }));
  });
  const listening = await listenOnLoopback(server);
  return {
    ...listening,
    /** Connected Socket Mode clients. */
    sockets,
    /** Slack recycling the connection: asks every client to reconnect (they open a new socket). */
    recycle() {
      for (const socket of sockets) socket.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake' } }));
    },
    /** Sends one envelope (slash_commands, interactive) to every connected Socket Mode client; resolves with the ack's payload. */
    envelope(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>): Promise<unknown> {
      if (sockets.size === 0) return Promise.reject(new Error('no Socket Mode client is connected'));
      envelopes += 1;
      const id = `env-${envelopes}`;
      const acked = new Promise<unknown>((resolve) => acks.set(id, resolve));
      for (const socket of sockets) socket.send(JSON.stringify({ envelope_id: id, type, payload, accepts_response_payload: type === 'slash_commands', ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}) }));
      return acked;
    },
    apiUrl: `${listening.url}/api/`,
    /**
     * A person uploads a file: its object as a message event carries it (`declaredSize` null:
     * no size; `withoutUrl`: no download URL, as for a file the event only names).
     */
    upload(file: { name: string; bytes: Buffer; declaredSize?: number | null; withoutUrl?: boolean }): SlackFileObject {
      const id = `F${String(nextFile++).padStart(6, '0')}`;
      const url = `${listening.url}/files-pri/T1-${id}/download/${encodeURIComponent(file.name)}`;
      const size = file.declaredSize === undefined ? file.bytes.length : file.declaredSize;
      const object: SlackFileObject = { id, name: file.name, title: file.name, mimetype: 'application/octet-stream', filetype: 'binary', url_private: url, url_private_download: url, ...(size === null ? {} : { size }) };
      files.set(id, { object, bytes: file.bytes });
      if (!file.withoutUrl) return object;
      const { url_private: _private, url_private_download: _download, ...named } = object;
      return named as SlackFileObject;
    },
    downloads,
    files: filesState,
    calls,
    responses,
    uploads,
    responseUrl: (n: number) => `${listening.url}/respond/${n}`,
    /** The next call of `method` (to `channel`, when given) answers 429 with Retry-After. */
    async close() {
      for (const socket of sockets) socket.terminate();
      socketServer.close();
      await listening.close();
    },
    rateLimitNext(method: string, retryAfter: number, channel?: string) {
      limited.push({ method, retryAfter, ...(channel === undefined ? {} : { channel }) });
    },
  };
}

/** Slack's request signature: v0=HMAC-SHA256(secret, `v0:${timestamp}:${body}`). */
export function signSlack(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

export async function postSigned(url: string, secret: string, body: string, contentType: string, options: { timestamp?: number; badSignature?: boolean } = {}) {
  const headers = signSlack(options.badSignature ? 'not-the-secret' : secret, body, options.timestamp);
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

let triggerCounter = 0;

type CommandFields = { team: string; user: string; userName: string; channel: string; text: string; responseUrl: string };

/** The form-encoded body Slack POSTs for `/recon` (HTTP mode). */
export function slashCommand(fields: CommandFields): string {
  return new URLSearchParams(slashCommandPayload(fields)).toString();
}

/** The fields of a `/recon` invocation (a Socket Mode envelope's payload, or form-encoded over HTTP). */
export function slashCommandPayload(fields: CommandFields): Record<string, string> {
  triggerCounter += 1;
  return {
    token: 'legacy',
    team_id: fields.team,
    team_domain: 'acme',
    channel_id: fields.channel,
    channel_name: fields.channel.startsWith('D') ? 'directmessage' : 'finance',
    user_id: fields.user,
    user_name: fields.userName,
    command: '/recon',
    text: fields.text,
    api_app_id: 'A1',
    response_url: fields.responseUrl,
    trigger_id: `trigger-${triggerCounter}`,
  };
}

/** The fields every interactive payload carries: who, in which workspace, for which app. */
function interactiveFrom(team: string, user: string): Record<string, unknown> {
  return { team: { id: team, domain: 'acme' }, user: { id: user, username: user, name: user, team_id: team }, api_app_id: 'A1', token: 'legacy' };
}

/** An interactive payload form-encoded as Slack POSTs it (HTTP mode). */
function formEncoded(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function viewSubmission(fields: { team: string; user: string; privateMetadata: string; values: Record<string, string> }): string {
  return formEncoded(viewSubmissionPayload(fields));
}

export function viewSubmissionPayload(fields: { team: string; user: string; privateMetadata: string; values: Record<string, string> }): Record<string, unknown> {
  return {
    type: 'view_submission',
    ...interactiveFrom(fields.team, fields.user),
    trigger_id: 'trigger-view',
    view: {
      id: 'V1',
      type: 'modal',
      callback_id: 'rb_form',
      private_metadata: fields.privateMetadata,
      team_id: fields.team,
      state: { values: Object.fromEntries(Object.entries(fields.values).map(([block, value]) => [block, { value: { type: 'plain_text_input', value } }])) },
      hash: 'h',
    },
  };
}

export function buttonPress(fields: { team: string; user: string; channel: string; value: string }): string {
  return formEncoded(buttonPressPayload(fields));
}

export function buttonPressPayload(fields: { team: string; user: string; channel: string; value: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    ...interactiveFrom(fields.team, fields.user),
    trigger_id: 'trigger-button',
    channel: { id: fields.channel, name: 'finance' },
    container: { type: 'message', message_ts: '1.0', channel_id: fields.channel, is_ephemeral: false },
    response_url: 'http://127.0.0.1:9/none',
    actions: [{ type: 'button', action_id: `rb:${fields.value}`, block_id: 'b', value: fields.value, action_ts: `${Math.floor(Date.now() / 1000)}.${++triggerCounter}`, text: { type: 'plain_text', text: 'x' } }],
  };
}

let eventCounter = 0;

/** The Events API body of a message someone posts with files (subtype file_share), as Slack sends it. */
export function fileMessageEvent(fields: { team: string; user: string; channel: string; text: string; files: SlackFileObject[] }): Record<string, unknown> {
  eventCounter += 1;
  const ts = `${Math.floor(Date.now() / 1000)}.${String(eventCounter).padStart(6, '0')}`;
  return {
    token: 'legacy',
    team_id: fields.team,
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: `Ev${eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: fields.team, user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: 'message',
      subtype: 'file_share',
      team: fields.team,
      user: fields.user,
      channel: fields.channel,
      channel_type: fields.channel.startsWith('D') ? 'im' : 'channel',
      text: fields.text,
      ts,
      event_ts: ts,
      files: fields.files,
      upload: false,
      display_as_bot: false,
    },
  };
}
