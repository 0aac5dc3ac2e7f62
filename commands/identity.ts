import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { UserError } from '../src/domain/errors.js';
import { ROLES } from '../src/domain/roles.js';
import { SetupNotAllowedError } from '../src/users/user-service.js';
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
    const member = await ctx.services.users.createTenant(ctx.actor, name.join(' ')).catch((error: unknown) => {
      if (error instanceof SetupNotAllowedError) throw new UserError(`${error.message} With a code, run: ${COMMAND_ROOT} link <code>`);
      throw error;
    });
    return {
      text: `Created "${name.join(' ')}" with you as ${member.role}. Next: choose an operation mode (${COMMAND_ROOT} mode reconcile|passthrough) and add an account (${COMMAND_ROOT} account add <name> <bank>).`,
    };
  },
});

export const inviteCommand = defineCommand({
  path: ['invite'],
  usage: `invite [${ROLES.join('|')}]`,
  summary: 'create a one-time code that links another person with a role (default operator); in private only',
  access: 'admin',
  positionals: ['role'],
  args: z.object({ role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }).default('operator') }).strict(),
  async handler(ctx, { role }) {
    // Whoever reads the code can join with its role: a channel is no place for it (nothing is made).
    if (!ctx.place.private) throw new UserError(`Invite codes are shown only in a private chat with me; run ${COMMAND_ROOT} invite ${role} there.`);
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
    return {
      text: `Members:\n${bullet(members.map((m) => `${m.displayName} (${m.platform}) — ${m.role} [${m.id.slice(0, 8)}]`))}\nChange with: ${COMMAND_ROOT} members role <member> <role>, ${COMMAND_ROOT} members remove <member> (a name or the [id]).`,
    };
  },
});

const memberRef = z.string({ error: 'name the member (as members lists them, or by the [id])' }).min(1, 'name the member');
const invitesNote = (count: number, pending: string) => (count === 0 ? '' : `; ${count} ${pending}invite${count === 1 ? '' : 's'} they made ${count === 1 ? 'was' : 'were'} revoked`);

export const membersRemoveCommand = defineCommand({
  path: ['members', 'remove'],
  usage: 'members remove <member>',
  summary: 'unlink a person: they can no longer act, their open invites are revoked, no more DMs to them',
  access: 'admin',
  positionals: ['member'],
  args: z.object({ member: memberRef }).strict(),
  async handler(ctx, { member }) {
    const { removed, invitesRevoked } = await ctx.services.users.removeMember(memberOf(ctx), member);
    return { text: `Removed ${removed.displayName} (${removed.platform}, ${removed.role}): they can no longer act for this user and get no more messages from me${invitesNote(invitesRevoked, '')}.` };
  },
});

export const membersRoleCommand = defineCommand({
  path: ['members', 'role'],
  usage: `members role <member> <${ROLES.join('|')}>`,
  summary: "change a person's role (at once); invites they made above the new role are revoked",
  access: 'admin',
  positionals: ['member', 'role'],
  args: z.object({ member: memberRef, role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }) }).strict(),
  async handler(ctx, { member, role }) {
    const changed = await ctx.services.users.changeRole(memberOf(ctx), member, role);
    if (changed.previous === role) return { text: `${changed.member.displayName} is already ${role}; nothing changed.` };
    return { text: `${changed.member.displayName} is now ${role} (was ${changed.previous})${invitesNote(changed.invitesRevoked, 'pending ')}.` };
  },
});
