import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { UserError } from '../src/domain/errors.js';
import { minorToDecimalString } from '../src/domain/money.js';
import { describeCode } from '../src/sessions/assistance.js';
import { accountRef, bullet, showValue } from './format.js';

export const accountScrapeCommand = defineCommand({
  path: ['account', 'scrape'],
  usage: 'account scrape <name>',
  summary: 'read the bank now, without waiting for the schedule (progress follows here)',
  access: 'operator',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const view = await ctx.services.accounts.show(memberOf(ctx).userId, account);
    if (ctx.services.banks.find(view.bank)?.source === 'statement') {
      return { text: `"${view.name}" reads statement files, not a bank portal: send one with ${COMMAND_ROOT} statement import "${view.name}", or drop it in its watched folder.` };
    }
    const queued = await ctx.services.sessions.control.requestScrape(memberOf(ctx).userId, account, ctx.place.ref);
    return { text: `Queued a session for "${queued.account}"; progress will follow here.` };
  },
});

export const accountRestartCommand = defineCommand({
  path: ['account', 'restart'],
  usage: 'account restart <name>',
  summary: 'restart scraping after a fatal failure, once its cause is fixed',
  access: 'admin',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const result = await ctx.services.sessions.control.restart(memberOf(ctx).userId, account);
    await ctx.services.sessions.monitors.tick().catch(() => undefined);
    return { text: `${result.wasBlocked ? 'Scraping restarted' : 'Scraping was not blocked; the schedule was reset'} for "${result.account}". The next session starts shortly.` };
  },
});

function sessionStateCommand(verb: 'kill' | 'reactivate') {
  const state = verb === 'kill' ? 'stopped' : 'running';
  return defineCommand({
    path: ['account', verb],
    usage: `account ${verb} <name>`,
    summary: verb === 'kill' ? 'stop a persistent session (closes its browser) until reactivated' : 'start a stopped or parked persistent session again',
    access: 'operator',
    positionals: ['account'],
    args: z.object({ account: accountRef }).strict(),
    async handler(ctx, { account }) {
      const member = memberOf(ctx);
      const result = await ctx.services.sessions.control.setSessionState(member.userId, account, state, verb === 'kill' ? `stopped by ${member.displayName}` : null);
      await ctx.services.sessions.monitors.tick();
      return {
        text:
          verb === 'kill'
            ? `The persistent session of "${result.account}" is stopped. Start it again with ${COMMAND_ROOT} account reactivate "${result.account}".`
            : `The persistent session of "${result.account}" is starting.`,
      };
    },
  });
}

export const accountKillCommand = sessionStateCommand('kill');
export const accountReactivateCommand = sessionStateCommand('reactivate');

export const accountStatusCommand = defineCommand({
  path: ['account', 'status'],
  usage: 'account status <name>',
  summary: 'session state, last and next run, pending bank code',
  access: 'viewer',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const status = await ctx.services.sessions.control.status(memberOf(ctx).userId, account);
    const pending = await ctx.services.sessions.assistance.pending(status.view.id);
    const persistent = status.view.settings.session_type === 'persistent';
    const fields = [
      { label: 'Session type', value: String(status.view.settings.session_type) },
      { label: 'Status', value: status.view.status },
      { label: 'Scraping', value: status.view.scrapeBlockedAt ? `blocked since ${status.view.scrapeBlockedAt.toISOString()}: ${status.view.scrapeBlockedReason}` : 'allowed' },
      ...(persistent ? [{ label: 'Persistent session', value: `${status.session?.state ?? 'running'}${status.session?.reason ? ` (${status.session.reason})` : ''}` }] : []),
      { label: 'Running now', value: status.activeSession ?? 'no' },
      { label: 'Last run', value: status.lastRun ? `${status.lastRun.startedAt.toISOString()} — ${status.lastRun.outcome ?? status.lastRun.status}, ${status.lastRun.found} read, ${status.lastRun.inserted} new` : 'never' },
      ...(!persistent ? [{ label: 'Next run', value: showValue(status.scrape?.nextRunAt ?? 'due now') }] : []),
      { label: 'Consecutive failures', value: String(status.scrape?.failures ?? 0) },
      { label: 'Bank code', value: pending ? `waiting: ${describeCode(pending.descriptor)}, until ${pending.expiresAt.toISOString()}` : 'none pending' },
    ];
    return { text: `Account "${status.view.name}"`, fields };
  },
});

export const otpCommand = defineCommand({
  path: ['otp'],
  usage: 'otp <account> [code]',
  summary: 'give the bank code a login is waiting for (in private only; without the code, asked in a private form)',
  access: 'operator',
  positionals: ['account', 'code'],
  args: z.object({ account: accountRef, code: z.string().min(1).max(32, 'the code is at most 32 characters').optional() }).strict(),
  async handler(ctx, { account, code }) {
    if (!ctx.place.private) throw new UserError('Bank codes are only accepted in a private chat with me; this one was not used. Send it in a DM.');
    const member = memberOf(ctx);
    const view = await ctx.services.accounts.show(member.userId, account);
    // Typed in the chat: the message goes (where the platform keeps one), the code is used either way.
    if (code !== undefined) await ctx.forgetMessage();
    let given = code;
    if (given === undefined) {
      // The prompt's button, or the command without a code: a private form, as for a password.
      if (!(await ctx.services.sessions.assistance.pending(view.id))) return { text: `No bank code is being waited for on "${view.name}".` };
      const result = await ctx.askPrivately({ title: `Bank code for ${view.name}`.slice(0, 45), fields: [{ name: 'code', label: 'Bank code', secret: true }] });
      if (result.status === 'unreachable') throw new UserError(`I cannot ask you in private: ${result.reason}. Or send: ${COMMAND_ROOT} otp "${view.name}" <code>`);
      given = result.status === 'submitted' ? result.values.code?.trim() : undefined;
      if (!given) return { text: 'No code given; nothing was sent to the bank.' };
    }
    await ctx.services.sessions.assistance.submit(view.id, given, `${member.platform}:${member.id}`);
    return { text: `Code received for "${view.name}"; typing it into the bank.` };
  },
});

export const failuresCommand = defineCommand({
  path: ['failures'],
  usage: 'failures [account]',
  summary: 'recent failed bank sessions, with stage, page and screenshot',
  access: 'viewer',
  positionals: ['account'],
  args: z.object({ account: z.string().optional() }).strict(),
  async handler(ctx, { account }) {
    const failures = await ctx.services.sessions.control.failures(memberOf(ctx).userId, { ...(account ? { account } : {}), limit: 10 });
    if (failures.length === 0) return { text: 'No failed sessions.' };
    const lines = failures.map(
      (f) => `${f.at.toISOString()} ${f.accountName}: ${f.outcome}${f.fatal ? ' (fatal)' : ''} at ${f.stage ?? '?'}${f.url ? `, page ${f.url}` : ''}${f.screenshot ? `, screenshot ${f.screenshot}` : ''}`,
    );
    return { text: `Recent failures:\n${bullet(lines)}` };
  },
});

export const movementsCommand = defineCommand({
  path: ['movements'],
  usage: 'movements <account> [limit]',
  summary: 'bank transactions read for an account, newest first',
  access: 'viewer',
  positionals: ['account', 'limit'],
  args: z.object({ account: accountRef, limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(100, 'limit is at most 100').default(20) }).strict(),
  async handler(ctx, { account, limit }) {
    const view = await ctx.services.accounts.show(memberOf(ctx).userId, account);
    const rows = await ctx.services.sessions.transactions.recent(view.id, { limit, offset: 0 });
    if (rows.length === 0) return { text: `No movements read yet for "${view.name}". Read the bank now: ${COMMAND_ROOT} account scrape "${view.name}"` };
    const lines = rows.map((t) => `${t.receivedAt.toISOString().slice(0, 16).replace('T', ' ')} ${minorToDecimalString(t.amountMinor, t.currency)} ${t.currency} — ${t.senderName ?? '(no sender)'} — ${t.description}`);
    return { text: `Movements of "${view.name}" (${rows.length}):\n${bullet(lines)}` };
  },
});
