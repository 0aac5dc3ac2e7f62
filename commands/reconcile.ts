import { z } from 'zod';
import { defineCommand, memberOf } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { minorToDecimalString } from '../src/domain/money.js';
import { REQUEST_STATUSES } from '../src/domain/request-status.js';
import type { RequestDetail } from '../src/reconcile/requests.js';
import { accountRef, bullet } from './format.js';

/** Conciliation requests in chat: list, inspect, re-run matching, resolve an ambiguity, poll now. */

const externalIdArg = z.string({ error: 'the request (its external id) is required' }).min(1, 'the request (its external id) is required');
const statusArg = z.enum(REQUEST_STATUSES, { error: `status must be one of ${REQUEST_STATUSES.join(', ')}` });

function money(minor: number, currency: string): string {
  return `${minorToDecimalString(minor, currency)} ${currency}`;
}

function minute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function detailMessage(detail: RequestDetail): { text: string; fields: { label: string; value: string }[] } {
  const fields = [
    { label: 'Account', value: detail.accountName },
    { label: 'Status', value: `${detail.status} since ${minute(detail.statusChangedAt)}` },
    { label: 'Amount', value: money(detail.amountMinor, detail.currency) },
    { label: 'Expected payer', value: detail.name },
    { label: 'Registered', value: minute(detail.registeredAt) },
  ];
  // The matcher's evidence for the current status: the reason of the attempt that decided it.
  const deciding = [...detail.attempts].reverse().find((a) => a.result === detail.status);
  if (detail.match) {
    fields.push({
      label: 'Matched with',
      value: `${detail.match.transactionId.slice(0, 8)} — ${detail.match.senderName ?? '(no sender)'}, received ${minute(detail.match.receivedAt)}${detail.match.by === 'operator' ? ' (chosen by an operator)' : ''}`,
    });
    if (detail.match.by !== 'operator' && deciding) fields.push({ label: 'Evidence', value: deciding.reason });
  }
  const lines = [`Request ${detail.externalId}:`];
  if (detail.candidates.length > 0) {
    lines.push(`Candidates:\n${bullet(detail.candidates.map((c) => `${c.id.slice(0, 8)} — ${c.senderName ?? '(no sender)'}, ${money(c.amountMinor, c.currency)}, received ${minute(c.receivedAt)}${c.usedBy ? ' (since used by another request)' : ''}`))}`);
    if (detail.status === 'ambiguous') lines.push(`Choose one: ${COMMAND_ROOT} pending resolve "${detail.accountName}" ${detail.externalId} <transaction>`);
  }
  if (detail.attempts.length > 0) {
    const earlier = detail.attemptCount - detail.attempts.length;
    lines.push(`Attempts (${detail.attemptCount}${earlier > 0 ? `, the last ${detail.attempts.length} shown` : ''}):\n${bullet(detail.attempts.map((a) => `#${a.number} ${minute(a.at)} ${a.result}: ${a.reason}`))}`);
  } else {
    lines.push('No match attempt yet.');
  }
  return { text: lines.join('\n'), fields };
}

export const pendingListCommand = defineCommand({
  path: ['pending'],
  usage: 'pending [account] [status=<status>] [limit=<n>] [page=<n>]',
  summary: 'conciliation requests, newest first (all accounts, or one; filter by status)',
  access: 'viewer',
  positionals: ['account'],
  args: z
    .object({
      account: accountRef.optional(),
      status: statusArg.optional(),
      limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(100, 'limit is at most 100').default(20),
      page: z.coerce.number({ error: 'page must be a number' }).int().min(1).default(1),
    })
    .strict(),
  async handler(ctx, { account, status, limit, page }) {
    const { total, items } = await ctx.services.reconcile.requests.list(memberOf(ctx).userId, { ...(account ? { account } : {}), ...(status ? { status } : {}), limit, offset: (page - 1) * limit });
    const scope = `${account ? ` on "${account}"` : ''}${status ? ` with status ${status}` : ''}`;
    if (items.length === 0) return { text: total === 0 ? `No requests${scope}.` : `No more requests${scope} (${total} in all).` };
    const lines = items.map((r) => `${r.externalId} — ${r.status} — ${money(r.amountMinor, r.currency)} — ${r.name} — ${r.accountName}, registered ${minute(r.registeredAt)}`);
    const from = (page - 1) * limit + 1;
    const more = from + items.length - 1 < total ? `\nMore: ${COMMAND_ROOT} pending${account ? ` "${account}"` : ''}${status ? ` status=${status}` : ''} page=${page + 1}` : '';
    return { text: `Requests${scope} ${from}–${from + items.length - 1} of ${total}:\n${bullet(lines)}${more}\nDetails: ${COMMAND_ROOT} pending show <account> <request>` };
  },
});

export const pendingShowCommand = defineCommand({
  path: ['pending', 'show'],
  usage: 'pending show <account> <request>',
  summary: 'one request: status, match, candidates and every attempt with its reason',
  access: 'viewer',
  positionals: ['account', 'request'],
  args: z.object({ account: accountRef, request: externalIdArg }).strict(),
  async handler(ctx, { account, request }) {
    return detailMessage(await ctx.services.reconcile.requests.show(memberOf(ctx).userId, account, request));
  },
});

export const pendingRematchCommand = defineCommand({
  path: ['pending', 'rematch'],
  usage: 'pending rematch <account> <request>',
  summary: 'run matching for a request now (an expired or failed one is registered again)',
  access: 'operator',
  positionals: ['account', 'request'],
  args: z.object({ account: accountRef, request: externalIdArg }).strict(),
  async handler(ctx, { account, request }) {
    const result = await ctx.services.reconcile.requests.rematch(memberOf(ctx).userId, account, request);
    const detail = detailMessage(result.request);
    const again = result.reregistered ? ' (registered again: its 5 days start now)' : '';
    return { text: `Matched again${again}: now ${result.request.status}.\n${detail.text}`, fields: detail.fields };
  },
});

export const pendingResolveCommand = defineCommand({
  path: ['pending', 'resolve'],
  usage: 'pending resolve <account> <request> <transaction>',
  summary: 'settle an ambiguous request with the transaction you choose (its id as listed)',
  access: 'operator',
  positionals: ['account', 'request', 'transaction'],
  args: z.object({ account: accountRef, request: externalIdArg, transaction: z.string({ error: 'the transaction id is required' }).min(1) }).strict(),
  async handler(ctx, { account, request, transaction }) {
    const member = memberOf(ctx);
    const detail = await ctx.services.reconcile.requests.resolve(member.userId, account, request, transaction, member.displayName);
    return { text: `Resolved: ${detail.externalId} is matched with transaction ${detail.match?.transactionId.slice(0, 8) ?? '?'}.`, fields: detailMessage(detail).fields };
  },
});

export const accountPollCommand = defineCommand({
  path: ['account', 'poll'],
  usage: 'account poll <name>',
  summary: 'poll the pending-orders endpoint now (the result follows here)',
  access: 'operator',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const queued = await ctx.services.reconcile.poller.requestPoll(memberOf(ctx).userId, account, ctx.place.ref);
    return { text: `Polling the pending orders of "${queued.account}"; the result will follow here.` };
  },
});
