import { expect } from 'chai';
import { useApiFixture } from '../helpers/http-api.js';
import { eventually } from '../helpers/eventually.js';

type Key = { id: string; name: string; prefix: string; scopes: string[]; account_ids: string[] | null; created_at: string; last_used_at: string | null; revoked_at: string | null; key?: string };

/** /me/api-keys and the External API (/v1) through real HTTP (docs: API keys, External API). */
describe('HTTP API: API keys and the External API', function () {
  this.timeout(60_000);
  const f = useApiFixture('httpext');
  let mine = '';
  let second = '';
  let theirs = '';
  let relay: Key;

  before(async () => {
    mine = ((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Mine' } })).body as { id: string }).id;
    second = ((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Second' } })).body as { id: string }).id;
    theirs = ((await f.c.post('/accounts', { token: f.b.token, body: { bankId: 'sandbox', name: 'Theirs' } })).body as { id: string }).id;
  });

  const key = (scopes: string[], account_ids: string[] | null, token = f.a.token) => f.c.post('/me/api-keys', { token, body: { name: 'SMS relay', scopes, account_ids } });

  describe('/me/api-keys', () => {
    it('POST → 201 with the key rbk_<8>_<64> once; only a hash is stored; GET lists without secrets', async () => {
      const r = await key(['otp:write', 'status:read'], [mine]);
      expect(r.status).to.equal(201);
      relay = r.body as Key;
      expect(relay.key).to.match(/^rbk_[A-Za-z0-9]{8}_[A-Za-z0-9]{64}$/);
      expect(relay).to.deep.include({ name: 'SMS relay', scopes: ['otp:write', 'status:read'], account_ids: [mine], revoked_at: null, last_used_at: null });
      expect(relay.key?.slice(4, 12)).to.equal(relay.prefix);
      const stored = await f.test.db.models.ApiKey.findById(relay.id).lean();
      expect(JSON.stringify(stored)).not.to.include(relay.key?.slice(13));
      const list = await f.c.get('/me/api-keys', { token: f.a.token });
      expect(list.status).to.equal(200);
      const body = list.body as { keys: Key[]; available_scopes: string[] };
      expect(body.available_scopes).to.deep.equal(['otp:write', 'status:read']);
      expect(body.keys.map((k) => k.id)).to.deep.equal([relay.id]);
      expect(body.keys[0]).not.to.have.property('key');
      expect(list.text).not.to.include(relay.key?.slice(13));
      expect(((await f.c.get('/me/api-keys', { token: f.b.token })).body as { keys: Key[] }).keys).to.deep.equal([]);
    });
    it('400 without a scope, with an unknown scope, or with another company\'s account; account_ids is required (null = every account)', async () => {
      for (const [scopes, ids] of [[[], null], [['otp:read'], null], [['otp:write'], [theirs]]] as [string[], string[] | null][]) {
        const r = await key(scopes, ids);
        expect(r.status, JSON.stringify([scopes, ids])).to.equal(400);
        expect(r.body).to.have.key('error');
      }
      expect((await f.c.post('/me/api-keys', { token: f.a.token, body: { name: 'x', scopes: ['otp:write'] } })).status).to.equal(400);
    });
    it('DELETE /me/api-keys/:id revokes (200 with revoked_at); another company\'s key is 404', async () => {
      const spare = (await key(['status:read'], null)).body as Key;
      expect((await f.c.delete(`/me/api-keys/${spare.id}`, { token: f.b.token })).status).to.equal(404);
      const r = await f.c.delete(`/me/api-keys/${spare.id}`, { token: f.a.token });
      expect(r.status).to.equal(200);
      expect((r.body as Key).revoked_at).to.be.a('string');
      const used = await f.c.get(`/v1/accounts/${mine}/status`, { apiKey: spare.key as string });
      expect(used.status).to.equal(401);
      expect(used.body).to.deep.equal({ error: { code: 'INVALID_API_KEY', message: 'Invalid API key' } });
    });
    it('a key never works on the dashboard API', async () => {
      for (const keyHeader of ['authorization', 'x-api-key'] as const) {
        const r = await f.c.get('/accounts', { apiKey: relay.key as string, keyHeader });
        expect(r.status).to.equal(401);
        expect(r.body).to.deep.equal({ error: 'Unauthorized' });
      }
    });
  });

  describe('/v1', () => {
    it('401 UNAUTHORIZED without a key, and for a Bearer JWT (a token never works here)', async () => {
      for (const options of [{}, { token: f.a.token }]) {
        const r = await f.c.get(`/v1/accounts/${mine}/status`, options);
        expect(r.status).to.equal(401);
        expect(r.body).to.deep.equal({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } });
      }
    });
    it('401 INVALID_API_KEY for a malformed or unknown key, by either header', async () => {
      for (const apiKey of ['rbk_nope', `rbk_${'A'.repeat(8)}_${'b'.repeat(64)}`, `${relay.key?.slice(0, -1)}x`]) {
        for (const keyHeader of ['authorization', 'x-api-key'] as const) {
          const r = await f.c.get(`/v1/accounts/${mine}/status`, { apiKey, keyHeader });
          expect(r.status).to.equal(401);
          expect(r.body).to.deep.equal({ error: { code: 'INVALID_API_KEY', message: 'Invalid API key' } });
        }
      }
    });
    it('403 FORBIDDEN for a missing scope or an account outside the key\'s list; 404 NOT_FOUND for another company\'s account', async () => {
      const statusOnly = ((await key(['status:read'], null)).body as Key).key as string;
      const noScope = await f.c.post(`/v1/accounts/${mine}/otp`, { apiKey: statusOnly, body: { code: '123456' } });
      expect(noScope.status).to.equal(403);
      expect(noScope.body).to.deep.equal({ error: { code: 'FORBIDDEN', message: 'Forbidden' } });
      const outside = await f.c.get(`/v1/accounts/${second}/status`, { apiKey: relay.key as string });
      expect(outside.status).to.equal(403);
      expect(outside.body).to.deep.equal({ error: { code: 'FORBIDDEN', message: 'Forbidden' } });
      for (const account of [theirs, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        for (const call of [() => f.c.get(`/v1/accounts/${account}/status`, { apiKey: statusOnly }), () => f.c.post(`/v1/accounts/${account}/otp`, { apiKey: relay.key as string, body: { code: '123456' } })]) {
          const r = await call();
          expect(r.status, account).to.equal(404);
          expect(r.body).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'Not found' } });
        }
      }
      // With null account_ids the key reaches every account of its user, and only those.
      expect((await f.c.get(`/v1/accounts/${second}/status`, { apiKey: statusOnly })).status).to.equal(200);
    });
    it('GET /v1/accounts/:id/status: session state and the pending assistance request with its descriptor; last_used_at is kept', async () => {
      const idle = await f.c.get(`/v1/accounts/${mine}/status`, { apiKey: relay.key as string, keyHeader: 'authorization' });
      expect(idle.status).to.equal(200);
      expect(idle.body).to.deep.include({ account_id: mine, name: 'Mine', bank: 'sandbox', status: 'active', session_type: 'one-shot', login_mode: 'simple', assistance: null, scrapeBlockedAt: null });
      expect((idle.body as { session: { state: string } }).session.state).to.equal('idle');
      const requester = f.services.sessions.assistance.requester({ id: mine, name: 'Mine', bank: 'sandbox', userId: f.a.userId });
      const waiting = requester.request({ length: 6, type: 'numeric' }, false);
      const status = await eventually(async () => {
        const body = (await f.c.get(`/v1/accounts/${mine}/status`, { apiKey: relay.key as string })).body as { assistance: unknown; session: { state: string } };
        return body.assistance ? body : undefined;
      }, 10_000, 'the pending assistance request');
      expect(status.session.state).to.equal('waiting_for_code');
      expect(status.assistance).to.deep.include({ type: 'otp', descriptor: { length: 6, type: 'numeric' }, attempts: 0, status: 'pending' });

      // POST /v1/accounts/:id/otp: {code} 1–32 → 202 {"submitted": true}; the waiting login gets it.
      for (const body of [{}, { code: '' }, { code: 'x'.repeat(33) }]) {
        const bad = await f.c.post(`/v1/accounts/${mine}/otp`, { apiKey: relay.key as string, body });
        expect(bad.status).to.equal(400);
        expect(bad.body).to.deep.equal({ error: { code: 'VALIDATION_ERROR', message: 'code is required (1 to 32 characters)' } });
      }
      const sent = await f.c.post(`/v1/accounts/${mine}/otp`, { apiKey: relay.key as string, body: { code: '246810' } });
      expect(sent.status).to.equal(202);
      expect(sent.body).to.deep.equal({ submitted: true });
      expect(await waiting).to.equal('246810');
      await requester.accepted();
      const none = await f.c.post(`/v1/accounts/${mine}/otp`, { apiKey: relay.key as string, body: { code: '246810' } });
      expect(none.status).to.equal(409);
      expect(none.body).to.deep.equal({ error: { code: 'CONFLICT', message: 'No bank code is being waited for on this account.' } });
      expect((await f.test.db.models.ApiKey.findById(relay.id).lean())?.lastUsedAt).to.be.instanceOf(Date);
    });
    it('OTP submissions: 5 per 10 minutes per account, shared with chat (the same quota); the sixth is 429 with Retry-After', async () => {
      const { Account, AssistanceRequest } = f.test.db.models;
      await Account.updateOne({ _id: mine }, { $set: { otpSubmissions: [] } });
      // A login waiting for a code; between codes the session takes each one (the bank refuses it) and asks again.
      const request = await AssistanceRequest.create({ accountId: mine, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: mine, expiresAt: new Date(Date.now() + 300_000) });
      const taken = () => AssistanceRequest.updateOne({ _id: request._id }, { $unset: { sealedCode: 1 } });
      const answers: number[] = [];
      for (let i = 0; i < 6; i++) {
        await taken();
        if (i === 2) {
          // A code from chat: the same service, the same quota.
          await f.services.sessions.assistance.submit(mine, '111111', 'slack:someone');
          answers.push(202);
          continue;
        }
        const r = await f.c.post(`/v1/accounts/${mine}/otp`, { apiKey: relay.key as string, body: { code: `12345${i}` } });
        answers.push(r.status);
        if (r.status === 429) {
          expect(r.body).to.deep.equal({ error: { code: 'RATE_LIMITED', message: 'Too many codes were sent for this account (at most 5 in 10 minutes). Wait a few minutes.' } });
          const retry = Number(r.headers.get('retry-after'));
          expect(retry).to.be.greaterThan(590).and.at.most(600);
        }
      }
      expect(answers).to.deep.equal([202, 202, 202, 202, 202, 429]);
      await taken();
      // The dashboard route shares it as well, and so does chat.
      const dashboard = await f.c.post(`/accounts/${mine}/otp`, { token: f.a.token, body: { code: '999999' } });
      expect(dashboard.status).to.equal(429);
      expect(dashboard.headers.get('retry-after')).to.match(/^\d+$/);
      let chat: unknown;
      await f.services.sessions.assistance.submit(mine, '222222', 'slack:someone').catch((error: unknown) => (chat = error));
      expect(String(chat)).to.match(/Too many codes/);
      await AssistanceRequest.updateOne({ _id: request._id }, { $set: { status: 'cancelled' }, $unset: { pendingFor: 1, sealedCode: 1 } });
    });
  });
});
