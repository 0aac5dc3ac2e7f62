import { expect } from 'chai';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';

describe('sandbox bank admin API (HTTP)', () => {
  let bank: SandboxBank;
  before(async () => {
    bank = createSandboxBank();
    await bank.start();
  });
  after(() => bank.stop());

  const post = (path: string, body: unknown) => fetch(`${bank.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('injects users and movements, and reads the current code "from the phone"', async () => {
    expect((await post('/sandbox/users', { username: 'api', password: 'pw', otp: { length: 4, type: 'alphanumeric' } })).status).to.equal(201);
    expect((await post('/sandbox/users/api/movements', [{ at: '2026-11-20T12:00:00Z', amount: '15.00', sender: 'Eva' }])).status).to.equal(201);
    const login = await fetch(`${bank.url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'api', password: 'pw' }), redirect: 'manual' });
    expect(login.status).to.equal(303);
    expect(login.headers.get('location')).to.equal('/otp');
    const { code } = (await (await fetch(`${bank.url}/sandbox/users/api/otp`)).json()) as { code: string };
    expect(code).to.match(/^[A-Z2-9]{4}$/);
    const stats = (await (await fetch(`${bank.url}/sandbox/users/api/stats`)).json()) as { logins: number };
    expect(stats.logins).to.equal(0);
  });

  it('switches layout and latency, and refuses unknown settings', async () => {
    expect((await post('/sandbox/config', { layout: 'modern', latencyMs: 5 })).status).to.equal(200);
    expect(bank.config).to.deep.include({ layout: 'modern', latencyMs: 5 });
    expect((await post('/sandbox/config', { colour: 'red' })).status).to.equal(400);
    await post('/sandbox/config', { layout: 'classic', latencyMs: 0 });
  });

  it('rejects bad movement input without storing it', async () => {
    const response = await post('/sandbox/users/api/movements', [{ at: 'yesterday', amount: '1' }]);
    expect(response.status).to.equal(400);
    expect((await (await fetch(`${bank.url}/sandbox/users/nobody/otp`)).json())).to.deep.equal({ error: 'no such user' });
  });
});
