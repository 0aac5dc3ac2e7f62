import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createEmulator, type Emulator } from 'emulate';
import { createSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import { listenOnLoopback } from '../../src/http/loopback.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { postSigned, slashCommand, viewSubmission } from '../helpers/fake-slack.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

const SECRET = 'slack-emulator-signing-secret';
const FORM = 'application/x-www-form-urlencoded';
const TOKEN = 'xoxb-emulated-reconbanker';

/**
 * The Slack adapter against a third-party Slack Web API emulator (npm `emulate`, its Slack
 * service, strict scopes on): it keeps channels, DMs and messages, refuses a call the token's
 * scopes do not cover, and opens a modal only for a trigger id it issued itself (within 3 s).
 * Slack's side of the conversation (slash commands, modal submissions) is sent signed, as
 * Slack does; answers by response_url go to a local recorder (the emulator has none). A
 * recording pass-through in front of the emulator shows which view was opened.
 */
describe('Slack adapter against emulate (a third-party Slack Web API emulator, strict scopes)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('slackemu');
  const capture = capturingLogger();
  let emulator: Emulator;
  let api: Awaited<ReturnType<typeof listenOnLoopback>>;
  const seen: { method: string; body: Record<string, unknown> }[] = [];
  let responses: Awaited<ReturnType<typeof startEndpoint>>;
  let adapter: SlackAdapter;
  let services: Services;
  let emulated = '';
  let ana = { id: '', dm: '', team: '' };
  let finance = '';

  /** A Web API call of the test itself (as Slack's own clients would make it). */
  async function slack(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const form = new URLSearchParams(Object.entries(body).map(([key, value]) => [key, String(value)]));
    const res = await fetch(`${emulated}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': FORM }, body: form });
    return (await res.json()) as Record<string, unknown>;
  }

  before(async () => {
    emulator = await createEmulator({
      service: 'slack',
      port: 0,
      seed: {
        slack: {
          strict_scopes: true,
          team: { name: 'Acme', domain: 'acme' },
          users: [
            { name: 'ana', real_name: 'Ana' },
            { name: 'reconbanker', real_name: 'Reconbanker' },
          ],
          channels: [{ name: 'finance' }],
          // No files:write: a screenshot is refused, its message is not.
          tokens: [{ token: TOKEN, user: 'reconbanker', scopes: ['commands', 'chat:write', 'im:write', 'users:read', 'channels:read', 'channels:history'] }],
        },
      },
    });
    emulated = `http://127.0.0.1:${new URL(emulator.url).port}`;
    // Records each call's body on its way to the emulator (the emulator answers).
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] as string;
        const params = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw.toString() || '{}') as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw.toString()));
        if (typeof params.view === 'string') params.view = JSON.parse(params.view);
        seen.push({ method, body: params });
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
        void fetch(`${emulated}${req.url}`, { method: req.method ?? 'POST', headers, body: raw.length ? raw : undefined }).then(
          async (answer) => res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer())),
          () => res.writeHead(502).end(),
        );
      });
    });
    api = await listenOnLoopback(proxy);
    responses = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));

    const auth = await slack('auth.test', {});
    const anaId = ((await slack('users.list', {})).members as { id: string; name: string }[]).find((m) => m.name === 'ana')!.id;
    ana = { id: anaId, team: String(auth.team_id), dm: String(((await slack('conversations.open', { users: anaId })).channel as { id: string }).id) };
    finance = String(((await slack('conversations.list', {})).channels as { id: string; name: string }[]).find((c) => c.name === 'finance')?.id);

    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message) });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createSlackAdapter({ botToken: TOKEN, signingSecret: SECRET, apiUrl: `${api.url}/api/`, port: 0, retries: 0, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter), onAction: (event) => router.handleAction(event, adapter) });
  });

  after(async () => {
    await adapter?.stop();
    await api?.close();
    await responses?.close();
    await emulator?.close();
  });

  let n = 0;
  /** `/recon <text>` as Slack sends it, with a trigger id the emulator issued (or the one given). */
  async function command(text: string, trigger?: string): Promise<number> {
    n += 1;
    const triggerId = trigger ?? String((await slack('views.generateTriggerId', {})).trigger_id);
    const body = new URLSearchParams(slashCommand({ team: ana.team, user: ana.id, userName: 'ana', channel: ana.dm, text, responseUrl: `${responses.url}/respond/${n}` }));
    body.set('trigger_id', triggerId);
    const res = await postSigned(adapter.url()!, SECRET, body.toString(), FORM);
    expect(res.status).to.equal(200);
    return n;
  }
  const answer = (to: number, pattern: RegExp, what: string) =>
    eventually(() => responses.requests.filter((r) => r.url === `/respond/${to}`).map((r) => String((JSON.parse(r.body) as { text?: string }).text)).find((t) => pattern.test(t)), 15_000, what);

  it('answers a command; doctor says the scopes could not be checked (the emulator lists none)', async () => {
    await answer(await command('setup ACME'), /Created "ACME" with you as owner/, 'setup');
    await answer(await command('doctor'), /scopes could not be checked/, 'the doctor report');
  });

  it('opens the credentials modal with the emulator\'s trigger id; the submitted password is stored sealed', async () => {
    const asked = await command('account add Main sandbox');
    const opened = await eventually(() => seen.find((c) => c.method === 'views.open'), 10_000, 'views.open');
    const view = opened.body.view as { private_metadata: string };
    const res = await postSigned(adapter.url()!, SECRET, viewSubmission({ team: ana.team, user: ana.id, privateMetadata: view.private_metadata, values: { bank_username: 'ana', bank_password: 'Emu-Slack-Pw3' } }), FORM);
    expect(res.status).to.equal(200);
    await answer(asked, /Credentials saved \(encrypted\)/, 'saved');
    expect(capture.text() + JSON.stringify(seen)).not.to.include('Emu-Slack-Pw3');
  });

  it('a trigger id the emulator refuses is "run the command again", not "Something went wrong"', async () => {
    const asked = await command('account set Main bank_password', 'not-a-trigger-the-emulator-issued');
    await answer(asked, /Slack did not let the private form open in time; run the command again/, 'the explanation');
  });

  it('a notice with a screenshot the token may not upload: the text is in the channel, the refusal logged', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-slack-emu-'));
    const png = path.join(dir, 'shot.png');
    writeFileSync(png, Buffer.alloc(512, 1));
    const ref = await adapter.send(`slack:${ana.team}:${finance}`, { text: 'Bank session of "Main" failed (emulated)', image: { path: png, alt: 'page' } });
    expect(ref).to.match(/#\d+\.\d+$/);
    const history = (await slack('conversations.history', { channel: finance })).messages as { text: string }[] | undefined;
    expect((history ?? []).map((m) => m.text)).to.include('Bank session of "Main" failed (emulated)');
    await eventually(() => capture.text().includes('could not attach a screenshot'), 10_000, 'the refused upload logged');
  });
});
