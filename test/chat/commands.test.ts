import { expect } from 'chai';
import { z } from 'zod';
import { allCommands } from '../../commands/index.js';
import { defineCommand } from '../../src/chat/command.js';
import { createCommandRouter, type CommandRouter } from '../../src/chat/router.js';
import type { Services } from '../../src/services.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { useTestDatabase } from '../helpers/database.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

describe('chat commands through the router (real database)', () => {
  const test = useTestDatabase('commands');
  const capture = capturingLogger();
  let services: Services;
  let router: CommandRouter;
  const owner = identity('OWNER');
  const viewer = identity('VIEWER');
  const operator = identity('OPERATOR');
  const stranger = identity('STRANGER');

  const explode = defineCommand({
    path: ['explode'],
    usage: 'explode',
    summary: 'test only: fails with an unexpected error',
    access: 'anyone',
    args: z.object({}).strict(),
    async handler() {
      throw new Error('internal detail that must stay in the log');
    },
  });

  async function run(who = owner, text: string, options: { place?: 'dm' | 'channel'; forms?: ReturnType<typeof scriptedForms> } = {}) {
    const reply = await router.handle(commandIn(options.place ?? 'dm', who, text), options.forms ?? scriptedForms());
    return reply.text + (reply.fields ?? []).map((f) => `\n${f.label}: ${f.value}`).join('');
  }

  before(async () => {
    services = buildServices(test.db, { log: capture.log });
    router = createCommandRouter({ commands: [...allCommands(), explode], services, log: capture.log });
    expect(await run(owner, 'setup ACME Corp')).to.match(/Created "ACME Corp" with you as owner/);
    for (const [who, role] of [
      [viewer, 'viewer'],
      [operator, 'operator'],
    ] as const) {
      const invite = await run(owner, `invite ${role}`);
      const code = /RB-[A-Z2-9]{4}-[A-Z2-9]{4}/.exec(invite)?.[0];
      expect(code, invite).to.be.a('string');
      expect(await run(who, `/recon link ${code}`)).to.match(new RegExp(`now ${role} of "ACME Corp"`));
    }
  });

  it('help works for anyone and shows only what the caller may run', async () => {
    expect(await run(stranger, '/recon')).to.match(/link your chat identity first/);
    const viewerHelp = await run(viewer, 'help');
    expect(viewerHelp).to.include('/recon account list');
    expect(viewerHelp).not.to.include('/recon account add');
    expect(await run(owner, 'help account')).to.include('/recon account add <name> <bank>');
  });

  it('an unlinked person is refused and told how to link', async () => {
    expect(await run(stranger, 'account list')).to.match(/not linked .* \/recon link <code>/);
  });

  it('a role below the command is refused and nothing changes', async () => {
    expect(await run(viewer, 'account add Sneaky sandbox')).to.match(/needs the admin role; you are viewer\. Nothing was changed/);
    expect(await run(operator, 'mode passthrough')).to.match(/needs the admin role; you are operator/);
    expect(await test.db.models.Account.countDocuments({ name: 'Sneaky' })).to.equal(0);
    expect((await services.users.getTenant((await services.users.findMember(owner))!.userId)).operation_mode).to.equal(null);
  });

  it('unknown commands and options answer with usage', async () => {
    expect(await run(owner, 'acount list')).to.match(/Unknown command "acount list"\. Commands:\n {2}\/recon help/);
    expect(await run(owner, 'account frobnicate')).to.match(/Unknown command[\s\S]*\/recon account add/);
    expect(await run(owner, 'account list verbose=1')).to.match(/unknown option verbose\.\nUsage: \/recon account list/);
    expect(await run(owner, 'account show a b')).to.match(/Unexpected word "b"\.\nUsage: \/recon account show <name>/);
    expect(await run(owner, 'account show')).to.match(/account: the account name is required\.\nUsage/);
    expect(await run(owner, 'account add "Main')).to.match(/quote .* not closed/);
    expect(await run(owner, 'mode sometimes')).to.match(/mode must be reconcile or passthrough/);
  });

  it('adds an account, asking the credentials in private', async () => {
    const forms = scriptedForms([{ status: 'submitted', values: { bank_username: 'juan', bank_password: 'pw-add-5521' } }]);
    const reply = await run(owner, 'account add "Main UYU" sandbox', { place: 'channel', forms });
    expect(reply).to.match(/Account "Main UYU" added \(bank sandbox\)\.\nCredentials saved/);
    expect(reply).to.match(/Choose an operation mode/);
    expect(forms.asked[0]?.fields.map((f) => [f.name, f.secret])).to.deep.equal([
      ['bank_username', false],
      ['bank_password', true],
    ]);
    expect(await run(viewer, 'account list')).to.match(/Main UYU — sandbox, active/);
    const shown = await run(operator, 'account show "main uyu"');
    expect(shown).to.match(/bank_username: juan/);
    expect(shown).to.match(/bank_password: \*{8}/);
    expect(shown).not.to.include('pw-add-5521');
  });

  it('an account added with the form cancelled says how to add credentials later', async () => {
    const reply = await run(owner, 'account add Later sandbox', { forms: scriptedForms([{ status: 'cancelled' }]) });
    expect(reply).to.match(/No credentials entered: set them later with \/recon account set "Later" bank_username bank_password/);
  });

  it('a JSON setting nested 2,000 levels is refused in one sentence, not "Something went wrong"', async () => {
    await run(owner, 'account add Deep sandbox', { forms: scriptedForms([{ status: 'cancelled' }]) });
    let deep = '1';
    for (let i = 0; i < 2000; i++) deep = `{"a":${deep}}`;
    const reply = await run(owner, `account set Deep webhook_extra_fields=${deep}`);
    expect(reply).to.equal('Invalid setting: webhook_extra_fields must be JSON at most 10 levels deep and at most 16 KB.');
    expect(capture.text()).not.to.match(/Maximum call stack|command failed/);
  });

  it('refuses a secret typed in a channel: not stored, not logged, not repeated', async () => {
    await run(owner, 'account add Chan sandbox', { forms: scriptedForms([{ status: 'cancelled' }]) });
    const secret = 'typed-in-public-9931';
    const reply = await run(owner, `account set Chan webhook_url=https://h.example bank_password=${secret}`, { place: 'channel' });
    expect(reply).to.match(/bank_password is a secret and is never taken in a channel; nothing was saved/);
    expect(reply).not.to.include(secret);
    const raw = JSON.stringify(await test.db.models.Account.findOne({ name: 'Chan' }).lean());
    expect(raw).not.to.include(secret);
    expect(raw).not.to.include('h.example');
    expect(capture.text()).not.to.include(secret);
  });

  it('a secret with spaces typed in a channel: no word of it comes back as an "unknown setting"', async () => {
    const reply = await run(owner, 'account set Chan bank_password=correct horse battery', { place: 'channel' });
    expect(reply).to.match(/bank_password is a secret and is never taken in a channel/);
    for (const word of ['horse', 'battery']) expect(reply).not.to.include(word);
    expect(capture.text()).not.to.include('horse');
  });

  it('a secret named without a value is asked in private, even from a channel', async () => {
    const forms = scriptedForms([{ status: 'submitted', values: { auth_token: 'tok-private-1' } }]);
    expect(await run(owner, 'account set Chan auth_token retry_limit=5', { place: 'channel', forms })).to.match(/Updated "Chan": retry_limit, auth_token\./);
    expect(forms.asked[0]?.fields).to.deep.equal([{ name: 'auth_token', label: 'Auth token', secret: true }]);
    const account = await services.accounts.show((await services.users.findMember(owner))!.userId, 'Chan');
    expect(await services.accounts.revealSecret(account.id, 'auth_token')).to.equal('tok-private-1');
    expect(capture.text()).not.to.include('tok-private-1');
  });

  it('bad settings are one sentence naming the field, and change nothing', async () => {
    expect(await run(owner, 'account set Chan webhook_url=ftp://x.example')).to.match(/^Invalid setting: webhook_url must be an http:\/\/ or https:\/\/ URL\.$/);
    expect(await run(owner, 'account set Chan webhook_extra_fields={"status":"x"}')).to.match(/webhook_extra_fields cannot set reserved key\(s\) status/);
    expect(await run(owner, 'account set Chan webhook_extra_fields={oops')).to.match(/webhook_extra_fields must be valid JSON/);
    expect(await run(owner, 'account set Chan colour=blue')).to.match(/Unknown setting colour/);
    expect(await run(owner, 'account set Chan')).to.match(/Name at least one setting/);
    expect(await run(owner, 'account set Nope retry_limit=1')).to.match(/No account named "Nope"/);
  });

  it('sets JSON extras typed in chat', async () => {
    expect(await run(owner, `account set Chan webhook_extra_fields='{"tenant": "acme"}'`)).to.match(/Updated "Chan": webhook_extra_fields/);
    expect(await run(owner, 'account show Chan')).to.include('webhook_extra_fields: {"tenant":"acme"}');
  });

  it('pauses, resumes and deletes with confirmation', async () => {
    await run(owner, 'account add Temp sandbox', { forms: scriptedForms([{ status: 'cancelled' }]) });
    expect(await run(owner, 'account pause Temp')).to.equal('Account "Temp" is now inactive.');
    expect(await run(owner, 'account resume temp')).to.equal('Account "Temp" is now active.');
    expect(await run(owner, 'account delete Temp')).to.match(/repeat the account's name: "Temp"/);
    expect(await run(owner, 'account delete Temp Tmp')).to.match(/does not match .* nothing was deleted/);
    expect(await run(owner, 'account delete Temp temp')).to.equal('Account "Temp" deleted.');
    expect(await run(owner, 'account show Temp')).to.match(/No account named "Temp"/);
  });

  it('shows and switches the operation mode', async () => {
    expect(await run(viewer, 'mode')).to.match(/No operation mode chosen yet/);
    expect(await run(owner, 'mode passthrough')).to.match(/Operation mode is now passthrough/);
    expect(await run(viewer, 'mode')).to.match(/^Operation mode: passthrough/);
  });

  it('lists banks and members, and tells who you are', async () => {
    expect(await run(viewer, 'banks')).to.match(/sandbox — Sandbox Bank/);
    expect(await run(viewer, 'members')).to.match(/user-OWNER \(slack\) — owner[\s\S]*user-VIEWER \(slack\) — viewer/);
    expect(await run(operator, 'whoami')).to.match(/operator of "ACME Corp"/);
    expect(await run(stranger, 'whoami')).to.match(/not linked/);
  });

  it('an unexpected fault answers with a reference, never a stack or internals', async () => {
    const reply = await run(owner, 'explode');
    expect(reply).to.match(/^Something went wrong \(reference [0-9a-f]{8}\)/);
    expect(reply).not.to.match(/internal detail|at .*\.ts/);
    const ref = /reference ([0-9a-f]{8})/.exec(reply)?.[1];
    expect(capture.text()).to.include(ref);
    expect(capture.text()).to.include('internal detail that must stay in the log');
  });
});
