import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { UserError } from '../src/domain/errors.js';
import { DELIVERY_STATES } from '../src/webhooks/index.js';
import { accountRef, bullet } from './format.js';

/** Webhook deliveries in chat: list events, replay one, send a test, rotate the signing secret, resume after 410; bind a channel. */

function minute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const webhookEventsCommand = defineCommand({
  path: ['webhook', 'events'],
  usage: 'webhook events <account> [state=pending|delivered|failed|not_sent] [limit=<n>]',
  summary: 'recent events of an account and how their delivery went',
  access: 'viewer',
  positionals: ['account'],
  args: z
    .object({
      account: accountRef,
      state: z.enum(DELIVERY_STATES, { error: `state must be one of ${DELIVERY_STATES.join(', ')}` }).optional(),
      limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(50, 'limit is at most 50').default(15),
    })
    .strict(),
  async handler(ctx, { account, state, limit }) {
    const { account: name, items } = await ctx.services.webhooks.events(memberOf(ctx).userId, account, { ...(state ? { state } : {}), limit });
    if (items.length === 0) return { text: `No events${state ? ` ${state}` : ''} for "${name}" yet.` };
    const lines = items.map(
      (e) =>
        `${e.id} — ${e.type} ${e.subject} — ${e.state}${e.attempts ? `, ${e.attempts} attempt(s)` : ''}${e.lastStatus ? `, last ${e.lastStatus}` : ''}${e.lastError && e.state !== 'delivered' ? ` (${e.lastError})` : ''} — ${minute(e.occurredAt)}`,
    );
    return { text: `Events of "${name}", newest first:\n${bullet(lines)}\nSend one again: ${COMMAND_ROOT} webhook replay <event>` };
  },
});

export const webhookReplayCommand = defineCommand({
  path: ['webhook', 'replay'],
  usage: 'webhook replay <event>',
  summary: 'send an event again, with the same id (receivers de-duplicate on it)',
  access: 'operator',
  positionals: ['event'],
  args: z.object({ event: z.string({ error: 'the event id is required (see webhook events)' }).min(1) }).strict(),
  async handler(ctx, { event }) {
    const replayed = await ctx.services.webhooks.replay(memberOf(ctx).userId, event);
    return { text: `${replayed.id} (${replayed.type} ${replayed.subject}) is queued for delivery again, same id.` };
  },
});

export const webhookTestCommand = defineCommand({
  path: ['webhook', 'test'],
  usage: 'webhook test <account>',
  summary: "send a signed test event to the account's webhook_url and show the answer's status and latency",
  access: 'operator',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const result = await ctx.services.webhooks.test(memberOf(ctx).userId, account);
    const answer = result.status !== null ? `answered ${result.status} in ${result.latencyMs} ms` : `did not answer: ${result.error}`;
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    // Status and latency only: the receiver's body could echo our token back.
    return { text: `Test event to ${result.url} for "${result.account}": ${answer}.${ok ? ' Deliveries will work.' : ' Real deliveries would be retried.'}` };
  },
});

export const webhookSecretCommand = defineCommand({
  path: ['webhook', 'secret'],
  usage: 'webhook secret <account>',
  summary: 'a new signing secret (shown once, in private); the old one keeps signing for a grace period',
  access: 'admin',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    if (!ctx.place.private) throw new UserError('The signing secret is shown only in a private chat with the bot; run this there.');
    const rotated = await ctx.services.webhooks.rotateSecret(memberOf(ctx).userId, account);
    const grace = rotated.previousRetireAt ? ` The previous secret keeps signing until ${minute(rotated.previousRetireAt)}; switch your receiver before then.` : '';
    return { text: `New signing secret for "${rotated.account}" (shown once; verify webhook-signature with it, Standard Webhooks):\n${rotated.secret}${grace}` };
  },
});

export const webhookResumeCommand = defineCommand({
  path: ['webhook', 'resume'],
  usage: 'webhook resume <account>',
  summary: 'resume deliveries stopped by a 410 Gone (after fixing the receiver)',
  access: 'admin',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const result = await ctx.services.webhooks.resume(memberOf(ctx).userId, account);
    return { text: result.wasStopped ? `Deliveries for "${result.account}" resume now, starting with the event that got the 410.` : `Deliveries for "${result.account}" were not stopped.` };
  },
});

export const notifyHereCommand = defineCommand({
  path: ['notify', 'here'],
  usage: 'notify here',
  summary: 'send results and alerts to this channel too (matched, ambiguous, expired, failures)',
  access: 'admin',
  args: z.object({}).strict(),
  async handler(ctx) {
    const added = await ctx.services.users.bindChannel(memberOf(ctx).userId, ctx.place.ref);
    return { text: added ? 'Results and alerts will be posted here too. Stop with: notify off' : 'This place already receives results and alerts.' };
  },
});

export const notifyOffCommand = defineCommand({
  path: ['notify', 'off'],
  usage: 'notify off',
  summary: 'stop posting results and alerts here',
  access: 'admin',
  args: z.object({}).strict(),
  async handler(ctx) {
    const removed = await ctx.services.users.unbindChannel(memberOf(ctx).userId, ctx.place.ref);
    return { text: removed ? 'Results and alerts will no longer be posted here.' : 'This place was not receiving results and alerts.' };
  },
});
