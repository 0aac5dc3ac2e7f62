import { createServer, type IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenOnLoopback } from '../../src/http/loopback.js';
import { serveInPieces, type Download } from './serve-file.js';

/**
 * A fake of Discord's REST API and gateway on 127.0.0.1 for the real discord.js client:
 * GET /gateway/bot points at a JSON gateway that says HELLO, acknowledges heartbeats, answers
 * IDENTIFY with READY, and sends the interactions a test asks for. Every REST call is recorded
 * (command registration, interaction callbacks, edits, messages, DM channels). Files attached
 * to a command's option are served at their CDN-style URL (signed query included), each
 * download recorded.
 */

export type DiscordCall = { method: string; path: string; body: Record<string, unknown> | undefined; at: number };

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return undefined;
  if ((req.headers['content-type'] ?? '').includes('multipart/form-data')) {
    const json = /name="payload_json"\r\n(?:Content-Type: application\/json\r\n)?\r\n(\{[\s\S]*?\})\r\n--/.exec(raw);
    // Attached files are recorded by name (their bytes are not kept).
    const files = [...raw.matchAll(/name="files\[\d+\]"; filename="([^"]*)"/g)].map((m) => m[1]);
    return { ...(json ? (JSON.parse(json[1] as string) as Record<string, unknown>) : {}), attachedFiles: files };
  }
  return JSON.parse(raw) as Record<string, unknown>;
}

export const APP_ID = '100000000000000001';
export const BOT_ID = '100000000000000002';

export async function startFakeDiscord() {
  const calls: DiscordCall[] = [];
  const sockets = new Set<WebSocket>();
  let sequence = 0;
  let snowflake = 200000000000000000n;
  const nextId = () => String(++snowflake);
  const identified: Record<string, unknown>[] = [];
  const registered = new Map<string, Record<string, unknown>[]>();
  const limited: { path: RegExp; retryAfter: number }[] = [];
  /** When set, every upload (a multipart message) is answered 413, as Discord does over a bot's limit. */
  const uploads = { refuse: false };
  /** Files people attached to a command, by attachment id. */
  const attached = new Map<string, Buffer>();
  const downloads: Download[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      const cdn = /^\/attachments\/\d+\/(\d+)\/[^?]+\?ex=\w+&is=\w+&hm=\w+/.exec(req.url ?? '');
      if (cdn) {
        const bytes = attached.get(cdn[1] as string);
        if (!bytes) return res.writeHead(404).end();
        const record: Download = { path: (req.url ?? '').split('?')[0] as string, sent: 0, complete: false, headers: req.headers };
        downloads.push(record);
        return serveInPieces(res, bytes, record);
      }
      const body = await readJson(req);
      const path = decodeURIComponent((req.url ?? '').split('?')[0] as string).replace(/^\/api(\/v\d+)?/, '');
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : JSON.stringify(json));
      if (path === '/gateway/bot') {
        const address = server.address() as { port: number };
        return reply(200, { url: `ws://127.0.0.1:${address.port}`, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
      }
      calls.push({ method: req.method ?? '', path, body, at: performance.now() });
      if (uploads.refuse && (req.headers['content-type'] ?? '').includes('multipart/form-data')) {
        return reply(413, { message: 'Request entity too large', code: 40005 });
      }
      const limit = limited.findIndex((l) => l.path.test(path));
      if (limit >= 0) {
        const [l] = limited.splice(limit, 1);
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(l!.retryAfter), 'x-ratelimit-scope': 'user', 'x-ratelimit-bucket': 'fake-bucket' });
        return res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: l!.retryAfter, global: false }));
      }
      if (/^\/applications\/\d+\/(guilds\/\d+\/)?commands$/.test(path)) {
        if (req.method === 'PUT') registered.set(path, ((body as unknown as Record<string, unknown>[] | undefined) ?? []).map((c) => ({ ...c, id: nextId(), application_id: APP_ID, version: '1' })));
        return reply(200, registered.get(path) ?? []);
      }
      const callback = /^\/interactions\/(\d+)\/[^/]+\/callback$/.exec(path);
      if (callback) {
        // discord.js asks for the callback's result (with_response=true).
        return reply(200, { interaction: { id: callback[1], type: 2, response_message_id: null, response_message_loading: true, response_message_ephemeral: true }, resource: { type: body?.type ?? 5 } });
      }
      if (/^\/webhooks\/\d+\/[^/]+\/messages\/@original$/.test(path)) return reply(200, message(String(body?.content ?? ''), '0'));
      if (/^\/webhooks\/\d+\/[^/]+$/.test(path)) return reply(200, message(String(body?.content ?? ''), '0'));
      const channelMessage = /^\/channels\/(\d+)\/messages$/.exec(path);
      if (channelMessage) return reply(200, message(String(body?.content ?? ''), channelMessage[1] as string));
      if (path === '/users/@me/channels') return reply(200, { id: `3${String(body?.recipient_id ?? '').slice(1)}`, type: 1, recipients: [{ id: body?.recipient_id, username: 'person', discriminator: '0', avatar: null }] });
      if (path === '/users/@me') return reply(200, { id: BOT_ID, username: 'reconbanker', discriminator: '0', bot: true, avatar: null });
      return reply(200, {});
    })();
  });

  function message(content: string, channelId: string) {
    return { id: nextId(), channel_id: channelId, content, author: { id: BOT_ID, username: 'reconbanker', discriminator: '0', bot: true, avatar: null }, timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0 };
  }

  const gateway = new WebSocketServer({ server });
  gateway.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null }));
    socket.on('message', (raw) => {
      const packet = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (packet.op === 1) socket.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (packet.op === 2) {
        identified.push(packet.d);
        socket.send(
          JSON.stringify({
            op: 0,
            t: 'READY',
            s: ++sequence,
            d: {
              v: 10,
              user: { id: BOT_ID, username: 'reconbanker', discriminator: '0', bot: true, avatar: null, global_name: null },
              guilds: [],
              session_id: 'session-1',
              resume_gateway_url: 'ws://127.0.0.1:1',
              application: { id: APP_ID, flags: 0 },
            },
          }),
        );
      }
    });
  });
  const listening = await listenOnLoopback(server);

  type Person = { id: string; username: string };
  type Where = { guild: string; channel: string } | { dm: string };
  /** A file attached to an option: its resolved object, served from this fake (`declaredSize` the size Discord states). */
  function attach(file: { name: string; bytes: Buffer; declaredSize?: number }, channelId: string): Record<string, unknown> {
    const id = nextId();
    attached.set(id, file.bytes);
    const url = `${listening.url}/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}?ex=6812f0a1&is=6811a021&hm=0f9e8d7c6b5a49382716ab`;
    return { id, filename: file.name, size: file.declaredSize ?? file.bytes.length, url, proxy_url: url, content_type: 'application/octet-stream' };
  }

  /** One INTERACTION_CREATE of `type` (2 command, 3 button, 5 modal) from a person in a guild channel or their DM. */
  function interaction(person: Person, type: number, data: Record<string, unknown>, where: Where, withMessage: boolean): { id: string; token: string } {
    const id = nextId();
    const token = `tok-${id}`;
    const user = { id: person.id, username: person.username, discriminator: '0', avatar: null, global_name: person.username };
    const channelId = 'guild' in where ? where.channel : where.dm;
    dispatch('INTERACTION_CREATE', {
      id,
      application_id: APP_ID,
      type,
      token,
      version: 1,
      locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
      data,
      ...(withMessage ? { message: message('form', channelId) } : {}),
      ...('guild' in where
        ? { guild_id: where.guild, channel_id: where.channel, guild_locale: 'en-US', member: { user, roles: [], permissions: '0', joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 }, context: 0 }
        : { channel_id: where.dm, user, context: 1 }),
      channel: 'guild' in where ? { id: where.channel, type: 0 } : { id: where.dm, type: 1 },
    });
    return { id, token };
  }
  function dispatch(t: string, d: unknown) {
    for (const socket of sockets) socket.send(JSON.stringify({ op: 0, t, s: ++sequence, d }));
  }

  return {
    ...listening,
    api: `${listening.url}/api`,
    calls,
    identified,
    uploads,
    /** Someone runs `/recon [group] <sub-command> [options]` in a guild channel, or in their DM with the bot; `file` fills the attachment option. */
    command(person: Person, chosen: { group?: string; sub: string; values?: Record<string, string>; file?: { name: string; bytes: Buffer; declaredSize?: number } }, where: { guild: string; channel: string } | { dm: string }): { id: string; token: string } {
      const resolved = chosen.file ? attach(chosen.file, 'guild' in where ? where.channel : where.dm) : undefined;
      const leaf = {
        name: chosen.sub,
        type: 1,
        options: [...Object.entries(chosen.values ?? {}).map(([name, value]) => ({ name, type: 3, value })), ...(resolved ? [{ name: 'file', type: 11, value: resolved.id }] : [])],
      };
      const options = chosen.group ? [{ name: chosen.group, type: 2, options: [leaf] }] : [leaf];
      return interaction(person, 2, { id: '300000000000000001', name: 'recon', type: 1, options, ...(resolved ? { resolved: { attachments: { [resolved.id as string]: resolved } } } : {}) }, where, false);
    },
    /** Each download of an attached file. */
    downloads,
    /** Someone presses a button (its custom id) under a message. */
    press(person: Person, customId: string, where: { guild: string; channel: string } | { dm: string }): { id: string; token: string } {
      return interaction(person, 3, { custom_id: customId, component_type: 2 }, where, true);
    },
    /** Someone submits a modal with these values. */
    submitModal(person: Person, customId: string, values: Record<string, string>, where: { guild: string; channel: string } | { dm: string }): { id: string; token: string } {
      const components = Object.entries(values).map(([id, value]) => ({ type: 1, components: [{ type: 4, custom_id: id, value }] }));
      return interaction(person, 5, { custom_id: customId, components }, where, false);
    },
    /** The next REST call whose path matches answers 429 with retry_after (seconds). */
    rateLimitNext(path: RegExp, retryAfter: number) {
      limited.push({ path, retryAfter });
    },
    /** Follow-up messages of an interaction (ephemeral forms' buttons among them). */
    followUps(token: string): Record<string, unknown>[] {
      return calls.filter((c) => c.method === 'POST' && c.path === `/webhooks/${APP_ID}/${token}`).map((c) => c.body ?? {});
    },
    /** The edits of an interaction's original reply (its answers). */
    answers(token: string): string[] {
      return calls.filter((c) => c.path.includes(`/${token}/messages/@original`)).map((c) => String(c.body?.content ?? ''));
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      gateway.close();
      await listening.close();
    },
  };
}
