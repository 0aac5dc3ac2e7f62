import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { listenOnLoopback } from '../../src/http/loopback.js';

/**
 * A fake of Slack's Web API (and of response_url) on 127.0.0.1 for the real Bolt client, plus
 * helpers that send Slack's signed HTTP requests (slash commands, modal submissions, button
 * presses) to the app.
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

export async function startFakeSlack() {
  const calls: SlackCall[] = [];
  const limited: { method: string; channel?: string; retryAfter: number }[] = [];
  const responses: Record<string, unknown>[] = [];
  let ts = 1000;
  const server = createServer((req, res) => {
    void (async () => {
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
        case 'conversations.open':
          return reply({ ok: true, channel: { id: `D${String(params.users)}` } });
        default:
          return reply({ ok: true });
      }
    })();
  });
  const listening = await listenOnLoopback(server);
  return {
    ...listening,
    apiUrl: `${listening.url}/api/`,
    calls,
    responses,
    responseUrl: (n: number) => `${listening.url}/respond/${n}`,
    /** The next call of `method` (to `channel`, when given) answers 429 with Retry-After. */
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

export function slashCommand(fields: { team: string; user: string; userName: string; channel: string; text: string; responseUrl: string }): string {
  triggerCounter += 1;
  return new URLSearchParams({
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
  }).toString();
}

export function viewSubmission(fields: { team: string; user: string; privateMetadata: string; values: Record<string, string> }): string {
  const payload = {
    type: 'view_submission',
    team: { id: fields.team, domain: 'acme' },
    user: { id: fields.user, username: fields.user, name: fields.user, team_id: fields.team },
    api_app_id: 'A1',
    token: 'legacy',
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
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function buttonPress(fields: { team: string; user: string; channel: string; value: string }): string {
  const payload = {
    type: 'block_actions',
    team: { id: fields.team, domain: 'acme' },
    user: { id: fields.user, username: fields.user, name: fields.user, team_id: fields.team },
    api_app_id: 'A1',
    token: 'legacy',
    trigger_id: 'trigger-button',
    channel: { id: fields.channel, name: 'finance' },
    container: { type: 'message', message_ts: '1.0', channel_id: fields.channel, is_ephemeral: false },
    response_url: 'http://127.0.0.1:9/none',
    actions: [{ type: 'button', action_id: `rb:${fields.value}`, block_id: 'b', value: fields.value, action_ts: '1.1', text: { type: 'plain_text', text: 'x' } }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
