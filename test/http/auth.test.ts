import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { useApiFixture } from '../helpers/http-api.js';

/** The documented auth, user and bank routes through real HTTP on the real database (docs: Authentication, User, Banks). */
describe('HTTP API: auth, me, banks', function () {
  this.timeout(60_000);
  const f = useApiFixture('httpauth');

  describe('POST /auth/register', () => {
    it('201 {id, email}; the id is the new company, which owns what the person makes', async () => {
      const r = await f.c.post('/auth/register', { body: { email: '  New.Person@Example.com ', password: 'a long password', name: 'Nina' } });
      expect(r.status).to.equal(201);
      expect(r.body).to.have.all.keys('id', 'email');
      expect((r.body as { email: string }).email).to.equal('new.person@example.com');
      const tenant = await f.services.users.getTenant((r.body as { id: string }).id);
      expect(tenant.name).to.equal('Nina');
    });
    it('400 "email and password required" without either', async () => {
      for (const body of [{}, { email: 'x@example.com' }, { password: 'a long password' }, { email: '', password: 'a long password' }, { email: 5, password: 'x' }]) {
        const r = await f.c.post('/auth/register', { body });
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.body).to.deep.equal({ error: 'email and password required' });
      }
    });
    it('409 "Email already exists" (case aside)', async () => {
      const r = await f.c.post('/auth/register', { body: { email: f.a.email.toUpperCase(), password: 'another long one' } });
      expect(r.status).to.equal(409);
      expect(r.body).to.deep.equal({ error: 'Email already exists' });
    });
    it('400 for a short password or a malformed email', async () => {
      expect((await f.c.post('/auth/register', { body: { email: 'short@example.com', password: 'short' } })).body).to.deep.equal({ error: 'The password must be at least 10 characters.' });
      expect((await f.c.post('/auth/register', { body: { email: 'not-an-email', password: 'a long password' } })).body).to.deep.equal({ error: 'That is not an email address.' });
    });
    it('a body that is not JSON, or too large, is refused in the documented shape', async () => {
      const bad = await f.c.post('/auth/register', { raw: '{nope', headers: { 'content-type': 'application/json' } });
      expect(bad.status).to.equal(400);
      expect(bad.body).to.deep.equal({ error: 'The body is not valid JSON' });
      const big = await f.c.post('/auth/register', { body: { email: 'big@example.com', password: 'x'.repeat(70 * 1024) } });
      expect(big.status).to.equal(413);
      expect(big.body).to.deep.equal({ error: 'Request body too large' });
    });
  });

  describe('POST /auth/login', () => {
    it('200 {token, user: {id, email, name}}; the token is a 7-day JWT', async () => {
      const r = await f.c.post('/auth/login', { body: { email: f.a.email, password: f.a.password } });
      expect(r.status).to.equal(200);
      const body = r.body as { token: string; user: Record<string, unknown> };
      expect(body.user).to.deep.equal({ id: f.a.userId, email: f.a.email, name: 'a-httpauth' });
      const payload = JSON.parse(Buffer.from(body.token.split('.')[1] as string, 'base64url').toString()) as { exp: number; iat: number; aud: string };
      expect(payload.exp - payload.iat).to.equal(7 * 24 * 3600);
      expect(payload.aud).to.equal('api');
    });
    it('400 "email and password required"; 401 "Invalid credentials" for a wrong password or an unknown email', async () => {
      expect((await f.c.post('/auth/login', { body: { email: f.a.email } })).body).to.deep.equal({ error: 'email and password required' });
      for (const body of [{ email: f.a.email, password: 'wrong password!' }, { email: 'nobody@example.com', password: f.a.password }]) {
        const r = await f.c.post('/auth/login', { body });
        expect(r.status).to.equal(401);
        expect(r.body).to.deep.equal({ error: 'Invalid credentials' });
      }
    });
  });

  describe('the token', () => {
    it('401 without it, with a forged or garbled one, and for an API key sent as a Bearer token', async () => {
      expect(await f.c.get('/me')).to.include({ status: 401 });
      expect((await f.c.get('/me')).body).to.deep.equal({ error: 'Unauthorized' });
      const [head, body] = f.a.token.split('.');
      for (const token of ['garbage', `${head}.${body}.AAAA`, 'rbk_ABCDEFGH_' + 'a'.repeat(64)]) {
        const r = await f.c.get('/me', { token });
        expect(r.status).to.equal(401);
        expect(r.body).to.deep.equal({ error: 'Invalid or expired token' });
      }
      expect((await f.c.get('/me', { apiKey: 'rbk_ABCDEFGH_' + 'a'.repeat(64) })).status).to.equal(401);
    });
  });

  describe('GET /me, PUT /me/operation-mode', () => {
    it('GET /me → {id, email, name, operation_mode} (null until chosen), with role and company', async () => {
      const r = await f.c.get('/me', { token: f.a.token });
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.include({ id: f.a.userId, email: f.a.email, name: 'a-httpauth', operation_mode: null, role: 'owner', company: 'a-httpauth' });
    });
    it('PUT /me/operation-mode → {operation_mode}; 400 when missing or not allowed', async () => {
      const r = await f.c.put('/me/operation-mode', { token: f.a.token, body: { mode: 'passthrough' } });
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({ operation_mode: 'passthrough' });
      expect((await f.services.users.getTenant(f.a.userId)).operation_mode).to.equal('passthrough');
      for (const body of [{}, { mode: 'both' }]) {
        const bad = await f.c.put('/me/operation-mode', { token: f.a.token, body });
        expect(bad.status).to.equal(400);
        expect(bad.body).to.deep.equal({ error: 'mode must be reconcile or passthrough' });
      }
      // The other company is untouched.
      expect((await f.services.users.getTenant(f.b.userId)).operation_mode).to.equal(null);
    });
    it('PUT /me/password: 204, tokens issued before stop working, the new password logs in', async () => {
      const p = await f.person('pw-change@example.com');
      expect((await f.c.put('/me/password', { token: p.token, body: { password: 'short' } })).status).to.equal(400);
      expect((await f.c.put('/me/password', { token: p.token, body: { password: 'a brand new password' } })).status).to.equal(204);
      expect((await f.c.get('/me', { token: p.token })).status).to.equal(401);
      expect((await f.c.post('/auth/login', { body: { email: p.email, password: p.password } })).status).to.equal(401);
      expect((await f.c.post('/auth/login', { body: { email: p.email, password: 'a brand new password' } })).status).to.equal(200);
    });
  });

  describe('GET /banks, GET /banks/:id', () => {
    it('lists {id, code, name, loginUrl, status} and shows one with its scripts; 404 "Bank not found"', async () => {
      const list = await f.c.get('/banks', { token: f.a.token });
      expect(list.status).to.equal(200);
      const sandbox = (list.body as Record<string, unknown>[]).find((b) => b.code === 'sandbox');
      expect(sandbox).to.include({ id: 'sandbox', code: 'sandbox', name: 'Sandbox Bank', status: 'active' });
      const detail = await f.c.get('/banks/sandbox', { token: f.a.token });
      expect(detail.status).to.equal(200);
      expect((detail.body as { scripts: unknown[] }).scripts).to.have.length(1);
      const missing = await f.c.get('/banks/nope', { token: f.a.token });
      expect(missing.status).to.equal(404);
      expect(missing.body).to.deep.equal({ error: 'Bank not found' });
      expect((await f.c.get('/banks')).status).to.equal(401);
    });
  });

  describe('one person in chat and in the API', () => {
    async function chat(who: ReturnType<typeof identity>, text: string, options: { place?: 'dm' | 'channel'; forms?: ReturnType<typeof scriptedForms> } = {}) {
      const r = createCommandRouter({ commands: allCommands(), services: f.services, log: (await import('pino')).pino({ level: 'silent' }) });
      return (await r.handle(commandIn(options.place ?? 'dm', who, text), options.forms ?? scriptedForms())).text;
    }

    it('api login in private gives a one-time password (used once); the login acts with the chat role; a new role applies at once', async () => {
      const owner = identity('owner-1');
      await f.services.users.createTenant(owner, 'Chat Co');
      expect(await chat(owner, 'api login owner@chat.example', { place: 'channel' })).to.match(/only in a private chat/);
      const said = await chat(owner, 'api login owner@chat.example', { forms: scriptedForms([{ status: 'submitted', values: { password: '' } }]) });
      const once = /\n(RB-[A-Z0-9-]+)\n/.exec(said)?.[1];
      expect(once, said).to.match(/^RB-/);
      const login = await f.c.post('/auth/login', { body: { email: 'owner@chat.example', password: once } });
      expect(login.status).to.equal(200);
      expect((await f.c.post('/auth/login', { body: { email: 'owner@chat.example', password: once } })).status, 'used once').to.equal(401);
      const token = (login.body as { token: string }).token;
      expect((await f.c.get('/me', { token })).body).to.deep.include({ role: 'owner', company: 'Chat Co' });

      // An invited operator sets a password in chat; as operator, the API refuses an admin's change.
      const invite = await chat(owner, 'invite operator');
      const code = /(RB-[A-Z0-9]{4}-[A-Z0-9]{4})/.exec(invite)?.[1] as string;
      const operator = identity('operator-1');
      await chat(operator, `link ${code}`);
      await chat(operator, 'api login op@chat.example', { forms: scriptedForms([{ status: 'submitted', values: { password: 'operator password 1' } }]) });
      const opToken = ((await f.c.post('/auth/login', { body: { email: 'op@chat.example', password: 'operator password 1' } })).body as { token: string }).token;
      const refused = await f.c.put('/me/operation-mode', { token: opToken, body: { mode: 'reconcile' } });
      expect(refused.status).to.equal(403);
      expect(refused.body).to.deep.equal({ error: 'This needs the admin role; you are operator.' });
      expect(await chat(owner, 'members role user-operator-1 admin')).to.match(/now admin/);
      expect((await f.c.put('/me/operation-mode', { token: opToken, body: { mode: 'reconcile' } })).status).to.equal(200);
      // Removed in chat: the API login stops at once.
      expect(await chat(owner, 'members remove user-operator-1')).to.match(/Removed/);
      expect((await f.c.get('/me', { token: opToken })).status).to.equal(401);
    });

    it('an API user joins a chat identity with a link code: one member, same role and company', async () => {
      const p = await f.person('joiner@example.com');
      const link = await f.c.post('/me/link-code', { token: p.token });
      expect(link.status).to.equal(201);
      const code = (link.body as { code: string }).code;
      const me = identity('joiner-chat', 'telegram', 'telegram');
      expect(await chat(me, `api link ${code}`)).to.match(/one person now, owner of "joiner"/);
      expect(await chat(me, `api link ${code}`), 'a code works once').to.match(/unknown, already used or expired/);
      const member = await f.services.users.findMember(me);
      expect(member).to.include({ userId: p.userId, role: 'owner' });
      const members = await f.services.users.listMembers(p.userId);
      expect(members.map((m) => m.platform)).to.deep.equal(['telegram']);
      // Older tokens stop (the login moved); a new login acts as the chat member.
      const again = await f.c.post('/auth/login', { body: { email: p.email, password: p.password } });
      expect((await f.c.get('/me', { token: (again.body as { token: string }).token })).body).to.deep.include({ member_id: member?.id, role: 'owner' });
      expect(await chat(identity('stranger'), 'whoami')).to.match(/not linked/);
    });
  });
});
