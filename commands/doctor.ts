import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { bullet } from './format.js';

/** What would stop results from flowing, as seen from here: this platform's set-up and the user's accounts. */
export const doctorCommand = defineCommand({
  path: ['doctor'],
  usage: 'doctor',
  summary: 'check this chat platform and your accounts for misconfiguration',
  access: 'admin',
  args: z.object({}).strict(),
  async handler(ctx) {
    const member = memberOf(ctx);
    const findings: string[] = [];
    try {
      findings.push(...((await ctx.platformDoctor?.()) ?? []));
    } catch (error) {
      findings.push(`This platform could not be checked: ${error instanceof Error ? error.message : String(error)}.`);
    }
    const tenant = await ctx.services.users.getTenant(member.userId);
    if (!tenant.operation_mode) findings.push(`No operation mode chosen: transactions are stored but nothing is matched or sent (${COMMAND_ROOT} mode reconcile|passthrough).`);
    for (const summary of await ctx.services.accounts.list(member.userId)) {
      const account = await ctx.services.accounts.show(member.userId, summary.id);
      const name = `"${account.name}"`;
      if (account.status !== 'active') findings.push(`${name} is paused.`);
      if (account.scrapeBlockedAt) findings.push(`${name}: scraping is stopped: ${account.scrapeBlockedReason} (${COMMAND_ROOT} account restart ${name} once fixed).`);
      if (!account.settings.bank_username || account.settings.bank_password !== '********') findings.push(`${name} has no complete bank credentials (${COMMAND_ROOT} account set ${name} bank_username bank_password).`);
      if (tenant.operation_mode && !account.settings.webhook_url) findings.push(`${name} has no webhook_url: its events wait (${COMMAND_ROOT} account set ${name} webhook_url=https://…).`);
      if (tenant.operation_mode === 'reconcile' && !account.settings.pending_orders_endpoint) findings.push(`${name} has no pending_orders_endpoint: nothing to match against in reconcile mode.`);
      const events = account.settings.notification_events as string[] | undefined;
      if (account.settings.notification_endpoint_url && (!events || events.length === 0)) findings.push(`${name} has a notification endpoint but subscribes to no notification_events.`);
    }
    return { text: findings.length === 0 ? 'No problems found.' : `Found ${findings.length} thing(s) to look at:\n${bullet(findings)}` };
  },
});
