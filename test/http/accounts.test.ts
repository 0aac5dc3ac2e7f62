import { expect } from 'chai';
import { useApiFixture } from '../helpers/http-api.js';
import { eventually } from '../helpers/eventually.js';

type Account = { id: string; name: string; bank: string; status: string; scrapeBlockedAt: string | null; scrapeBlockedReason: string | null; webhook_signing_secret?: string };

/** /accounts through real HTTP on the real database (docs: Accounts; SPEC §6), each documented error and tenant isolation. */
describe('HTTP API: accounts', function () {
  this.timeout(60_000);
  const f = useApiFixture('httpaccounts');
  let main: Account;
  let other: Account;

  before(async () => {
    main = (await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Main UYU' } })).body as Account;
    other = (await f.c.post('/accounts', { token: f.b.token, body: { bankId: 'sandbox', name: 'Theirs' } })).body as Account;
  });

  /** Every route that takes an account id: another company's id is 404 and changes nothing. */
  const idRoutes: [string, string, unknown?][] = [
    ['GET', ''],
    ['DELETE', '', { confirmation_name: 'Theirs' }],
    ['GET', '/config'],
    ['PUT', '/config', { webhook_url: 'https://evil.example.com/hook' }],
    ['POST', '/scrape'],
    ['POST', '/restart'],
    ['POST', '/kill'],
    ['POST', '/reactivate'],
    ['GET', '/otp'],
    ['POST', '/otp', { code: '123456' }],
    ['GET', '/movements'],
    ['POST', '/movements/00000000-0000-4000-8000-000000000000/notify'],
    ['POST', '/statements'],
  ];

  it('POST /accounts → 201 with the signing secret once; 400 "bankId and name are required"; unknown bank; 409 for a name taken', async () => {
    expect(main).to.deep.include({ bank: 'sandbox', name: 'Main UYU', status: 'active', scrapeBlockedAt: null, scrapeBlockedReason: null });
    expect(main.webhook_signing_secret).to.match(/^whsec_/);
    for (const body of [{}, { bankId: 'sandbox' }, { name: 'X' }, { bankId: '', name: 'X' }]) {
      const r = await f.c.post('/accounts', { token: f.a.token, body });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'bankId and name are required' });
    }
    expect((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'itau', name: 'X' } })).body).to.deep.equal({ error: 'Bank not found' });
    const taken = await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'main uyu' } });
    expect(taken.status).to.equal(409);
  });

  it('GET /accounts lists only the caller\'s, with scrapeBlockedAt/scrapeBlockedReason; GET /accounts/:id', async () => {
    await f.test.db.models.Account.updateOne({ _id: main.id }, { $set: { scrapeBlockedAt: new Date('2026-01-02T03:04:05Z'), scrapeBlockedReason: 'The bank refused the credentials.' } });
    const list = await f.c.get('/accounts', { token: f.a.token });
    expect(list.status).to.equal(200);
    expect(list.body).to.deep.equal([{ id: main.id, bank: 'sandbox', name: 'Main UYU', status: 'active', scrapeBlockedAt: '2026-01-02T03:04:05.000Z', scrapeBlockedReason: 'The bank refused the credentials.' }]);
    const one = await f.c.get(`/accounts/${main.id}`, { token: f.a.token });
    expect(one.body).to.deep.include({ id: main.id, name: 'Main UYU' });
    // POST /accounts/:id/restart clears the block.
    expect((await f.c.post(`/accounts/${main.id}/restart`, { token: f.a.token })).body).to.deep.equal({ queued: true });
    expect(((await f.c.get(`/accounts/${main.id}`, { token: f.a.token })).body as Account).scrapeBlockedAt).to.equal(null);
  });

  it('another company\'s account id is 404 "Account not found" on every route, and nothing of it changes', async () => {
    const before = await f.test.db.models.Account.findById(other.id).lean();
    for (const [method, suffix, body] of idRoutes) {
      const r = await f.c.call(method, `/accounts/${other.id}${suffix}`, { token: f.a.token, ...(body !== undefined ? { body } : {}), ...(suffix === '/statements' ? { raw: 'x', headers: { 'content-type': 'text/csv' } } : {}) });
      expect(r.status, `${method} ${suffix}`).to.equal(404);
      expect(r.body, `${method} ${suffix}`).to.deep.equal({ error: suffix.startsWith('/movements/') ? 'Not found' : 'Account not found' });
      // Not a UUID at all: the same 404.
      expect((await f.c.call(method, `/accounts/not-an-id${suffix}`, { token: f.a.token, ...(body !== undefined ? { body } : {}) })).status, `${method} ${suffix} (no uuid)`).to.equal(404);
    }
    const after = await f.test.db.models.Account.findById(other.id).lean();
    expect(after).to.deep.equal(before);
    expect(f.enqueued.filter((e) => e.accountId === other.id)).to.deep.equal([]);
  });

  it('GET /accounts/:id/config masks secrets; PUT sets them; writing the mask back keeps the stored value; 400 names a bad setting', async () => {
    const empty = await f.c.get(`/accounts/${main.id}/config`, { token: f.a.token });
    expect(empty.status).to.equal(200);
    expect(empty.body).to.deep.include({ id: main.id, account_id: main.id, bank_password: null, auth_token: null, session_type: 'one-shot', login_mode: 'simple', polling_method: 'GET', auth_type: 'bearer', retry_limit: 3 });
    const put = await f.c.put(`/accounts/${main.id}/config`, {
      token: f.a.token,
      body: { bank_username: 'demo', bank_password: 'bank-secret-1', auth_token: 'tok-1', webhook_url: 'https://erp.example.com/hook', webhook_extra_fields: '{"tenant":"acme"}', notification_events: ['assistance_required'] },
    });
    expect(put.status).to.equal(200);
    expect(put.body).to.deep.include({ bank_username: 'demo', bank_password: '********', auth_token: '********', webhook_url: 'https://erp.example.com/hook', webhook_extra_fields: { tenant: 'acme' }, notification_events: ['assistance_required'] });
    expect(put.text).not.to.include('bank-secret-1');
    const again = await f.c.put(`/accounts/${main.id}/config`, { token: f.a.token, body: { bank_password: '********', auth_token: '********', retry_limit: 5 } });
    expect(again.body).to.deep.include({ retry_limit: 5, bank_password: '********' });
    expect(await f.services.accounts.revealSecret(main.id, 'bank_password')).to.equal('bank-secret-1');
    expect(await f.services.accounts.revealSecret(main.id, 'auth_token')).to.equal('tok-1');
    const bad = await f.c.put(`/accounts/${main.id}/config`, { token: f.a.token, body: { retry_limit: 'many', nope: 1 } });
    expect(bad.status).to.equal(400);
    expect((bad.body as { error: string }).error).to.match(/^Invalid setting: .*retry_limit must be a whole number/);
    expect((await f.c.put(`/accounts/${main.id}/config`, { token: f.a.token, body: { webhook_extra_fields: { status: 'x' } } })).status).to.equal(400);
    expect((await f.c.put(`/accounts/${main.id}/config`, { token: f.a.token, raw: '[1]', headers: { 'content-type': 'application/json' } })).status).to.equal(400);
  });

  it('POST /accounts/:id/scrape → 202 {"queued": true}; a second while queued → 409; without credentials → 400', async () => {
    const r = await f.c.post(`/accounts/${main.id}/scrape`, { token: f.a.token });
    expect(r.status).to.equal(202);
    expect(r.body).to.deep.equal({ queued: true });
    expect(f.enqueued.at(-1)).to.deep.include({ accountId: main.id, trigger: 'manual' });
    const twice = await f.c.post(`/accounts/${main.id}/scrape`, { token: f.a.token });
    expect(twice.status).to.equal(409);
    expect(twice.body).to.deep.equal({ error: 'A scrape of "Main UYU" is already queued or running.' });
    const bare = (await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Bare' } })).body as Account;
    expect((await f.c.post(`/accounts/${bare.id}/scrape`, { token: f.a.token })).status).to.equal(400);
  });

  it('POST /accounts/:id/kill and /reactivate → 202; the persistent session state follows', async () => {
    expect((await f.c.post(`/accounts/${main.id}/kill`, { token: f.a.token })).body).to.deep.equal({ queued: true });
    expect((await f.test.db.models.Account.findById(main.id).lean())?.session.state).to.equal('stopped');
    expect((await f.c.post(`/accounts/${main.id}/reactivate`, { token: f.a.token })).status).to.equal(202);
    expect((await f.test.db.models.Account.findById(main.id).lean())?.session.state).to.equal('running');
  });

  it('GET|POST /accounts/:id/otp: null when nothing waits; the pending request with its descriptor; a code completes the waiting login; 409 / 400 as it does not fit', async () => {
    expect((await f.c.get(`/accounts/${main.id}/otp`, { token: f.a.token })).body).to.equal(null);
    const none = await f.c.post(`/accounts/${main.id}/otp`, { token: f.a.token, body: { code: '123456' } });
    expect(none.status).to.equal(409);
    expect(none.body).to.deep.equal({ error: 'No bank code is being waited for on this account.' });
    const requester = f.services.sessions.assistance.requester({ id: main.id, name: main.name, bank: 'sandbox', userId: f.a.userId });
    const waiting = requester.request({ length: 6, type: 'numeric', purpose: 'login' }, false);
    const pending = await eventually(async () => ((await f.c.get(`/accounts/${main.id}/otp`, { token: f.a.token })).body as Record<string, unknown> | null) ?? undefined, 10_000, 'the pending request');
    expect(pending).to.deep.include({ type: 'otp', descriptor: { length: 6, type: 'numeric', purpose: 'login' }, attempts: 0, status: 'pending' });
    for (const body of [{}, { code: '' }, { code: 'x'.repeat(33) }]) {
      const bad = await f.c.post(`/accounts/${main.id}/otp`, { token: f.a.token, body });
      expect(bad.status).to.equal(400);
      expect(bad.body).to.deep.equal({ error: 'code is required (1 to 32 characters)' });
    }
    expect((await f.c.post(`/accounts/${main.id}/otp`, { token: f.a.token, body: { code: 'abc' } })).status, 'not the expected shape').to.equal(400);
    const ok = await f.c.post(`/accounts/${main.id}/otp`, { token: f.a.token, body: { code: '482913' } });
    expect(ok.status).to.equal(202);
    expect(ok.body).to.deep.equal({ submitted: true });
    expect(await waiting).to.equal('482913');
    await requester.accepted();
    expect((await f.c.get(`/accounts/${main.id}/otp`, { token: f.a.token })).body).to.equal(null);
  });

  it('GET /accounts/:id/movements: newest first, amounts as decimal strings, limit (≤ 500) and offset', async () => {
    const base = Date.parse('2026-11-20T12:00:00Z');
    await f.services.sessions.transactions.ingest(
      main.id,
      'run-api',
      Array.from({ length: 7 }, (_, i) => ({ receivedAt: new Date(base + i * 3_600_000), amountMinor: 150000 + i, currency: 'UYU', senderName: i === 0 ? null : `Payer ${i}`, description: `Transfer ${i}`, bankReference: null })),
      false,
    );
    const page = await f.c.get(`/accounts/${main.id}/movements?limit=3&offset=1`, { token: f.a.token });
    expect(page.status).to.equal(200);
    const rows = page.body as { amount: string; sender_name: string | null; received_at: string }[];
    expect(rows.map((r) => r.amount)).to.deep.equal(['1500.05', '1500.04', '1500.03']);
    expect(rows[0]).to.include({ sender_name: 'Payer 5', received_at: '2026-11-20T17:00:00.000Z' });
    expect(((await f.c.get(`/accounts/${main.id}/movements`, { token: f.a.token })).body as unknown[]).length).to.equal(7);
    for (const query of ['limit=501', 'limit=0', 'offset=-1', 'limit=abc']) expect((await f.c.get(`/accounts/${main.id}/movements?${query}`, { token: f.a.token })).status, query).to.equal(400);
  });

  it('POST /accounts/:id/movements/:mid/notify: in passthrough, 202 and the movement webhook is (re)sent with the same id; 404 for an unknown movement; 400 in reconcile mode', async () => {
    const [movement] = (await f.c.get(`/accounts/${main.id}/movements?limit=1`, { token: f.a.token })).body as { id: string }[];
    await f.c.put('/me/operation-mode', { token: f.a.token, body: { mode: 'reconcile' } });
    expect((await f.c.post(`/accounts/${main.id}/movements/${movement?.id}/notify`, { token: f.a.token })).status).to.equal(400);
    await f.c.put('/me/operation-mode', { token: f.a.token, body: { mode: 'passthrough' } });
    const r = await f.c.post(`/accounts/${main.id}/movements/${movement?.id}/notify`, { token: f.a.token });
    expect(r.status).to.equal(202);
    expect(r.body).to.deep.equal({ queued: true });
    const events = await f.test.db.models.OutboxEvent.find({ subjectId: movement?.id, type: 'bank.movement' }).lean();
    expect(events).to.have.length(1);
    expect((await f.c.post(`/accounts/${main.id}/movements/${movement?.id}/notify`, { token: f.a.token })).status, 'again').to.equal(202);
    expect(await f.test.db.models.OutboxEvent.countDocuments({ subjectId: movement?.id })).to.equal(1);
    const unknown = await f.c.post(`/accounts/${main.id}/movements/00000000-0000-4000-8000-000000000000/notify`, { token: f.a.token });
    expect(unknown.status).to.equal(404);
  });

  it('roles apply as in chat: a viewer reads, and is refused changes with 403', async () => {
    const invite = await f.services.users.createInvite((await f.services.users.listMembers(f.a.userId))[0] as never, 'viewer');
    const viewer = await f.services.users.redeemInvite({ platform: 'console', teamId: 'local', userId: 'viewer-x', displayName: 'Vera' }, invite.code);
    const login = await f.services.access.logins.forMember(viewer, 'vera@example.com');
    await f.services.access.logins.setPassword(login.id, 'viewer password 1');
    const token = ((await f.c.post('/auth/login', { body: { email: 'vera@example.com', password: 'viewer password 1' } })).body as { token: string }).token;
    expect((await f.c.get('/accounts', { token })).status).to.equal(200);
    expect((await f.c.get(`/accounts/${main.id}/config`, { token })).status).to.equal(200);
    for (const [method, path, body] of [
      ['POST', '/accounts', { bankId: 'sandbox', name: 'V' }],
      ['PUT', `/accounts/${main.id}/config`, { retry_limit: 1 }],
      ['POST', `/accounts/${main.id}/scrape`],
      ['DELETE', `/accounts/${main.id}`, { confirmation_name: 'Main UYU' }],
      ['POST', `/accounts/${main.id}/otp`, { code: '123456' }],
    ] as [string, string, unknown?][]) {
      const r = await f.c.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${method} ${path}`).to.equal(403);
      expect((r.body as { error: string }).error).to.match(/^This needs the (admin|operator) role; you are viewer\.$/);
    }
  });

  it('DELETE /accounts/:id: 400 "confirmation_name is required", 400 when it differs, 204 when it repeats the name', async () => {
    for (const options of [{}, { body: {} }, { body: { confirmation_name: '' } }]) {
      const r = await f.c.delete(`/accounts/${main.id}`, { token: f.a.token, ...options });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'confirmation_name is required' });
    }
    const wrong = await f.c.delete(`/accounts/${main.id}`, { token: f.a.token, body: { confirmation_name: 'Main' } });
    expect(wrong.status).to.equal(400);
    const gone = await f.c.delete(`/accounts/${main.id}`, { token: f.a.token, body: { confirmation_name: 'main uyu' } });
    expect(gone.status).to.equal(204);
    expect(gone.text).to.equal('');
    expect((await f.c.get(`/accounts/${main.id}`, { token: f.a.token })).status).to.equal(404);
    expect((await f.c.get(`/accounts/${other.id}`, { token: f.b.token })).status, 'the other company keeps its own').to.equal(200);
  });
});
