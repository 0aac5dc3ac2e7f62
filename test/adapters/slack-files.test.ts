import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createSlackAdapter, statementCommandIn, type SlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { fileMessageEvent, postSigned, slashCommand, startFakeSlack, type SlackFileObject } from '../helpers/fake-slack.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'statements', 'fixtures');
const SECRET = 'slack-files-signing-secret';
const TOKEN = 'xoxb-files-test-token';
const MAX_BYTES = 64 * 1024;

describe('Slack adapter: statement files posted as messages (real Bolt, HTTP mode, fake Web API)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('slackfiles');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeSlack>>;
  let adapter: SlackAdapter;
  let services: Services;
  let commands = 0;
  const camt08 = readFileSync(path.join(fixtures, 'camt053_v08.xml'));
  const camt02 = readFileSync(path.join(fixtures, 'camt053_v02.xml'));

  before(async () => {
    fake = await startFakeSlack({ botToken: TOKEN });
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message), statementSettings: { maxBytes: MAX_BYTES } });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createSlackAdapter({ botToken: TOKEN, signingSecret: SECRET, apiUrl: fake.apiUrl, port: 0, retries: 0, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter) });
    await command('setup ACME');
    await answered(/Created "ACME"/, 'setup');
    await command('account add "Acme EUR" statement');
    await answered(/Account "Acme EUR" added/, 'the statement account');
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  async function command(text: string, channel = 'DANA') {
    commands += 1;
    const res = await postSigned(adapter.url()!, SECRET, slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel, text, responseUrl: fake.responseUrl(commands) }), 'application/x-www-form-urlencoded');
    expect(res.status).to.equal(200);
  }
  const answered = (pattern: RegExp, what: string) => eventually(() => fake.responses.find((r) => pattern.test(String(r.text))), 15_000, what);

  /** Ana posts a message with files; resolves with the event body that was sent. */
  async function post(channel: string, text: string, files: SlackFileObject[]): Promise<string> {
    const body = JSON.stringify(fileMessageEvent({ team: 'T1', user: 'UANA', channel, text, files }));
    const res = await postSigned(adapter.url()!, SECRET, body, 'application/json');
    expect(res.status).to.equal(200);
    return body;
  }
  const inDm = (pattern: RegExp, what: string) => eventually(() => fake.calls.find((c) => c.method === 'chat.postMessage' && c.params.channel === 'DANA' && pattern.test(String(c.params.text))), 15_000, what);
  const count = (method: string) => fake.calls.filter((c) => c.method === method).length;

  it('reads the statement command of a message that came with a file: with or without /recon or a mention; alone in a DM', () => {
    expect(statementCommandIn('statement import "R&amp;D &lt;EUR&gt;"', false)).to.equal('statement import "R&D <EUR>"');
    expect(statementCommandIn('/recon statement import “Acme EUR”', false)).to.equal('statement import "Acme EUR"');
    expect(statementCommandIn('<@UBOT> statement preview Main', false)).to.equal('statement preview Main');
    expect(statementCommandIn('Statement Import Main', false)).to.equal('Statement Import Main');
    expect(statementCommandIn('here is the March statement', false)).to.equal(undefined);
    expect(statementCommandIn('statement imports Main', false)).to.equal(undefined);
    expect(statementCommandIn('', false)).to.equal(undefined);
    expect(statementCommandIn('  ', true)).to.equal('statement import');
  });

  it('a file posted in the DM with "statement import <account>" is fetched with the bot token and imported; the answer goes to the DM', async () => {
    await post('DANA', 'statement import "Acme EUR"', [fake.upload({ name: 'camt053_v08.xml', bytes: camt08 })]);
    await inDm(/^Statement camt053_v08\.xml imported into "Acme EUR" \(camt, utf-8\): 5 entries read, 5 credits stored/, 'the summary');
    expect(fake.downloads).to.have.length(1);
    expect(fake.downloads[0]!.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(fake.downloads[0]!.complete).to.equal(true);
  });

  it('in a channel, /recon statement preview with a file is answered to the sender alone (ephemeral)', async () => {
    await post('CFIN', '/recon statement preview "Acme EUR"', [fake.upload({ name: 'v02.xml', bytes: camt02 })]);
    const ephemeral = await eventually(() => fake.calls.find((c) => c.method === 'chat.postEphemeral' && /^Preview of a statement for "Acme EUR"/.test(String(c.params.text))), 15_000, 'the preview');
    expect(ephemeral.params).to.deep.include({ channel: 'CFIN', user: 'UANA' });
    expect(fake.calls.some((c) => c.method === 'chat.postMessage' && c.params.channel === 'CFIN')).to.equal(false);
  });

  it('the same event delivered twice (a retry) is handled once', async () => {
    const body = await post('DANA', 'statement import "Acme EUR"', [fake.upload({ name: 'twice.xml', bytes: camt02 })]);
    expect((await postSigned(adapter.url()!, SECRET, body, 'application/json')).status).to.equal(200);
    await inDm(/^Statement twice\.xml imported into "Acme EUR"/, 'the summary');
    // A later message is answered after it: the repeat would have been by then.
    await post('DANA', '', [fake.upload({ name: 'after.xml', bytes: camt02 })]);
    await inDm(/^Statement after\.xml imported/, 'the next file');
    expect(fake.calls.filter((c) => c.method === 'chat.postMessage' && /^Statement twice\.xml/.test(String(c.params.text)))).to.have.length(1);
  });

  it('a file the event only names is looked up with files.info, then fetched', async () => {
    const before = count('files.info');
    await post('DANA', 'statement import "Acme EUR"', [fake.upload({ name: 'named.xml', bytes: camt02, withoutUrl: true })]);
    await inDm(/^Statement named\.xml imported into "Acme EUR".*0 credits stored, 3 duplicates skipped/, 'the summary');
    expect(count('files.info')).to.equal(before + 1);
  });

  it('with two statement accounts, a file alone in the DM gets the usage and its accounts, and is not fetched', async () => {
    await command('account add Other statement');
    await answered(/Account "Other" added/, 'a second account');
    const downloads = fake.downloads.length;
    await post('DANA', '', [fake.upload({ name: 'which.xml', bytes: camt02 })]);
    const usage = await inDm(/^Which account is this statement for\?/, 'the usage');
    expect(usage.params.text).to.equal(
      'Which account is this statement for? Your statement accounts: "Acme EUR", Other. Send the file again, naming one: Slack\'s /recon cannot carry a file, so post the file as a message whose text is statement import &lt;account&gt;, in your DM with the app or in a channel it is in.',
    );
    expect(fake.downloads.length).to.equal(downloads);
  });

  it('/recon statement import (a slash command, which carries no file) is answered with how to post one', async () => {
    await command('statement import "Acme EUR"');
    await answered(/^Send the statement file with the command: Slack's \/recon cannot carry a file, so post the file as a message whose text is statement import &lt;account&gt;/, 'the usage');
  });

  it('a file larger than the limit is refused on its declared size, before any download', async () => {
    const downloads = fake.downloads.length;
    await post('DANA', 'statement import Other', [fake.upload({ name: 'huge.csv', bytes: Buffer.alloc(MAX_BYTES + 10, 0x41) })]);
    await inDm(/^huge\.csv is larger than 64 KB; split it or drop it in the watched folder\.$/, 'the refusal');
    expect(fake.downloads.length).to.equal(downloads);
  });

  it('a file whose size is not given is cut off at the limit; a token without files:read gets a sentence, not the sign-in page', async () => {
    const bytes = Buffer.alloc(4 * 1024 * 1024, 0x41);
    await post('DANA', 'statement import Other', [fake.upload({ name: 'unsized.csv', bytes, declaredSize: null })]);
    await inDm(/^unsized\.csv is larger than 64 KB/, 'the refusal');
    const download = fake.downloads.at(-1)!;
    expect(download.complete).to.equal(false);
    expect(download.sent).to.be.below(bytes.length);

    fake.files.scopeMissing = true;
    try {
      await post('DANA', 'statement import Other', [fake.upload({ name: 'noscope.xml', bytes: camt02 })]);
      await inDm(/^Slack answered with a web page instead of noscope\.xml: the app needs the files:read scope/, 'the scope sentence');
    } finally {
      fake.files.scopeMissing = false;
    }
  });

  it('a message with a file but other words, and the app\'s own uploads, are left alone; the token and file names reach no log', async () => {
    const posted = count('chat.postMessage') + count('chat.postEphemeral');
    await post('CFIN', 'lunch menu for Friday', [fake.upload({ name: 'menu.pdf', bytes: Buffer.from('%PDF-1.4') })]);
    const own = fileMessageEvent({ team: 'T1', user: 'UBOT', channel: 'DANA', text: '', files: [fake.upload({ name: 'screenshot.png', bytes: Buffer.from('png') })] });
    (own.event as Record<string, unknown>).bot_id = 'BBOT';
    expect((await postSigned(adapter.url()!, SECRET, JSON.stringify(own), 'application/json')).status).to.equal(200);
    // Something that is answered, after both: by then an answer to either would have been sent.
    await post('DANA', 'statement preview Other', [fake.upload({ name: 'last.xml', bytes: camt02 })]);
    await inDm(/^Preview of a statement for "Other"/, 'the last preview');
    expect(count('chat.postMessage') + count('chat.postEphemeral')).to.equal(posted + 1);
    expect(fake.downloads.some((d) => /menu\.pdf|screenshot\.png/.test(d.path))).to.equal(false);
    expect(capture.text()).not.to.include(TOKEN);
    for (const name of ['camt053_v08.xml', 'twice.xml', 'named.xml', 'huge.csv', 'unsized.csv', 'noscope.xml']) expect(capture.text()).not.to.include(name);
  });

  it('doctor names the scopes files need', async () => {
    await command('doctor');
    const report = await answered(/to look at/, 'the doctor report');
    expect(String(report.text)).to.include('without the scope(s) files:read, im:history, channels:history statement files posted in Slack are not read');
  });
});
