import { lookup } from 'node:dns/promises';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { OutboxEventDoc } from '../../src/store/models.js';
import { notificationAuthorization, webhookAuthorization } from '../../src/webhooks/auth.js';
import { retryDelay, safeTarget } from '../../src/webhooks/dispatcher.js';
import { loadConfig } from '../../src/config.js';
import { ambiguousEvent, expiredEvent, matchedEvent } from '../../src/reconcile/result-events.js';
import { eventPayload } from '../../src/webhooks/payloads.js';
import { generateSigningSecret, signatureHeader, verifySignature } from '../../src/webhooks/signing.js';
import { guardedLookup, isPrivateAddress, literalUrlProblem } from '../../src/webhooks/url-safety.js';

const at = new Date('2026-11-20T15:30:00.000Z');
const event = (type: OutboxEventDoc['type'], data: Record<string, unknown>) => ({ type, data, accountId: 'acc-1', occurredAt: at });

describe('webhook payloads, auth, signing and URL safety (pure)', () => {
  it('reconcile results: exactly the documented fields, amount a JSON number with the currency decimals', () => {
    const order = { request_id: 'r', external_id: 'A-1', amount_minor: 150050, currency: 'UYU', name: 'Juan Pérez' };
    expect(eventPayload(event('conciliation.matched', { ...order, status: 'matched', match: { transaction_id: 't' } }), null)).to.deep.equal({
      external_id: 'A-1',
      status: 'matched',
      amount: 1500.5,
      currency: 'UYU',
      name: 'Juan Pérez',
    });
    expect(JSON.stringify(eventPayload(event('conciliation.ambiguous', { ...order, status: 'ambiguous', amount_minor: 150000 }), null))).to.equal(
      '{"external_id":"A-1","status":"ambiguous","amount":1500,"currency":"UYU","name":"Juan Pérez"}',
    );
    expect(eventPayload(event('conciliation.expired', { ...order, status: 'expired', currency: 'JPY', amount_minor: 1500 }), null)).to.include({ amount: 1500, status: 'expired' });
  });

  it('passthrough: {id, amount, currency, name, received_at} with the bank date in ISO 8601 UTC', () => {
    const payload = eventPayload(event('bank.movement', { id: 'tx-uuid', amount_minor: 99, currency: 'USD', name: 'Ana', received_at: '2026-05-13T15:30:00.000Z', description: 'x' }), null);
    expect(payload).to.deep.equal({ id: 'tx-uuid', amount: 0.99, currency: 'USD', name: 'Ana', received_at: '2026-05-13T15:30:00.000Z' });
  });

  it('extra fields are merged, and never replace a reserved key', () => {
    const payload = eventPayload(event('conciliation.matched', { external_id: 'A', status: 'matched', amount_minor: 100, currency: 'UYU', name: 'N' }), { tenant: 'acme', status: 'hacked', id: 'x' });
    expect(payload).to.deep.equal({ tenant: 'acme', external_id: 'A', status: 'matched', amount: 1, currency: 'UYU', name: 'N' });
  });

  it('notifications: {account_id, type, status, error?, occurred_at}', () => {
    expect(eventPayload(event('notification.login_failed', { error: 'The bank rejected the username or password.' }), { tenant: 'ignored' })).to.deep.equal({
      account_id: 'acc-1',
      type: 'login_failed',
      status: 'login.failed',
      error: 'The bank rejected the username or password.',
      occurred_at: '2026-11-20T15:30:00.000Z',
    });
    expect(eventPayload(event('notification.assistance_required', {}), null)).to.deep.equal({ account_id: 'acc-1', type: 'assistance_required', status: 'assistance.requested', occurred_at: '2026-11-20T15:30:00.000Z' });
  });

  it('authorization: webhook token and type fall back to the polling ones; the notification endpoint has no fallback', () => {
    expect(webhookAuthorization({ webhook_auth_type: null, auth_type: 'api_key' }, { webhook: null, polling: 'p' })).to.equal('Api-Key p');
    expect(webhookAuthorization({ webhook_auth_type: 'bearer', auth_type: 'api_key' }, { webhook: 'w', polling: 'p' })).to.equal('Bearer w');
    expect(webhookAuthorization({ webhook_auth_type: null, auth_type: 'bearer' }, { webhook: null, polling: null })).to.equal(undefined);
    expect(notificationAuthorization({ notification_auth_type: 'api_key' }, 'n')).to.equal('Api-Key n');
    expect(notificationAuthorization({ notification_auth_type: null }, null)).to.equal(undefined);
  });

  it('signatures verify with the standardwebhooks package; a wrong secret fails; during rotation either secret verifies', () => {
    const secret = generateSigningSecret();
    const other = generateSigningSecret();
    const body = '{"external_id":"A-1","status":"matched"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader([secret], 'evt_1', timestamp, body) };
    expect(new Webhook(secret).verify(body, headers)).to.deep.equal(JSON.parse(body));
    expect(() => new Webhook(other).verify(body, headers)).to.throw(/signature/i);
    expect(() => new Webhook(secret).verify(body.replace('A-1', 'A-2'), headers)).to.throw(/signature/i);
    const both = { ...headers, 'webhook-signature': signatureHeader([other, secret], 'evt_1', timestamp, body) };
    expect(new Webhook(secret).verify(body, both)).to.deep.equal(JSON.parse(body));
    expect(new Webhook(other).verify(body, both)).to.deep.equal(JSON.parse(body));
    expect(verifySignature(secret, 'evt_1', timestamp, body, both['webhook-signature'])).to.equal(true);
    expect(verifySignature(secret, 'evt_2', timestamp, body, both['webhook-signature'])).to.equal(false);
  });

  it('retries back off on the schedule with up to +20 % jitter (never shorter), then stop', () => {
    const schedule = [10_000, 60_000];
    expect(retryDelay(schedule, 1, () => 0)).to.equal(10_000);
    expect(retryDelay(schedule, 1, () => 0.999999)).to.be.closeTo(12_000, 1);
    expect(retryDelay(schedule, 2, () => 0.5)).to.equal(66_000);
    expect(retryDelay(schedule, 3)).to.equal(undefined);
    expect(safeTarget('https://user:pw@hooks.example.com:8443/in?token=secret')).to.equal('https://hooks.example.com:8443/in');
  });

  it('with the default schedule, retries last at least 24 hours whatever the jitter draws (SPEC §5)', () => {
    const schedule = loadConfig({}).webhooks.retryScheduleMs;
    for (const draw of [() => 0, () => 0.5, () => 0.999999, Math.random]) {
      let total = 0;
      for (let attempt = 1; ; attempt++) {
        const delay = retryDelay(schedule, attempt, draw);
        if (delay === undefined) break;
        total += delay;
      }
      expect(total / 3_600_000, 'hours from the first attempt to the last').to.be.at.least(24);
    }
  });

  it('a numeric external_id travels as a number, a string one as a string: the order as polled', () => {
    const request = { _id: 'r-1', accountId: 'acc-1', userId: 'u-1', amountMinor: 150000, currency: 'UYU', name: 'Ana' };
    const match = { transactionId: 't-1', amountMinor: 150000, currency: 'UYU', senderName: 'ANA', receivedAt: at, score: 1, by: 'matcher' as const, at };
    const numeric = matchedEvent({ ...request, externalId: '108', externalIdType: 'number' }, 1, match, at);
    expect(JSON.stringify(eventPayload(event('conciliation.matched', numeric.data), null))).to.equal('{"external_id":108,"status":"matched","amount":1500,"currency":"UYU","name":"Ana"}');
    const text = expiredEvent({ ...request, externalId: '108', externalIdType: 'string', registeredAt: at }, true, at);
    expect(eventPayload(event('conciliation.expired', text.data), null)).to.include({ external_id: '108' });
    // Requests stored before the type was kept are strings, as they were.
    const legacy = ambiguousEvent({ ...request, externalId: 'A-1' }, 1, [], 0, at);
    expect(eventPayload(event('conciliation.ambiguous', legacy.data), null)).to.include({ external_id: 'A-1' });
  });

  it('private, loopback, link-local and metadata addresses are refused unless allowed', async () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1']) {
      expect(isPrivateAddress(address), address).to.equal(true);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPrivateAddress(address), address).to.equal(false);
    expect(literalUrlProblem('http://169.254.169.254/latest/meta-data', false)).to.match(/private or local address \(169\.254\.169\.254\)/);
    expect(literalUrlProblem('http://localhost:8080/hook', false)).to.match(/private or local/);
    expect(literalUrlProblem('http://[::1]/hook', false)).to.match(/private or local/);
    expect(literalUrlProblem('https://hooks.example.com/in', false)).to.equal(undefined);
    expect(literalUrlProblem('http://127.0.0.1/hook', true)).to.equal(undefined);
    // A name that resolves to a private address is refused when connecting (here: localhost's own answer).
    expect((await lookup('localhost')).address).to.match(/^(127\.|::1)/);
    const error = await new Promise<Error | null>((resolve) => guardedLookup(false)('localhost', {}, (err) => resolve(err)));
    expect(error?.message).to.match(/localhost resolves to a private or local address/);
    const allowed = await new Promise<Error | null>((resolve) => guardedLookup(true)('localhost', {}, (err) => resolve(err)));
    expect(allowed).to.equal(null);
  });
});
