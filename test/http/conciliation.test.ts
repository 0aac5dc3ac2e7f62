import { expect } from 'chai';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { useApiFixture } from '../helpers/http-api.js';

type Item = { id: string; external_id: string; status: string; amount: string; currency: string; sender_name: string; created_at: string; account_id: string; bank: string; account_name: string };
type Detail = Item & { attempts: { attempt_number: number; result: string; reason: string; request_id: string }[]; match: { bank_transaction_id: string; amount: string; sender_name: string | null; by: string; is_primary: boolean } | null; candidates: { id: string }[] };

/** /conciliation through real HTTP, with requests polled from a real endpoint and matched by the real settlement (docs: Conciliation). */
describe('HTTP API: conciliation', function () {
  this.timeout(60_000);
  const f = useApiFixture('httpconc');
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let orders: Record<string, unknown>[] = [];
  let accountId = '';
  let otherAccount = '';
  const byExternal = new Map<string, Item>();
  const tx: Record<string, string> = {};

  before(async () => {
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
    await f.c.put('/me/operation-mode', { token: f.a.token, body: { mode: 'reconcile' } });
    accountId = ((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Shop UYU' } })).body as { id: string }).id;
    otherAccount = ((await f.c.post('/accounts', { token: f.b.token, body: { bankId: 'sandbox', name: 'Other' } })).body as { id: string }).id;
    await f.c.put(`/accounts/${accountId}/config`, { token: f.a.token, body: { pending_orders_endpoint: `${endpoint.url}/orders`, webhook_url: 'https://erp.example.com/hook' } });
    const day = Date.now() - 86_400_000;
    const stored = await f.services.sessions.transactions.ingest(
      accountId,
      'run-conc',
      [
        { receivedAt: new Date(day), amountMinor: 150000, currency: 'UYU', senderName: 'Juan Pérez', description: 'Transferencia', bankReference: null },
        { receivedAt: new Date(day + 60_000), amountMinor: 82050, currency: 'UYU', senderName: 'María Gómez', description: 'Transferencia', bankReference: null },
        { receivedAt: new Date(day + 120_000), amountMinor: 82050, currency: 'UYU', senderName: 'Maria Gomez', description: 'Pago', bankReference: null },
      ],
      false,
    );
    for (const t of stored) tx[`${t.amountMinor}:${t.description}`] = t.id;
    await f.services.sessions.transactions.markHandled(stored.map((t) => t.id));
    orders = [
      { external_id: 'O-1', amount: 1500, currency: 'UYU', name: 'Juan Perez' },
      { external_id: 'O-2', amount: '820.50', currency: 'UYU', name: 'Maria Gomez' },
      { external_id: 'O-3', amount: 99.99, currency: 'UYU', name: 'Nadie' },
    ];
    await f.services.reconcile.poller.pollAccount(accountId);
    const list = (await f.c.get('/conciliation', { token: f.a.token })).body as Item[];
    for (const item of list) byExternal.set(item.external_id, item);
  });

  after(async () => endpoint?.close());

  it('GET /conciliation: every account of the caller, newest first, amounts as decimal strings; status, limit, offset; X-Total-Count', async () => {
    const r = await f.c.get('/conciliation', { token: f.a.token });
    expect(r.status).to.equal(200);
    const items = r.body as Item[];
    expect(items.map((i) => i.external_id).sort()).to.deep.equal(['O-1', 'O-2', 'O-3']);
    expect(r.headers.get('x-total-count')).to.equal('3');
    const times = items.map((i) => Date.parse(i.created_at));
    expect(times).to.deep.equal([...times].sort((a, b) => b - a));
    expect(byExternal.get('O-1')).to.deep.include({ status: 'matched', amount: '1500.00', currency: 'UYU', sender_name: 'Juan Perez', bank: 'sandbox', account_name: 'Shop UYU', account_id: accountId });
    expect(byExternal.get('O-2')).to.deep.include({ status: 'ambiguous', amount: '820.50' });
    expect(byExternal.get('O-3')).to.deep.include({ status: 'not_found', amount: '99.99' });
    expect(((await f.c.get('/conciliation?status=matched', { token: f.a.token })).body as Item[]).map((i) => i.external_id)).to.deep.equal(['O-1']);
    const page = await f.c.get('/conciliation?limit=1&offset=1', { token: f.a.token });
    expect((page.body as Item[]).map((i) => i.external_id)).to.deep.equal([items[1]?.external_id]);
    for (const query of ['status=paid', 'limit=501', 'limit=0', 'offset=-3']) {
      const bad = await f.c.get(`/conciliation?${query}`, { token: f.a.token });
      expect(bad.status, query).to.equal(400);
      expect(bad.body).to.have.key('error');
    }
    expect((await f.c.get('/conciliation', { token: f.b.token })).body, 'the other company sees none').to.deep.equal([]);
  });

  it('GET /conciliation/:id: attempts[] and match (null when not matched); 404 "Not found"', async () => {
    const matched = (await f.c.get(`/conciliation/${byExternal.get('O-1')?.id}`, { token: f.a.token })).body as Detail;
    expect(matched.attempts.map((a) => [a.attempt_number, a.result])).to.deep.equal([[1, 'matched']]);
    expect(matched.attempts[0]?.request_id).to.equal(matched.id);
    expect(matched.match).to.deep.include({ bank_transaction_id: tx['150000:Transferencia'], amount: '1500.00', sender_name: 'Juan Pérez', is_primary: true, by: 'matcher' });
    const ambiguous = (await f.c.get(`/conciliation/${byExternal.get('O-2')?.id}`, { token: f.a.token })).body as Detail;
    expect(ambiguous.match).to.equal(null);
    expect(ambiguous.candidates.map((c) => c.id).sort()).to.deep.equal([tx['82050:Transferencia'], tx['82050:Pago']].sort());
    for (const id of ['00000000-0000-4000-8000-000000000000', 'O-1', 'nope']) {
      const r = await f.c.get(`/conciliation/${id}`, { token: f.a.token });
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ error: 'Not found' });
    }
  });

  it("another company's request ids are 404 on every route, and nothing changes", async () => {
    const id = byExternal.get('O-2')?.id as string;
    const before = await f.test.db.models.ConciliationRequest.findById(id).lean();
    for (const [method, suffix, body] of [
      ['GET', ''],
      ['POST', '/run'],
      ['POST', '/notify'],
      ['POST', '/resolve', { bank_transaction_id: tx['82050:Pago'] }],
    ] as [string, string, unknown?][]) {
      const r = await f.c.call(method, `/conciliation/${id}${suffix}`, { token: f.b.token, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${suffix}`).to.equal(404);
      expect(r.body).to.deep.equal({ error: 'Not found' });
    }
    const poll = await f.c.post(`/conciliation/poll/${accountId}`, { token: f.b.token });
    expect(poll.status).to.equal(404);
    expect(poll.body).to.deep.equal({ error: 'Account not found' });
    expect(await f.test.db.models.ConciliationRequest.findById(id).lean()).to.deep.equal(before);
    expect(f.polls).to.deep.equal([]);
  });

  it('POST /conciliation/:id/resolve settles an ambiguous request with the chosen transaction; a second time → 400', async () => {
    const id = byExternal.get('O-2')?.id as string;
    const missing = await f.c.post(`/conciliation/${id}/resolve`, { token: f.a.token, body: {} });
    expect(missing.status).to.equal(400);
    expect(missing.body).to.deep.equal({ error: 'bank_transaction_id is required' });
    expect((await f.c.post(`/conciliation/${id}/resolve`, { token: f.a.token, body: { bank_transaction_id: tx['150000:Transferencia'] } })).status, 'a used transaction').to.equal(400);
    const r = await f.c.post(`/conciliation/${id}/resolve`, { token: f.a.token, body: { bank_transaction_id: tx['82050:Pago'] } });
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.include({ status: 'matched' });
    expect((r.body as Detail).match).to.deep.include({ bank_transaction_id: tx['82050:Pago'], by: 'operator' });
    expect((await f.c.post(`/conciliation/${id}/resolve`, { token: f.a.token, body: { bank_transaction_id: tx['82050:Transferencia'] } })).status).to.equal(400);
  });

  it('POST /conciliation/:id/notify → 202 and the result webhook goes again with the same id; 400 for a request without a result', async () => {
    const id = byExternal.get('O-1')?.id as string;
    const event = await f.test.db.models.OutboxEvent.findOne({ subjectId: id, type: 'conciliation.matched' }).lean();
    expect(event).to.not.equal(null);
    await f.test.db.models.OutboxEvent.updateOne({ _id: event?._id }, { $set: { 'webhook.state': 'delivered' } });
    const r = await f.c.post(`/conciliation/${id}/notify`, { token: f.a.token });
    expect(r.status).to.equal(202);
    expect(r.body).to.deep.equal({ queued: true });
    const after = await f.test.db.models.OutboxEvent.findById(event?._id).lean();
    expect(after?.webhook.state).to.equal('pending');
    expect(after?.webhook.replays).to.equal(1);
    const none = await f.c.post(`/conciliation/${byExternal.get('O-3')?.id}/notify`, { token: f.a.token });
    expect(none.status).to.equal(400);
  });

  it('POST /conciliation/:id/run re-runs matching: a transfer that arrived since settles it', async () => {
    const id = byExternal.get('O-3')?.id as string;
    await f.services.sessions.transactions.ingest(accountId, 'run-late', [{ receivedAt: new Date(), amountMinor: 9999, currency: 'UYU', senderName: 'Nadie', description: 'Tarde', bankReference: null }], false);
    const r = await f.c.post(`/conciliation/${id}/run`, { token: f.a.token });
    expect(r.status).to.equal(202);
    expect(r.body).to.deep.equal({ queued: true });
    expect(((await f.c.get(`/conciliation/${id}`, { token: f.a.token })).body as Detail).status).to.equal('matched');
    expect((await f.c.post(`/conciliation/${id}/run`, { token: f.a.token })).status, 'already matched').to.equal(400);
  });

  it('POST /conciliation/poll/:accountId → 202 {"queued": true}; 400 while one is queued, or without an endpoint', async () => {
    const r = await f.c.post(`/conciliation/poll/${accountId}`, { token: f.a.token });
    expect(r.status).to.equal(202);
    expect(r.body).to.deep.equal({ queued: true });
    expect(f.polls.at(-1)).to.deep.include({ accountId });
    expect((await f.c.post(`/conciliation/poll/${accountId}`, { token: f.a.token })).status).to.equal(400);
    await f.c.put('/me/operation-mode', { token: f.b.token, body: { mode: 'reconcile' } });
    expect((await f.c.post(`/conciliation/poll/${otherAccount}`, { token: f.b.token })).status).to.equal(400);
  });
});
