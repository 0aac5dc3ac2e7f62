import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { pino } from 'pino';
import { projectRoot } from '../../src/paths.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { freshDatabaseUri, useTestDatabase } from '../helpers/database.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';
import { client, startTestApi, useApiFixture } from '../helpers/http-api.js';
import { systemClock } from '../../src/domain/clock.js';
import { connectDatabase } from '../../src/store/database.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'statements', 'fixtures');

describe('HTTP API: statement uploads', function () {
  this.timeout(60_000);
  const f = useApiFixture('httpstmt', { settings: { statementMaxBytes: 64 * 1024 } });
  let statementAccount = '';
  let portalAccount = '';

  before(async () => {
    statementAccount = ((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'statement', name: 'Files EUR' } })).body as { id: string }).id;
    portalAccount = ((await f.c.post('/accounts', { token: f.a.token, body: { bankId: 'sandbox', name: 'Portal' } })).body as { id: string }).id;
  });

  it('POST /accounts/:id/statements with the file as the body: the import summary; the same file again adds nothing', async () => {
    const bytes = readFileSync(path.join(fixtures, 'camt053_v02.xml'));
    const r = await f.c.post(`/accounts/${statementAccount}/statements?filename=camt053_v02.xml`, { token: f.a.token, raw: bytes, headers: { 'content-type': 'application/xml' } });
    expect(r.status, r.text).to.equal(200);
    const summary = r.body as Record<string, unknown>;
    expect(summary).to.deep.include({ account_id: statementAccount, account_name: 'Files EUR', file_name: 'camt053_v02.xml', format: 'camt', imported_before: null });
    expect(summary.credits_stored).to.be.greaterThan(0);
    const imports = await f.test.db.models.StatementImport.find({ accountId: statementAccount }).lean();
    expect(imports.map((i) => i.via)).to.deep.equal(['api']);
    const again = (await f.c.post(`/accounts/${statementAccount}/statements`, { token: f.a.token, raw: bytes, headers: { 'content-type': 'application/octet-stream' } })).body as Record<string, unknown>;
    expect(again).to.deep.include({ credits_stored: 0 });
    expect(again.imported_before).to.be.a('string');
  });

  it('as a multipart form with one file (its name kept); a CSV with a mapping', async () => {
    await f.c.put(`/accounts/${statementAccount}/config`, { token: f.a.token, body: { csv_preset: 'generic' } });
    const form = new FormData();
    form.append('file', new Blob([readFileSync(path.join(fixtures, 'csv_signed.csv'))], { type: 'text/csv' }), 'november.csv');
    const r = await f.c.post(`/accounts/${statementAccount}/statements`, { token: f.a.token, raw: form });
    expect(r.status, r.text).to.equal(200);
    expect(r.body).to.deep.include({ file_name: 'november.csv', format: 'csv' });
    expect((r.body as { refused_count: number }).refused_count).to.be.greaterThan(0);
  });

  it('413 past STATEMENT_MAX_MB; 400 for an empty body or a portal account; 404 for another company', async () => {
    const big = await f.c.post(`/accounts/${statementAccount}/statements`, { token: f.a.token, raw: Buffer.alloc(200 * 1024, 65), headers: { 'content-type': 'text/csv' } });
    expect(big.status).to.equal(413);
    expect(big.body).to.deep.equal({ error: 'Request body too large' });
    expect((await f.c.post(`/accounts/${statementAccount}/statements`, { token: f.a.token, raw: '', headers: { 'content-type': 'text/csv' } })).status).to.equal(400);
    const portal = await f.c.post(`/accounts/${portalAccount}/statements`, { token: f.a.token, raw: 'a,b', headers: { 'content-type': 'text/csv' } });
    expect(portal.status).to.equal(400);
    expect((await f.c.post(`/accounts/${statementAccount}/statements`, { token: f.b.token, raw: 'a,b', headers: { 'content-type': 'text/csv' } })).status).to.equal(404);
  });

  it('chat: apikey create in private only (shown once), list, revoke; the revoked key gets 401', async () => {
    const owner = identity('stmt-owner');
    const member = await f.services.users.createTenant(owner, 'Keys Co');
    const router = createCommandRouter({ commands: allCommands(), services: f.services, log: pino({ level: 'silent' }) });
    const say = async (text: string, place: 'dm' | 'channel' = 'dm') => (await router.handle(commandIn(place, owner, text), scriptedForms())).text;
    const account = await f.services.accounts.create(member.userId, { name: 'Relay', bank: 'sandbox' });
    expect(await say('apikey create relay scopes=status:read', 'channel')).to.match(/only in a private chat/);
    const made = await say('apikey create relay key scopes=status:read,otp:write accounts=Relay');
    const key = /(rbk_[A-Za-z0-9]{8}_[A-Za-z0-9]{64})/.exec(made)?.[1] as string;
    expect(key, made).to.be.a('string');
    expect((await f.c.get(`/v1/accounts/${account.id}/status`, { apiKey: key })).status).to.equal(200);
    const listed = await say('apikey list');
    expect(listed).to.include(`rbk_${key.slice(4, 12)}_…`).and.not.include(key);
    expect(await say(`apikey revoke ${key.slice(4, 12)}`)).to.match(/revoked/);
    expect((await f.c.get(`/v1/accounts/${account.id}/status`, { apiKey: key })).status).to.equal(401);
  });
});

describe('HTTP API: limits, logs and the OpenAPI document', function () {
  this.timeout(90_000);
  const test = useTestDatabase('httplimits');

  it('login attempts per email hold across two API processes on one database: 429 with Retry-After', async () => {
    const uri = freshDatabaseUri('httplimitsproc');
    const database = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
    const here = await startTestApi(database, buildServices(database, { clock: systemClock }), { settings: { loginAttemptsPerEmail: 4 } });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/api-process.ts'), uri, '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const there = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const url = /listening (\S+)/.exec(out)?.[1];
          if (url) resolve(url);
        });
        child.once('exit', (code) => reject(new Error(`the second API process exited (${code})`)));
      });
      const [a, b] = [client(here.url), client(there)];
      const statuses: number[] = [];
      for (const c of [a, b, a, b, a, b]) statuses.push((await c.post('/auth/login', { body: { email: 'victim@example.com', password: 'guess guess guess' } })).status);
      expect(statuses).to.deep.equal([401, 401, 401, 401, 429, 429]);
      const limited = await b.post('/auth/login', { body: { email: 'Victim@Example.com', password: 'guess guess guess' } });
      expect(limited.body).to.deep.equal({ error: 'Too many attempts; try again later.' });
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 900);
      // Another email is not held back.
      expect((await a.post('/auth/login', { body: { email: 'other@example.com', password: 'guess guess guess' } })).status).to.equal(401);
    } finally {
      child.kill('SIGTERM');
      await here.close();
      await database.connection.dropDatabase().catch(() => undefined);
      await database.close();
    }
  });

  it('login attempts per client address, and changes per person per minute: 429 with Retry-After', async () => {
    const services = buildServices(test.db, { clock: systemClock });
    const api = await startTestApi(test.db, services, { settings: { loginAttemptsPerAddress: 3, mutationsPerMinute: 2 } });
    try {
      const c = client(api.url);
      expect((await c.post('/auth/register', { body: { email: 'limited@example.com', password: 'a long password' } })).status).to.equal(201);
      const login = await c.post('/auth/login', { body: { email: 'limited@example.com', password: 'a long password' } });
      const token = (login.body as { token: string }).token;
      expect((await c.post('/auth/login', { body: { email: 'x1@example.com', password: 'a long password' } })).status).to.equal(401);
      const held = await c.post('/auth/login', { body: { email: 'x2@example.com', password: 'a long password' } });
      expect(held.status).to.equal(429);
      expect(held.headers.get('retry-after')).to.match(/^\d+$/);
      const changes: number[] = [];
      for (let i = 0; i < 3; i++) changes.push((await c.put('/me/operation-mode', { token, body: { mode: 'reconcile' } })).status);
      expect(changes).to.deep.equal([200, 200, 429]);
      // Reading is not a change.
      expect((await c.get('/me', { token })).status).to.equal(200);
    } finally {
      await api.close();
    }
  });

  it('one access line per request, with route and status; no Authorization header, no body, no secret', async () => {
    const capture = capturingLogger('info');
    const services = buildServices(test.db, { clock: systemClock, log: capture.log });
    const api = await startTestApi(test.db, services, { log: capture.log });
    try {
      const c = client(api.url);
      await c.post('/auth/register', { body: { email: 'logged@example.com', password: 'secret-password-77' } });
      const token = ((await c.post('/auth/login', { body: { email: 'logged@example.com', password: 'secret-password-77' } })).body as { token: string }).token;
      const account = ((await c.post('/accounts', { token, body: { bankId: 'sandbox', name: 'Logged' } })).body as { id: string }).id;
      await c.put(`/accounts/${account}/config`, { token, body: { bank_password: 'bank-pass-99', auth_token: 'tok-secret-55' } });
      await c.post(`/accounts/${account}/otp`, { token, body: { code: '735193' } });
      const key = ((await c.post('/me/api-keys', { token, body: { name: 'k', scopes: ['status:read'], account_ids: null } })).body as { key: string }).key;
      await c.get(`/v1/accounts/${account}/status`, { apiKey: key });
      const text = capture.text();
      for (const secret of ['secret-password-77', 'bank-pass-99', 'tok-secret-55', '735193', token, key, key.slice(13)]) expect(text, secret.slice(0, 12)).not.to.include(secret);
      expect(text.toLowerCase()).not.to.include('authorization');
      const lines = capture.lines.map((l) => JSON.parse(l) as { msg: string; http?: Record<string, unknown> }).filter((l) => l.msg === 'http request');
      expect(lines.map((l) => [l.http?.method, l.http?.route, l.http?.status])).to.deep.include.members([
        ['POST', '/auth/login', 200],
        ['PUT', '/accounts/:id/config', 200],
        ['POST', '/accounts/:id/otp', 409],
        ['GET', '/v1/accounts/:accountId/status', 200],
      ]);
      expect(lines.find((l) => l.http?.route === '/v1/accounts/:accountId/status')?.http).to.include({ keyPrefix: key.slice(4, 12) });
    } finally {
      await api.close();
    }
  });

  it('/openapi.json is a valid OpenAPI 3.1 document (a real validator) describing every route of both APIs', async () => {
    const api = await startTestApi(test.db, buildServices(test.db, { clock: systemClock }));
    try {
      const document = (await client(api.url).get('/openapi.json')).body as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>> };
      expect(document.openapi).to.equal('3.1.0');
      const validator = new Validator();
      const result = await validator.validate(document as unknown as Record<string, unknown>);
      expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).to.deep.equal([]);
      expect(result.valid).to.equal(true);
      const routes = Object.entries(document.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
      for (const route of [
        'POST /auth/register', 'POST /auth/login', 'GET /me', 'PUT /me/operation-mode', 'GET /me/api-keys', 'POST /me/api-keys', 'DELETE /me/api-keys/{id}',
        'GET /banks', 'GET /banks/{id}', 'GET /accounts', 'POST /accounts', 'GET /accounts/{id}', 'DELETE /accounts/{id}', 'GET /accounts/{id}/config', 'PUT /accounts/{id}/config',
        'POST /accounts/{id}/scrape', 'POST /accounts/{id}/restart', 'POST /accounts/{id}/kill', 'POST /accounts/{id}/reactivate', 'GET /accounts/{id}/otp', 'POST /accounts/{id}/otp',
        'GET /accounts/{id}/movements', 'POST /accounts/{id}/movements/{mid}/notify', 'POST /accounts/{id}/statements', 'GET /conciliation', 'GET /conciliation/{id}',
        'POST /conciliation/{id}/run', 'POST /conciliation/{id}/notify', 'POST /conciliation/{id}/resolve', 'POST /conciliation/poll/{accountId}',
        'POST /v1/accounts/{accountId}/otp', 'GET /v1/accounts/{accountId}/status',
      ]) expect(routes, route).to.include(route);
      expect(document.paths['/v1/accounts/{accountId}/otp']?.post?.responses).to.include.keys('202', '401', '403', '404');
    } finally {
      await api.close();
    }
  });
});
