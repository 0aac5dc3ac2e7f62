import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { buttonPress, postSigned, slashCommand, slashCommandPayload, startFakeSlack, viewSubmission } from '../helpers/fake-slack.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { unusedPort } from '../helpers/ports.js';
import { buildServices } from '../helpers/services.js';

const SECRET = 'slack-signing-secret-for-tests';
const FORM = 'application/x-www-form-urlencoded';

describe('Slack adapter (real Bolt, HTTP mode, against a fake Web API)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('slack');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeSlack>>;
  let adapter: SlackAdapter;
  let services: Services;
  let responseCount = 0;

  before(async () => {
    fake = await startFakeSlack();
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message) });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createSlackAdapter({ botToken: 'xoxb-test', signingSecret: SECRET, apiUrl: fake.apiUrl, port: 0, retries: 0, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter), onAction: (event) => router.handleAction(event, adapter) });
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  async function command(user: string, channel: string, text: string) {
    responseCount += 1;
    const n = responseCount;
    const started = Date.now();
    const res = await postSigned(adapter.url()!, SECRET, slashCommand({ team: 'T1', user, userName: user.toLowerCase(), channel, text, responseUrl: fake.responseUrl(n) }), FORM);
    return { status: res.status, ackMs: Date.now() - started, n };
  }

  const answered = (pattern: RegExp, what: string) => eventually(() => fake.responses.find((r) => pattern.test(String(r.text))), 15_000, what);

  it('acknowledges /recon at once and answers by response_url; an unlinked person is refused', async () => {
    const result = await command('UBRUNO', 'DBRUNO', 'account list');
    expect(result.status).to.equal(200);
    expect(result.ackMs).to.be.below(3_000);
    await answered(/not linked/, 'the refusal');
    await command('UANA', 'DANA', 'setup ACME');
    await answered(/Created "ACME" with you as owner/, 'setup');
  });

  it('a retried command (Slack resends when the ack seems late) is handled once', async () => {
    responseCount += 1;
    const n = responseCount;
    const body = slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'whoami', responseUrl: fake.responseUrl(n) });
    expect((await postSigned(adapter.url()!, SECRET, body, FORM)).status).to.equal(200);
    expect((await postSigned(adapter.url()!, SECRET, body, FORM)).status).to.equal(200);
    await eventually(() => fake.responses.some((r) => r.responseTo === n), 10_000, 'the answer');
    // Answers go out in order per command; a second one would follow the first at once.
    await command('UANA', 'DANA', 'whoami');
    await eventually(() => fake.responses.some((r) => r.responseTo === responseCount), 10_000, 'the next command answered');
    expect(fake.responses.filter((r) => r.responseTo === n)).to.have.length(1);
  });

  it('rejects a bad signature and a stale timestamp with 401', async () => {
    const body = slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'whoami', responseUrl: fake.responseUrl(999) });
    expect((await postSigned(adapter.url()!, SECRET, body, FORM, { badSignature: true })).status).to.equal(401);
    expect((await postSigned(adapter.url()!, SECRET, body, FORM, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).to.equal(401);
  });

  it('refuses a timestamp more than 5 minutes in the future, as in the past', async () => {
    const body = slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'whoami', responseUrl: fake.responseUrl(998) });
    expect((await postSigned(adapter.url()!, SECRET, body, FORM, { timestamp: Math.floor(Date.now() / 1000) + 600 })).status).to.equal(401);
    expect((await postSigned(adapter.url()!, SECRET, body, FORM, { timestamp: Math.floor(Date.now() / 1000) + 60 })).status, 'a minute of clock skew is fine').to.equal(200);
  });

  it('refuses a body over the limit before verifying it (413), whether its length is declared or not', async () => {
    const big = slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'x'.repeat(1024 * 1024), responseUrl: fake.responseUrl(997) });
    expect((await postSigned(adapter.url()!, SECRET, big, FORM)).status).to.equal(413);
    // Chunked, without a length: cut off at the limit.
    const chunked = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(adapter.url()!);
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\nX-Slack-Request-Timestamp: ${Math.floor(Date.now() / 1000)}\r\nX-Slack-Signature: v0=00\r\n\r\n`);
        const chunk = 'y'.repeat(64 * 1024);
        for (let i = 0; i < 8; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      let answer = '';
      socket.on('data', (data) => (answer += data.toString('latin1')));
      socket.on('error', () => resolve(answer));
      socket.on('close', () => resolve(answer));
      setTimeout(() => reject(new Error(`no answer: ${answer}`)), 10_000).unref();
    });
    expect(chunked).to.match(/^HTTP\/1\.1 413/);
  });

  it('a request that never finishes arriving is cut off (server timeouts)', async () => {
    const slow = createSlackAdapter({ botToken: 'xoxb-test', signingSecret: SECRET, apiUrl: fake.apiUrl, port: 0, retries: 0, requestTimeoutMs: 1_500, log: capture.log });
    await slow.start({ onCommand: async () => ({ text: 'never' }) });
    try {
      const { port } = new URL(slow.url()!);
      const closed = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
        let answer = '';
        socket.on('data', (data) => (answer += data.toString('latin1')));
        socket.on('close', () => resolve(answer));
        setTimeout(() => reject(new Error('the half-sent request was still open after 10 s')), 10_000).unref();
      });
      expect(closed).to.match(/^(HTTP\/1\.1 408|$)/);
    } finally {
      await slow.stop();
    }
  });

  it('asks for credentials in a modal; the submitted password is stored sealed and shown nowhere', async () => {
    await command('UANA', 'DANA', 'account add Main sandbox');
    const opened = await eventually(() => fake.calls.find((c) => c.method === 'views.open'), 10_000, 'the modal');
    const view = opened.params.view as { private_metadata: string; blocks: { block_id?: string }[] };
    expect(view.blocks.map((b) => b.block_id).filter(Boolean)).to.deep.equal(['bank_username', 'bank_password']);
    const res = await postSigned(adapter.url()!, SECRET, viewSubmission({ team: 'T1', user: 'UANA', privateMetadata: view.private_metadata, values: { bank_username: 'ana', bank_password: 'Sl4ck-Pw-99' } }), FORM);
    expect(res.status).to.equal(200);
    await answered(/Credentials saved \(encrypted\)/, 'saved');
    expect(JSON.stringify(fake.calls) + JSON.stringify(fake.responses)).not.to.include('Sl4ck-Pw-99');
    expect(capture.text()).not.to.include('Sl4ck-Pw-99');
    expect(JSON.stringify(await test.db.models.Account.find().lean())).not.to.include('Sl4ck-Pw-99');
  });

  it('doctor reports a missing scope', async () => {
    await command('UANA', 'DANA', 'doctor');
    const report = await answered(/to look at/, 'the doctor report');
    expect(String(report.text)).to.include('the app lacks the scope(s) im:write');
  });

  it('refuses a password typed in a channel', async () => {
    await command('UANA', 'CFIN', 'account set Main bank_password=Ch4nnel-Leak');
    await answered(/never taken in a channel/, 'the refusal');
    expect(JSON.stringify(fake.calls) + JSON.stringify(fake.responses) + capture.text()).not.to.include('Ch4nnel-Leak');
  });

  it('opens a private chat for a person who only writes in channels (bank-code prompts reach them)', async () => {
    const { n } = await command('UANA', 'DANA', 'invite operator');
    const invite = await eventually(() => fake.responses.find((r) => r.responseTo === n), 10_000, 'the invite');
    const code = /Invite code for a operator: (\S+)/.exec(String(invite.text))?.[1];
    await command('UCARLA', 'CFIN', `link ${code}`);
    await answered(/Linked: you are now operator/, 'linked');
    const member = await eventually(async () => {
      const found = await test.db.models.Member.findOne({ platformUserId: 'UCARLA' }).lean();
      return found?.dmRef ? found : undefined;
    }, 10_000, 'the private chat remembered');
    expect(member.dmRef).to.equal('slack:T1:DUCARLA');
    expect(fake.calls.some((c) => c.method === 'conversations.open' && c.params.users === 'UCARLA')).to.equal(true);
  });

  it('a button whose action asks in private opens a modal with the press\'s trigger id', async () => {
    const member = (await test.db.models.Member.findOne({ platformUserId: 'UANA' }).lean())!;
    const actionId = await services.actions.create(member.userId, 'account set Main lookback_days');
    const opened = fake.calls.filter((c) => c.method === 'views.open').length;
    const res = await postSigned(adapter.url()!, SECRET, buttonPress({ team: 'T1', user: 'UANA', channel: 'DANA', value: actionId }), FORM);
    expect(res.status).to.equal(200);
    const call = await eventually(() => fake.calls.filter((c) => c.method === 'views.open')[opened], 10_000, 'the modal');
    expect(call.params.trigger_id).to.equal('trigger-button');
    const view = call.params.view as { private_metadata: string; blocks: { block_id?: string }[] };
    expect(view.blocks.map((b) => b.block_id).filter(Boolean)).to.deep.equal(['lookback_days']);
    await postSigned(adapter.url()!, SECRET, viewSubmission({ team: 'T1', user: 'UANA', privateMetadata: view.private_metadata, values: { lookback_days: '8' } }), FORM);
    await eventually(() => fake.calls.find((c) => c.method === 'chat.postMessage' && c.params.channel === 'DANA' && /^Updated "Main": lookback_days\.$/.test(String(c.params.text))), 10_000, 'updated from the button');
  });

  it('a 429 with Retry-After delays the message, then delivers it', async () => {
    fake.rateLimitNext('chat.postMessage', 1);
    const started = Date.now();
    await adapter.send('slack:T1:CFIN', { text: 'after the limit' });
    expect(Date.now() - started).to.be.at.least(900);
    expect(fake.calls.filter((c) => c.method === 'chat.postMessage' && c.params.text === 'after the limit')).to.have.length(2);
  });

  it('attaches a failure screenshot under its message, under a fixed file name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-slack-shot-'));
    const png = path.join(dir, 'run-acct-secretive-name.png');
    writeFileSync(png, Buffer.alloc(2048, 7));
    await adapter.send('slack:T1:CFIN', { text: 'Bank session failed', image: { path: png, alt: 'The bank page' } });
    // The text first; the screenshot follows without holding up the sender.
    const text = fake.calls.findIndex((c) => c.method === 'chat.postMessage' && c.params.text === 'Bank session failed');
    expect(text).to.be.at.least(0);
    const completed = await eventually(() => fake.calls.find((c) => c.method === 'files.completeUploadExternal'), 10_000, 'the upload completed');
    const asked = fake.calls.find((c) => c.method === 'files.getUploadURLExternal');
    expect(fake.calls.indexOf(asked!)).to.be.above(text);
    expect(asked?.params).to.deep.include({ filename: 'screenshot.png', length: '2048' });
    expect(fake.uploads.at(-1)?.bytes, 'the file went to the upload URL').to.be.at.least(2048);
    expect(completed?.params.channel_id).to.equal('CFIN');
    expect(JSON.stringify(fake.calls.filter((c) => c.method.startsWith('files.')))).not.to.include('secretive');
  });

  it('posts notifications as escaped Block Kit with buttons, and a button press runs its action', async () => {
    await adapter.send('slack:T1:CFIN', { text: 'From <!channel> & co', choices: [{ id: 'a-missing', label: 'Pick it' }] });
    const posted = fake.calls.filter((c) => c.method === 'chat.postMessage').at(-1)!;
    expect(posted.params.text).to.equal('From &lt;!channel&gt; &amp; co');
    const blocks = posted.params.blocks as { type: string; elements?: { action_id: string; value: string }[] }[];
    expect(blocks.find((b) => b.type === 'actions')?.elements?.[0]).to.deep.include({ action_id: 'rb:a-missing', value: 'a-missing' });
    const res = await postSigned(adapter.url()!, SECRET, buttonPress({ team: 'T1', user: 'UANA', channel: 'CFIN', value: 'a-missing' }), FORM);
    expect(res.status).to.equal(200);
    await eventually(() => fake.calls.find((c) => c.method === 'chat.postMessage' && /not one of yours, or it no longer exists/.test(String(c.params.text))), 10_000, 'the button answer');
  });

  it('Socket Mode: commands arrive as envelopes acked on the socket; a recycled connection is opened again', async () => {
    const socketLog = capturingLogger();
    const socketMode = createSlackAdapter({ botToken: 'xoxb-test', mode: 'socket', appToken: 'xapp-socket-test', apiUrl: fake.apiUrl, retries: 0, log: socketLog.log });
    const seen: string[] = [];
    await socketMode.start({ onCommand: async (event) => (seen.push(event.text), { text: `done: ${event.text}` }) });
    try {
      expect(socketMode.url(), 'no HTTP endpoint in Socket Mode').to.equal(undefined);
      const opened = () => fake.calls.filter((c) => c.method === 'apps.connections.open').length;
      expect(opened()).to.equal(1);
      responseCount += 1;
      const first = responseCount;
      await fake.envelope('slash_commands', slashCommandPayload({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'whoami', responseUrl: fake.responseUrl(first) }));
      await eventually(() => fake.responses.find((r) => r.responseTo === first && r.text === 'done: whoami'), 10_000, 'the answer by response_url');

      fake.recycle();
      await eventually(() => opened() === 2 && fake.sockets.size === 1, 20_000, 'a new socket after the disconnect');
      responseCount += 1;
      const second = responseCount;
      await fake.envelope('slash_commands', slashCommandPayload({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'help', responseUrl: fake.responseUrl(second) }));
      await eventually(() => fake.responses.find((r) => r.responseTo === second), 10_000, 'an answer on the new socket');
      expect(seen).to.deep.equal(['whoami', 'help']);
      expect(socketLog.text()).not.to.include('xapp-socket-test');
    } finally {
      await socketMode.stop();
    }
    await eventually(() => fake.sockets.size === 0, 10_000, 'the socket closed at stop');
  });

  it('an unreachable Slack at start fails fast, so the service can report it and retry (not Bolt\'s minutes of retries)', async () => {
    const port = await unusedPort();
    const down = createSlackAdapter({ botToken: 'xoxb-down', signingSecret: SECRET, apiUrl: `http://127.0.0.1:${port}/api/`, port: 0, log: capture.log });
    const started = Date.now();
    const outcome = await down.start({ onCommand: async () => ({ text: 'never' }) }).then(
      () => 'started',
      (error: unknown) => (error as Error).message,
    );
    expect(outcome).not.to.equal('started');
    expect(Date.now() - started, 'well before Bolt would give up').to.be.below(10_000);
    await down.stop();
  });
});
