import { z } from 'zod';
import { API_KEY_SCOPES } from '../src/access/api-keys.js';
import { PASSWORD_MIN } from '../src/access/passwords.js';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { UserError } from '../src/domain/errors.js';
import { bullet } from './format.js';

/**
 * The HTTP API from chat: a login for the person who asks (the same member, same role), joining
 * an API login to this chat identity, and External API keys. Passwords, one-time passwords and
 * keys are shown or taken in private only.
 */

const privateOnly = (what: string, command: string) => new UserError(`${what} only in a private chat with me; run ${COMMAND_ROOT} ${command} there.`);

export const apiLoginCommand = defineCommand({
  path: ['api', 'login'],
  usage: 'api login [email]',
  summary: 'a login to the HTTP API for you (same role): set a password in private, or get a one-time password (15 minutes)',
  access: 'viewer',
  positionals: ['email'],
  args: z.object({ email: z.string().min(3).max(254).optional() }).strict(),
  async handler(ctx, { email }) {
    if (!ctx.place.private) throw privateOnly('API logins are handled', 'api login');
    const member = memberOf(ctx);
    const { logins } = ctx.services.access;
    const login = await logins.forMember(member, email);
    const form = await ctx.askPrivately({
      title: 'HTTP API password',
      intro: `A password for ${login.email} (at least ${PASSWORD_MIN} characters). Leave it empty for a one-time password instead.`,
      fields: [{ name: 'password', label: 'New API password', secret: true }],
    });
    const password = form.status === 'submitted' ? (form.values.password ?? '').trim() : '';
    if (password !== '') {
      await logins.setPassword(login.id, password);
      return { text: `Your API login is ${login.email}. Log in with POST /auth/login {"email": "${login.email}", "password": …}; tokens issued before no longer work.` };
    }
    const once = await logins.oneTimePassword(login.id);
    return {
      text: `One-time password for ${login.email} (works once, until ${once.expiresAt.toISOString()}):\n${once.password}\nUse it as the password of POST /auth/login, then set your own with PUT /me/password.`,
    };
  },
});

export const apiLinkCommand = defineCommand({
  path: ['api', 'link'],
  usage: 'api link <code>',
  summary: 'join your HTTP API login to this chat identity (the code from POST /me/link-code)',
  access: 'anyone',
  positionals: ['code'],
  args: z.object({ code: z.string({ error: 'the link code is required (POST /me/link-code gives one)' }).min(4).max(40) }).strict(),
  async handler(ctx, { code }) {
    if (!ctx.place.private) throw privateOnly('Link codes are taken', 'api link <code>');
    const joined = await ctx.services.access.logins.redeemLinkCode(ctx.actor, code);
    const tenant = await ctx.services.users.getTenant(joined.member.userId);
    return { text: `Joined: the API login ${joined.email} and this chat identity are one person now, ${joined.member.role} of "${tenant.name}". Log in to the API again (older tokens no longer work).` };
  },
});

const scopesArg = z
  .string({ error: `scopes are required: scopes=${API_KEY_SCOPES.join(',')}` })
  .transform((text) => text.split(',').map((s) => s.trim()).filter(Boolean));

export const apiKeyCreateCommand = defineCommand({
  path: ['apikey', 'create'],
  usage: `apikey create <name> scopes=${API_KEY_SCOPES.join(',')} [accounts=<account>,<account>]`,
  summary: 'an External API key (shown once, in private); without accounts= it works on every account',
  access: 'admin',
  positionals: ['name'],
  variadic: true,
  args: z.object({ name: z.array(z.string()).min(1, 'give the key a name'), scopes: scopesArg, accounts: z.string().optional() }).strict(),
  async handler(ctx, { name, scopes, accounts }) {
    if (!ctx.place.private) throw privateOnly('API keys are shown', 'apikey create');
    const member = memberOf(ctx);
    let accountIds: string[] | null = null;
    if (accounts !== undefined) {
      const refs = accounts.split(',').map((a) => a.trim()).filter(Boolean);
      accountIds = [];
      for (const ref of refs) accountIds.push((await ctx.services.accounts.show(member.userId, ref)).id);
    }
    const { key, record } = await ctx.services.access.apiKeys.create({ userId: member.userId, memberId: member.id }, { name: name.join(' '), scopes, accountIds });
    return {
      text: `API key "${record.name}" (${record.scopes.join(', ')}; ${record.accountIds ? `${record.accountIds.length} account(s)` : 'every account'}), shown this once:\n${key}\nSend it as x-api-key (or Authorization: Api-Key …) to /v1. Revoke with ${COMMAND_ROOT} apikey revoke ${record.prefix}`,
    };
  },
});

export const apiKeyListCommand = defineCommand({
  path: ['apikey', 'list'],
  usage: 'apikey list',
  summary: 'the External API keys of this company (never their secrets)',
  access: 'admin',
  args: z.object({}).strict(),
  async handler(ctx) {
    const keys = await ctx.services.access.apiKeys.list(memberOf(ctx).userId);
    if (keys.length === 0) return { text: `No API keys. Create one in private: ${COMMAND_ROOT} apikey create <name> scopes=${API_KEY_SCOPES.join(',')}` };
    const lines = keys.map(
      (k) =>
        `${k.name} — rbk_${k.prefix}_… — ${k.scopes.join(', ')} — ${k.accountIds ? `${k.accountIds.length} account(s)` : 'every account'} — ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : k.lastUsedAt ? `last used ${k.lastUsedAt.toISOString()}` : 'never used'}`,
    );
    return { text: `API keys:\n${bullet(lines)}` };
  },
});

export const apiKeyRevokeCommand = defineCommand({
  path: ['apikey', 'revoke'],
  usage: 'apikey revoke <prefix>',
  summary: 'revoke an External API key at once (by its prefix, as apikey list shows it)',
  access: 'admin',
  positionals: ['key'],
  args: z.object({ key: z.string({ error: 'name the key by its prefix (apikey list)' }).min(4).max(200) }).strict(),
  async handler(ctx, { key }) {
    const revoked = await ctx.services.access.apiKeys.revoke(memberOf(ctx).userId, key);
    return { text: `API key "${revoked.name}" (rbk_${revoked.prefix}_…) is revoked; calls with it now get 401.` };
  },
});
