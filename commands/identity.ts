import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { ROLES } from '../src/domain/roles.js';
import { bullet } from './format.js';

export const whoamiCommand = defineCommand({
  path: ['whoami'],
  usage: 'whoami',
  summary: 'who you are to Reconbanker',
  access: 'anyone',
  args: z.object({}).strict(),
  async handler(ctx) {
    const where = `${ctx.actor.platform} user ${ctx.actor.displayName} (${ctx.actor.userId})`;
    if (!ctx.member) return { text: `You are ${where}, not linked to a Reconbanker user.` };
    const tenant = await ctx.services.users.getTenant(ctx.member.userId);
    return { text: `You are ${where}, ${ctx.member.role} of "${tenant.name}".` };
  },
});

export const setupCommand = defineCommand({
  path: ['setup'],
  usage: 'setup <company name>',
  summary: 'create a new Reconbanker user (company) with you as owner',
  access: 'anyone',
  positionals: ['name'],
  variadic: true,
  args: z.object({ name: z.array(z.string()).min(1, 'give the company name') }).strict(),
  async handler(ctx, { name }) {
    const member = await ctx.services.users.createTenant(ctx.actor, name.join(' '));
    return {
      text: `Created "${name.join(' ')}" with you as ${member.role}. Next: choose an operation mode (${COMMAND_ROOT} mode reconcile|passthrough) and add an account (${COMMAND_ROOT} account add <name> <bank>).`,
    };
  },
});

export const inviteCommand = defineCommand({
  path: ['invite'],
  usage: `invite [${ROLES.join('|')}]`,
  summary: 'create a one-time code that links another person with a role (default operator)',
  access: 'admin',
  positionals: ['role'],
  args: z.object({ role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }).default('operator') }).strict(),
  async handler(ctx, { role }) {
    const invite = await ctx.services.users.createInvite(memberOf(ctx), role);
    return {
      text: `Invite code for a ${role}: ${invite.code}\nIt works once, until ${invite.expiresAt.toISOString()}. The person runs: ${COMMAND_ROOT} link ${invite.code}`,
    };
  },
});

export const linkCommand = defineCommand({
  path: ['link'],
  usage: 'link <invite code>',
  summary: 'join a Reconbanker user with an invite code',
  access: 'anyone',
  positionals: ['code'],
  args: z.object({ code: z.string({ error: 'the invite code is required' }).min(1) }).strict(),
  async handler(ctx, { code }) {
    const member = await ctx.services.users.redeemInvite(ctx.actor, code);
    const tenant = await ctx.services.users.getTenant(member.userId);
    return { text: `Linked: you are now ${member.role} of "${tenant.name}".` };
  },
});

export const membersCommand = defineCommand({
  path: ['members'],
  usage: 'members',
  summary: 'who acts for this user, with roles',
  access: 'viewer',
  args: z.object({}).strict(),
  async handler(ctx) {
    const members = await ctx.services.users.listMembers(memberOf(ctx).userId);
    return { text: `Members:\n${bullet(members.map((m) => `${m.displayName} (${m.platform}) — ${m.role}`))}` };
  },
});
