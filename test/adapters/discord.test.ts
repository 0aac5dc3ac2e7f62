import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createDiscordAdapter } from '../../adapters/discord/discord-adapter.js';
import { renderDiscord, splitForDiscord } from '../../adapters/discord/render.js';
import { allCommands } from '../../commands/index.js';
import type { ChatAdapter } from '../../src/chat/port.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { APP_ID, startFakeDiscord } from '../helpers/fake-discord.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

describe('Discord adapter (real discord.js against a fake gateway and REST API)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('discord');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeDiscord>>;
  let adapter: ChatAdapter;
  const ana = { id: '400000000000000001', username: 'ana' };
  const bruno = { id: '400000000000000002', username: 'bruno' };
  const GUILD = '500000000000000001';
  const CHANNEL = '500000000000000002';

  let services: ReturnType<typeof buildServices>;
  const dm = { dm: '600000000000000001' };

  before(async () => {
    fake = await startFakeDiscord();
    services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message) });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createDiscordAdapter({ token: 'discord-test-token', commands: router.commands, api: fake.api, guildId: GUILD, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter), onAction: (event) => router.handleAction(event, adapter) });
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  it('connects with only the Guilds intent and registers /recon in the guild, with sub-commands from the declarations', () => {
    expect(fake.identified[0]?.intents).to.equal(1);
    const registered = fake.calls.find((c) => c.method === 'PUT' && c.path === `/applications/${APP_ID}/guilds/${GUILD}/commands`);
    const [recon] = registered?.body as unknown as { name: string; options: { type: number; name: string; options: { name: string; options?: { name: string }[] }[] }[] }[];
    expect(recon?.name).to.equal('recon');
    const account = recon!.options.find((o) => o.name === 'account');
    expect(account?.type).to.equal(2);
    expect(account?.options.map((o) => o.name)).to.include.members(['add', 'list', 'set', 'scrape', 'poll']);
    expect(account?.options.find((o) => o.name === 'add')?.options?.map((o) => o.name)).to.deep.equal(['name', 'bank', 'options']);
    const pending = recon!.options.find((o) => o.name === 'pending');
    expect(pending?.options.map((o) => o.name)).to.deep.equal(['list', 'rematch', 'resolve', 'show'].filter((n) => pending?.options.some((o) => o.name === n)).sort((a, b) => pending!.options.findIndex((o) => o.name === a) - pending!.options.findIndex((o) => o.name === b)));
    expect(pending?.options[0]?.name).to.equal('list');
    expect(recon!.options.length).to.be.at.most(25);
    for (const option of recon!.options) expect(option.options.length, option.name).to.be.at.most(25);
    // Guild commands do not exist in DMs: the same /recon is registered for the bot's DMs.
    const forDms = fake.calls.find((c) => c.method === 'PUT' && c.path === `/applications/${APP_ID}/commands`);
    const [dmRecon] = forDms?.body as unknown as { name: string; contexts?: number[]; options: unknown[] }[];
    expect(dmRecon?.name).to.equal('recon');
    expect(dmRecon?.contexts).to.deep.equal([1]);
    expect(dmRecon?.options).to.deep.equal(recon!.options);
  });

  it('defers every command as an ephemeral reply, then edits it with the answer; an unlinked person is refused', async () => {
    const refused = fake.command(bruno, { group: 'account', sub: 'list' }, { guild: GUILD, channel: CHANNEL });
    await eventually(() => fake.answers(refused.token).find((a) => /not linked/.test(a)), 10_000, 'the refusal');
    const deferred = fake.calls.find((c) => c.path === `/interactions/${refused.id}/${refused.token}/callback`);
    expect(deferred?.body).to.deep.include({ type: 5 });
    expect((deferred?.body as { data?: { flags?: number } }).data?.flags).to.equal(64);
    const setup = fake.command(ana, { sub: 'setup', values: { name: 'ACME' } }, { dm: '600000000000000001' });
    await eventually(() => fake.answers(setup.token).find((a) => /Created "ACME" with you as owner/.test(a)), 10_000, 'setup');
  });

  it('asks for credentials with a button that opens a modal; the password is stored sealed and shown nowhere', async () => {
    const dm = { dm: '600000000000000001' };
    const add = fake.command(ana, { group: 'account', sub: 'add', values: { name: 'Main', bank: 'sandbox' } }, dm);
    const offer = await eventually(() => fake.followUps(add.token).find((f) => Array.isArray(f.components)), 10_000, 'the form button');
    const button = ((offer.components as { components: { custom_id: string }[] }[])[0]?.components[0]?.custom_id) as string;
    expect(button).to.match(/^form:/);
    const pressed = fake.press(ana, button, dm);
    const modal = await eventually(() => fake.calls.find((c) => c.path === `/interactions/${pressed.id}/${pressed.token}/callback`), 10_000, 'the modal');
    expect(modal.body).to.deep.include({ type: 9 });
    const inputs = ((modal.body as { data: { components: { components: { custom_id: string }[] }[] } }).data.components).map((row) => row.components[0]?.custom_id);
    expect(inputs).to.deep.equal(['bank_username', 'bank_password']);
    fake.submitModal(ana, button, { bank_username: 'ana', bank_password: 'D1scord-Pw-5' }, dm);
    await eventually(() => fake.answers(add.token).find((a) => /Credentials saved \(encrypted\)/.test(a)), 10_000, 'saved');
    expect(JSON.stringify(fake.calls)).not.to.include('D1scord-Pw-5');
    expect(capture.text()).not.to.include('D1scord-Pw-5');
    expect(JSON.stringify(await test.db.models.Account.find().lean())).not.to.include('D1scord-Pw-5');
    // Someone else pressing that button gets nothing.
    const other = fake.press(bruno, button, dm);
    await eventually(() => fake.calls.find((c) => c.path === `/interactions/${other.id}/${other.token}/callback` && /not yours/.test(JSON.stringify(c.body))), 10_000, 'refused');
  });

  /** An answer as a person reads it (Discord shows escaped markdown without its backslashes). */
  const shown = (token: string) => fake.answers(token).map((a) => a.replace(/\\([\\*_`~|[\]>#-])/g, '$1'));

  /** Presses the latest private-form button of a command (or of the Continue reply), waits for its modal, returns the modal's inputs. */
  async function openForm(from: { id: string; token: string }): Promise<{ customId: string; inputs: string[]; title: string }> {
    const replies = () => fake.calls.filter((c) => c.path === `/interactions/${from.id}/${from.token}/callback`).map((c) => (c.body as { data?: Record<string, unknown> }).data ?? {});
    const offer = await eventually(() => [...fake.followUps(from.token), ...replies()].findLast((f) => Array.isArray(f.components)), 10_000, 'the form button');
    const customId = (offer.components as { components: { custom_id: string }[] }[])[0]?.components[0]?.custom_id as string;
    const pressed = fake.press(ana, customId, dm);
    const modal = await eventually(() => fake.calls.find((c) => c.path === `/interactions/${pressed.id}/${pressed.token}/callback` && (c.body as { type?: number }).type === 9), 10_000, 'the modal');
    const data = (modal.body as { data: { title: string; components: { components: { custom_id: string }[] }[] } }).data;
    return { customId, title: data.title, inputs: data.components.map((row) => row.components[0]?.custom_id as string) };
  }

  it('a form of more than 5 fields is asked in parts of at most 5 (Discord\'s limit); every value is taken', async () => {
    // Six settings named in the `ask` option, asked in private.
    const six = fake.command(ana, { group: 'account', sub: 'set', values: { account: 'Main', ask: 'bank_username auth_token webhook_url retry_limit lookback_days scrape_interval_minutes' } }, dm);
    const first = await openForm(six);
    expect(first.inputs).to.deep.equal(['bank_username', 'auth_token', 'webhook_url', 'retry_limit', 'lookback_days']);
    expect(first.title).to.match(/\(1\/2\)$/);
    const part1 = fake.submitModal(ana, first.customId, { bank_username: 'ana2', auth_token: 'Tok-Six-1', webhook_url: 'http://127.0.0.1:9/hook', retry_limit: '5', lookback_days: '7' }, dm);
    const second = await openForm(part1);
    expect(second.inputs).to.deep.equal(['scrape_interval_minutes']);
    fake.submitModal(ana, second.customId, { scrape_interval_minutes: '30' }, dm);
    const updated = await eventually(() => shown(six.token).find((a) => /^Updated "Main"/.test(a)), 10_000, 'updated');
    for (const name of ['bank_username', 'auth_token', 'webhook_url', 'retry_limit', 'lookback_days', 'scrape_interval_minutes']) expect(updated).to.include(name);
    const account = (await test.db.models.Account.findOne({ name: 'Main' }).lean())!;
    expect(account.settings).to.deep.include({ retry_limit: 5, lookback_days: 7, scrape_interval_minutes: 30 });
    expect(JSON.stringify(fake.calls) + capture.text()).not.to.include('Tok-Six-1');
  });

  it('a field missing from a submission is unchanged, never cleared (a secret included)', async () => {
    const run = fake.command(ana, { group: 'account', sub: 'set', values: { account: 'Main', ask: 'bank_username bank_password' } }, dm);
    const form = await openForm(run);
    expect(form.inputs).to.deep.equal(['bank_username', 'bank_password']);
    fake.submitModal(ana, form.customId, { bank_username: 'ana3' }, dm);
    await eventually(() => shown(run.token).find((a) => /^Updated "Main": bank_username\.$/.test(a)), 10_000, 'only the username updated');
    const account = (await test.db.models.Account.findOne({ name: 'Main' }).lean())!;
    expect(await services.accounts.revealSecret(String(account._id), 'bank_password')).to.equal('D1scord-Pw-5');
  });

  it('a button whose action asks in private opens the private form from the press itself', async () => {
    const account = (await test.db.models.Account.findOne({ name: 'Main' }).lean())!;
    const actionId = await services.actions.create(account.userId, 'account set Main lookback_days');
    await adapter.send('discord:dm:600000000000000001', { text: 'Change the look-back?', choices: [{ id: actionId, label: 'Change it' }] });
    const pressed = fake.press(ana, `act:${actionId}`, dm);
    const form = await openForm(pressed);
    expect(form.inputs).to.deep.equal(['lookback_days']);
    fake.submitModal(ana, form.customId, { lookback_days: '9' }, dm);
    await eventually(() => shown(pressed.token).find((a) => /^Updated "Main": lookback_days\.$/.test(a)), 10_000, 'updated from the button');
  });

  it('doctor finds /recon registered', async () => {
    const run = fake.command(ana, { sub: 'doctor' }, { dm: '600000000000000001' });
    const report = await eventually(() => fake.answers(run.token).find((a) => /look at|No problems/.test(a)), 10_000, 'the doctor report');
    expect(report).not.to.include('not registered');
    expect(report).not.to.include('could not be checked');
  });

  it('a failure notice: its text first, the screenshot after it under a fixed file name; edits a message it posted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-discord-shot-'));
    const png = path.join(dir, 'run-acct-secretive-name.png');
    writeFileSync(png, Buffer.alloc(1024, 3));
    const ref = await adapter.send(`discord:${GUILD}:${CHANNEL}`, { text: 'Bank session failed', image: { path: png, alt: 'The bank page' } });
    const posts = () => fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${CHANNEL}/messages`);
    const text = posts().findIndex((c) => c.body?.content === 'Bank session failed');
    expect(text).to.be.at.least(0);
    const image = await eventually(() => { const i = posts().findIndex((c, at) => at > text && Array.isArray(c.body?.attachedFiles) && (c.body.attachedFiles as string[]).length > 0); return i >= 0 ? i : undefined; }, 10_000, 'the screenshot');
    expect(posts()[image]?.body?.attachedFiles).to.deep.equal(['screenshot.png']);
    expect(JSON.stringify(fake.calls)).not.to.include('secretive');
    expect(ref).to.match(new RegExp(`^discord:${GUILD}:${CHANNEL}#\\d+$`));
    await adapter.edit!(ref!, { text: 'Closed: answered elsewhere' });
    const edit = fake.calls.filter((c) => c.method === 'PATCH').at(-1);
    expect(edit?.path).to.equal(`/channels/${CHANNEL}/messages/${ref!.split('#')[1]}`);
    expect(edit?.body).to.deep.include({ content: 'Closed: answered elsewhere', components: [] });
  });

  it('an upload Discord refuses costs the screenshot, never the text', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-discord-refused-'));
    const png = path.join(dir, 'shot.png');
    writeFileSync(png, Buffer.alloc(1024, 4));
    fake.uploads.refuse = true;
    try {
      const ref = await adapter.send(`discord:${GUILD}:${CHANNEL}`, { text: 'Bank session failed (upload refused)', image: { path: png, alt: 'page' } });
      expect(ref).to.match(/#\d+$/);
      expect(fake.calls.some((c) => c.method === 'POST' && c.body?.content === 'Bank session failed (upload refused)')).to.equal(true);
      await eventually(() => capture.text().includes('could not attach a screenshot to a Discord message'), 10_000, 'the refused upload logged');
    } finally {
      fake.uploads.refuse = false;
    }
  });

  it('posts to channels with mentions disabled and bank strings escaped; long text is split', async () => {
    await adapter.send(`discord:${GUILD}:${CHANNEL}`, { text: 'Payment from @everyone *Evil*' });
    const sent = fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${CHANNEL}/messages`).at(-1);
    expect(sent?.body).to.deep.include({ content: 'Payment from @everyone \\*Evil\\*' });
    expect((sent?.body as { allowed_mentions?: { parse?: string[] } }).allowed_mentions?.parse).to.deep.equal([]);
    const pieces = splitForDiscord(Array.from({ length: 300 }, (_, i) => `line ${i} ${'y'.repeat(10)}`).join('\n'));
    expect(pieces.every((p) => p.length <= 2000)).to.equal(true);
    expect(pieces.length).to.be.greaterThan(1);
  });

  it('renders fields as an embed (escaped), a field too long for one in the text; long text split, never cut', async () => {
    const long = 'x'.repeat(1500);
    const rendered = renderDiscord({ text: 'Request B-1', fields: [{ label: 'Sender', value: 'María *López*' }, { label: 'Notes', value: long }] });
    expect(rendered.embeds).to.deep.equal([{ fields: [{ name: 'Sender', value: 'María \\*López\\*', inline: true }] }]);
    expect(rendered.pieces.join('\n')).to.include(`**Notes**: ${long}`);
    await adapter.send(`discord:${GUILD}:${CHANNEL}`, { text: Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n'), fields: [{ label: 'Status', value: 'matched' }] });
    const posts = fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${CHANNEL}/messages`).slice(-2);
    expect(posts.map((c) => String(c.body?.content)).join('\n')).to.include('line 0').and.include('line 299');
    expect(posts[0]?.body?.embeds, 'the embed goes with the last piece').to.equal(undefined);
    expect(posts[1]?.body?.embeds).to.deep.equal([{ fields: [{ name: 'Status', value: 'matched', inline: true }] }]);
  });
});
