import { z } from 'zod';
import { defineCommand, memberOf, type CommandContext } from '../src/chat/command.js';
import type { FormField } from '../src/chat/port.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { UserError } from '../src/domain/errors.js';
import { isSecretSetting, isSettingName, SETTING_NAMES, SETTINGS, settingFromText, type SettingName } from '../src/domain/account-settings.js';
import type { AccountView } from '../src/accounts/account-service.js';
import { accountRef, bullet, showValue } from './format.js';

function labelOf(name: SettingName): string {
  return name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function fieldsOf(account: AccountView) {
  return [
    { label: 'Bank', value: account.bank },
    { label: 'Status', value: account.status },
    ...(account.scrapeBlockedAt ? [{ label: 'Scraping blocked', value: `${account.scrapeBlockedAt.toISOString()} — ${account.scrapeBlockedReason ?? ''}` }] : []),
    ...Object.entries(account.settings).map(([name, value]) => ({ label: name, value: showValue(value) })),
  ];
}

/** Asks for settings in private (modal, DM or hidden console input) and returns their typed values. */
async function askSettings(ctx: CommandContext, account: string, names: SettingName[], intro: string): Promise<Record<string, unknown> | undefined> {
  const fields: FormField[] = names.map((name) => ({ name, label: labelOf(name), secret: isSecretSetting(name) }));
  const result = await ctx.askPrivately({ title: `Settings of ${account}`, intro, fields });
  if (result.status === 'unreachable') throw new UserError(`I cannot ask you in private: ${result.reason}. Then try again.`);
  if (result.status !== 'submitted') return undefined;
  // A field left out of the submission is unchanged, never cleared ("none" clears).
  return Object.fromEntries(names.filter((name) => result.values[name] !== undefined).map((name) => [name, settingFromText(name, result.values[name] as string)]));
}

export const accountAddCommand = defineCommand({
  path: ['account', 'add'],
  usage: 'account add <name> <bank>',
  summary: 'add a bank account, then give its bank credentials in private',
  access: 'admin',
  positionals: ['name', 'bank'],
  args: z.object({ name: accountRef, bank: z.string({ error: 'the bank is required (see banks)' }).min(1) }).strict(),
  async handler(ctx, { name, bank }) {
    const member = memberOf(ctx);
    const account = await ctx.services.accounts.create(member.userId, { name, bank });
    const lines = [`Account "${account.name}" added (bank ${account.bank}).`];
    const statements = ctx.services.banks.find(account.bank)?.source === 'statement';
    // A statement account has no bank login: it is read from the files people send.
    const values = statements ? undefined : await askSettings(ctx, account.name, ['bank_username', 'bank_password'], `Bank credentials for ${account.name}. They are stored encrypted and never shown again.`);
    if (values) {
      const entered = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
      if (Object.keys(entered).length > 0) await ctx.services.accounts.configure(member.userId, account.id, entered);
      lines.push(
        Object.keys(entered).length === 2
          ? `Credentials saved (encrypted). The first session starts by itself shortly; to read the bank at once: ${COMMAND_ROOT} account scrape "${account.name}"`
          : 'Credentials incomplete: set them with ' + `${COMMAND_ROOT} account set "${account.name}" bank_username bank_password`,
      );
    } else if (statements) {
      lines.push(`It reads bank statement files (camt, MT940, OFX, CSV): send one with ${COMMAND_ROOT} statement import "${account.name}", or drop it in its watched folder.`);
    } else {
      lines.push(`No credentials entered: set them later with ${COMMAND_ROOT} account set "${account.name}" bank_username bank_password`);
    }
    const tenant = await ctx.services.users.getTenant(member.userId);
    if (!tenant.operation_mode) lines.push(`Choose an operation mode: ${COMMAND_ROOT} mode reconcile|passthrough`);
    lines.push(`Set where results go: ${COMMAND_ROOT} account set "${account.name}" webhook_url=https://…`);
    // Shown once, and only where nobody else reads it.
    lines.push(
      ctx.place.private
        ? `Webhook signing secret (shown once; receivers verify webhook-signature with it, Standard Webhooks):\n${account.signingSecret}`
        : `Get the webhook signing secret in a private chat with the bot: ${COMMAND_ROOT} webhook secret "${account.name}"`,
    );
    return { text: lines.join('\n') };
  },
});

export const accountListCommand = defineCommand({
  path: ['account', 'list'],
  usage: 'account list',
  summary: 'your bank accounts',
  access: 'viewer',
  args: z.object({}).strict(),
  async handler(ctx) {
    const accounts = await ctx.services.accounts.list(memberOf(ctx).userId);
    if (accounts.length === 0) return { text: `No accounts yet. Add one: ${COMMAND_ROOT} account add <name> <bank>` };
    const lines = accounts.map((a) => `${a.name} — ${a.bank}, ${a.status}${a.scrapeBlockedAt ? `, scraping blocked: ${a.scrapeBlockedReason}` : ''}`);
    return { text: `Accounts:\n${bullet(lines)}` };
  },
});

export const accountShowCommand = defineCommand({
  path: ['account', 'show'],
  usage: 'account show <name>',
  summary: 'an account and its settings (secrets masked)',
  access: 'viewer',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const view = await ctx.services.accounts.show(memberOf(ctx).userId, account);
    return { text: `Account "${view.name}" (${view.id})`, fields: fieldsOf(view) };
  },
});

export const accountSetCommand = defineCommand({
  path: ['account', 'set'],
  usage: 'account set <name> key=value [key=value …] | account set <name> <setting> [<setting> …]',
  summary: 'change settings; a setting named without a value is asked in private (secrets always are); with no setting, lists them',
  access: 'admin',
  positionals: ['account', 'ask'],
  variadic: true,
  optionsAs: 'values',
  args: z.object({ account: accountRef, ask: z.array(z.string()), values: z.record(z.string(), z.string()) }).strict(),
  async handler(ctx, { account, ask, values }) {
    const member = memberOf(ctx);
    const typedInPublic = Object.keys(values).filter(isSecretSetting);
    if (typedInPublic.length > 0 && !ctx.place.private) {
      // Refuse the whole command before anything else: nothing of it is stored, and no word of
      // it is repeated (a secret with spaces would otherwise come back as "unknown settings").
      throw new UserError(
        `${typedInPublic.join(', ')} is a secret and is never taken in a channel; nothing was saved. Run ${COMMAND_ROOT} account set "${account}" ${typedInPublic.join(' ')} and I will ask for it in private.`,
      );
    }
    // Typed in private, but the message stays in the chat history: gone before it is stored, or refused.
    if (typedInPublic.length > 0 && !(await ctx.forgetMessage())) {
      throw new UserError(
        `I could not delete your message holding ${typedInPublic.join(', ')}, so nothing was saved; delete it yourself. Run ${COMMAND_ROOT} account set "${account}" ${typedInPublic.join(' ')} and I will ask for it in private.`,
      );
    }
    const unknown = [...ask, ...Object.keys(values)].filter((name) => !isSettingName(name));
    if (unknown.length > 0) throw new UserError(`Unknown setting ${unknown.join(', ')}. Settings: ${SETTING_NAMES.join(', ')}.`);
    if (ask.length === 0 && Object.keys(values).length === 0) {
      throw new UserError(`Name at least one setting. Settings:\n${SETTING_NAMES.map((n) => `${n} — ${SETTINGS[n].help}`).join('\n')}`);
    }
    const typed: Record<string, unknown> = Object.fromEntries(Object.entries(values).map(([name, text]) => [name, settingFromText(name as SettingName, text)]));
    await ctx.services.accounts.show(member.userId, account); // a clear "not found" before any form opens
    if (ask.length > 0) {
      const asked = await askSettings(ctx, account, ask as SettingName[], 'Type none to clear a setting.');
      if (!asked) return { text: 'Cancelled; nothing was changed.' };
      Object.assign(typed, asked);
    }
    const { account: view, changed } = await ctx.services.accounts.configure(member.userId, account, typed);
    return { text: changed.length > 0 ? `Updated "${view.name}": ${changed.join(', ')}.` : 'Nothing changed.' };
  },
});

export const accountDeleteCommand = defineCommand({
  path: ['account', 'delete'],
  usage: 'account delete <name> <name again>',
  summary: 'delete an account (repeat its name to confirm)',
  access: 'admin',
  positionals: ['account', 'confirmation'],
  args: z.object({ account: accountRef, confirmation: z.string().optional() }).strict(),
  async handler(ctx, { account, confirmation }) {
    const removed = await ctx.services.accounts.remove(memberOf(ctx).userId, account, confirmation);
    return { text: `Account "${removed.name}" deleted.` };
  },
});

function statusCommand(verb: 'pause' | 'resume') {
  const status = verb === 'pause' ? 'inactive' : 'active';
  return defineCommand({
    path: ['account', verb],
    usage: `account ${verb} <name>`,
    summary: verb === 'pause' ? 'stop scheduled sessions for an account' : 'start scheduled sessions again',
    access: 'admin',
    positionals: ['account'],
    args: z.object({ account: accountRef }).strict(),
    async handler(ctx, { account }) {
      const view = await ctx.services.accounts.setStatus(memberOf(ctx).userId, account, status);
      return { text: `Account "${view.name}" is now ${view.status}.` };
    },
  });
}

export const accountPauseCommand = statusCommand('pause');
export const accountResumeCommand = statusCommand('resume');
