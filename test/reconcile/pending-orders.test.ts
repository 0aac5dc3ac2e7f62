import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { isPrivateAddress } from '../../src/webhooks/url-safety.js';
import type { ServerResponse } from 'node:http';
import { expect } from 'chai';
import { authorizationHeader, parsePendingOrders, pollPendingOrders, type PollSettings } from '../../src/reconcile/pending-orders.js';
import { startEndpoint } from '../helpers/http-endpoint.js';

const limits = { timeoutMs: 2_000, maxBytes: 64 * 1024, allowPrivate: true };

function json(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('pending orders: parsing (pure)', () => {
  it('reads a bare array and the wrapped form alike, in minor units', () => {
    const orders = [
      { external_id: 'ORDER-1', amount: 1500.0, currency: 'UYU', name: 'Juan Perez' },
      { external_id: 42, amount: '99.9', currency: 'usd', name: ' Ana ' },
    ];
    const expected = [
      { externalId: 'ORDER-1', externalIdType: 'string', amountMinor: 150000, currency: 'UYU', name: 'Juan Perez' },
      { externalId: '42', externalIdType: 'number', amountMinor: 9990, currency: 'USD', name: 'Ana' },
    ];
    expect(parsePendingOrders(orders)).to.deep.equal({ ok: true, orders: expected, skipped: [] });
    expect(parsePendingOrders({ data: orders })).to.deep.equal({ ok: true, orders: expected, skipped: [] });
  });

  it('skips and reports items it cannot read exactly; processes the rest', () => {
    const result = parsePendingOrders([
      { external_id: 'A', amount: 10, currency: 'UYU', name: 'ok' },
      { amount: 10, currency: 'UYU', name: 'no id' },
      { external_id: 'B', currency: 'UYU', name: 'no amount' },
      { external_id: 'C', amount: 10.005, currency: 'UYU', name: 'three decimals' },
      { external_id: 'D', amount: 10, currency: 'pesos', name: 'bad currency' },
      { external_id: 'E', amount: -5, currency: 'UYU', name: 'negative' },
      { external_id: 'A', amount: 11, currency: 'UYU', name: 'duplicate id' },
      'not an object',
    ]);
    expect(result.ok && result.orders.map((o) => o.externalId)).to.deep.equal(['A']);
    expect(result.ok && result.skipped.map((s) => [s.index, s.externalId])).to.deep.equal([
      [1, null],
      [2, 'B'],
      [3, 'C'],
      [4, 'D'],
      [5, 'E'],
      [6, 'A'],
      [7, null],
    ]);
    expect(result.ok && result.skipped[0]?.reason).to.equal('external_id is missing');
    expect(result.ok && result.skipped[2]?.reason).to.match(/not a positive amount in UYU/);
  });

  it('refuses a response of another shape', () => {
    expect(parsePendingOrders({ orders: [] })).to.deep.equal({ ok: false, error: 'the response is neither a JSON array of orders nor {"data": [...]}' });
  });

  it('builds the Authorization header per scheme, none without a token', () => {
    expect(authorizationHeader('bearer', 't')).to.equal('Bearer t');
    expect(authorizationHeader('api_key', 't')).to.equal('Api-Key t');
    expect(authorizationHeader(null, 't')).to.equal('Bearer t');
    expect(authorizationHeader('api_key', null)).to.equal(undefined);
  });
});

describe('pending orders: the call (real local HTTP endpoints)', () => {
  const base: Omit<PollSettings, 'url'> = { method: 'GET', body: null, authType: 'bearer', authToken: 'tok-123' };

  it('GETs with Accept and Bearer auth', async () => {
    const endpoint = await startEndpoint((_req, res) => json(res, 200, [{ external_id: 1, amount: 5, currency: 'UYU', name: 'x' }]));
    try {
      const result = await pollPendingOrders({ ...base, url: `${endpoint.url}/pending` }, limits);
      expect(result.ok && result.orders).to.have.length(1);
      expect(endpoint.requests[0]).to.deep.include({ method: 'GET', url: '/pending', body: '' });
      expect(endpoint.requests[0]?.headers).to.deep.include({ accept: 'application/json', authorization: 'Bearer tok-123' });
    } finally {
      await endpoint.close();
    }
  });

  it('POSTs the configured body as JSON with Api-Key auth', async () => {
    const endpoint = await startEndpoint((_req, res) => json(res, 200, { data: [] }));
    try {
      const result = await pollPendingOrders({ ...base, url: endpoint.url, method: 'POST', body: { account: 'main-uyu' }, authType: 'api_key' }, limits);
      expect(result).to.deep.equal({ ok: true, orders: [], skipped: [] });
      expect(endpoint.requests[0]).to.deep.include({ method: 'POST', body: '{"account":"main-uyu"}' });
      expect(endpoint.requests[0]?.headers).to.deep.include({ 'content-type': 'application/json', authorization: 'Api-Key tok-123' });
    } finally {
      await endpoint.close();
    }
  });

  const failures: [string, (res: ServerResponse) => void, RegExp][] = [
    ['401', (res) => json(res, 401, { error: 'no' }), /^the endpoint answered 401 Unauthorized$/],
    ['404', (res) => json(res, 404, { error: 'no' }), /^the endpoint answered 404 Not Found$/],
    ['500', (res) => json(res, 500, 'boom', 'text/plain'), /^the endpoint answered 500 Internal Server Error$/],
    ['HTML', (res) => json(res, 200, '<html></html>', 'text/html'), /^the endpoint answered text\/html, not JSON$/],
    ['broken JSON', (res) => json(res, 200, '[{"external_id":'), /^the response is not valid JSON$/],
    ['too large', (res) => json(res, 200, JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ external_id: i, amount: 1, currency: 'UYU', name: 'x'.repeat(20) })))), /^the response is larger than 64 KiB$/],
    ['a redirect', (res) => { res.writeHead(302, { location: 'http://169.254.169.254/' }); res.end(); }, /redirect/],
  ];
  for (const [what, respond, error] of failures) {
    it(`a ${what} answer is a failed poll with a plain sentence`, async () => {
      const endpoint = await startEndpoint((_req, res) => respond(res));
      try {
        const result = await pollPendingOrders({ ...base, url: endpoint.url }, limits);
        expect(result.ok).to.equal(false);
        if (!result.ok) expect(result.error).to.match(error);
      } finally {
        await endpoint.close();
      }
    });
  }

  it('a slow endpoint times out', async () => {
    const endpoint = await startEndpoint(() => undefined); // never answers
    try {
      const result = await pollPendingOrders({ ...base, url: endpoint.url }, { ...limits, timeoutMs: 300 });
      expect(result).to.deep.equal({ ok: false, error: 'the endpoint did not answer within 300 ms' });
    } finally {
      await endpoint.close();
    }
  });

  it('a refused connection is a failed poll', async () => {
    const endpoint = await startEndpoint(() => undefined);
    await endpoint.close();
    const result = await pollPendingOrders({ ...base, url: endpoint.url }, limits);
    expect(result).to.deep.equal({ ok: false, error: 'could not connect to the endpoint (connection refused)' });
  });

  it('refuses private addresses unless allowed: a literal one before calling, a name by what it resolves to', async () => {
    const endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
    try {
      expect(await pollPendingOrders({ ...base, url: endpoint.url }, { ...limits, allowPrivate: false })).to.deep.include({ ok: false });
      // This machine's own name resolves to a loopback address (/etc/hosts): a name, not a literal.
      const name = hostname();
      const { address } = await lookup(name);
      expect(isPrivateAddress(address), `${name} → ${address}`).to.equal(true);
      const byName = await pollPendingOrders({ ...base, url: endpoint.url.replace('127.0.0.1', name) }, { ...limits, allowPrivate: false });
      expect(byName).to.deep.equal({ ok: false, error: `${name} resolves to a private or local address (${address}); refused (ALLOW_PRIVATE_URLS=true allows it for local use)` });
      expect(endpoint.requests, 'nothing reached the endpoint').to.have.length(0);
      expect(await pollPendingOrders({ ...base, url: endpoint.url }, limits)).to.deep.include({ ok: true });
    } finally {
      await endpoint.close();
    }
  });
});
