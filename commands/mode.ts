import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { OPERATION_MODES } from '../src/domain/operation-mode.js';
import { hasRole } from '../src/domain/roles.js';

const explain = {
  reconcile: 'bank transactions are matched against the pending payments polled from your endpoint',
  passthrough: 'every new bank transaction with a sender name is forwarded to the webhook',
} as const;

export const modeCommand = defineCommand({
  path: ['mode'],
  usage: `mode [${OPERATION_MODES.join('|')}]`,
  summary: 'show or switch the operation mode (applies to every account from the next transactions read)',
  access: 'viewer',
  positionals: ['mode'],
  args: z.object({ mode: z.enum(OPERATION_MODES, { error: `mode must be ${OPERATION_MODES.join(' or ')}` }).optional() }).strict(),
  async handler(ctx, { mode }) {
    const member = memberOf(ctx);
    if (!mode) {
      const tenant = await ctx.services.users.getTenant(member.userId);
      if (!tenant.operation_mode) {
        return { text: `No operation mode chosen yet: transactions are stored, nothing is polled or sent. Choose one: ${COMMAND_ROOT} mode reconcile|passthrough` };
      }
      return { text: `Operation mode: ${tenant.operation_mode} — ${explain[tenant.operation_mode]}.` };
    }
    if (!hasRole(member.role, 'admin')) return { text: `Switching the mode needs the admin role; you are ${member.role}. Nothing was changed.` };
    await ctx.services.users.setOperationMode(member.userId, mode);
    return { text: `Operation mode is now ${mode}: ${explain[mode]}. It applies to every account from the next transactions read.` };
  },
});
