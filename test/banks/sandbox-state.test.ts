import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { seedDemo } from '../../src/banks/sandbox/demo.js';
import { restoreSandboxState, saveSandboxState } from '../../src/banks/sandbox/state-file.js';
import { localDayIn } from '../../src/banks/time-zone.js';
import { readRange } from '../../src/sessions/day-range.js';

/** The sandbox bank as the service runs it: every change written to its file, restored at the next start. */
function kept(file: string): SandboxBank {
  return createSandboxBank({ onChange: (state) => saveSandboxState(state, file) });
}

async function login(bank: SandboxBank, username: string, password: string): Promise<string | null> {
  const response = await fetch(`${bank.url}/login`, { method: 'POST', body: new URLSearchParams({ username, password }), redirect: 'manual' });
  return response.headers.get('location');
}

describe('sandbox bank kept in a file (the service restarted)', () => {
  const started: SandboxBank[] = [];
  const start = async (bank: SandboxBank) => {
    started.push(bank);
    await bank.start();
    return bank;
  };
  after(async () => {
    for (const bank of started) await bank.stop();
  });

  it('a user and movements added through the admin API are there after a restart, with the same times', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rb-sandbox-state-')), 'sandbox-bank.json');
    const first = await start(kept(file));
    expect(restoreSandboxState(first, file)).to.deep.equal({ restored: false });
    const post = (route: string, body: unknown) => fetch(`${first.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/sandbox/users', { username: 'ana', password: 'pw-ana', otp: { length: 4, type: 'numeric' } })).status).to.equal(201);
    expect((await post('/sandbox/users/ana/movements', [{ at: '2026-11-20T12:00:00Z', amount: '15.00', sender: 'Eva' }])).status).to.equal(201);
    const before = first.exportState();
    await first.stop();

    const second = await start(kept(file));
    expect(restoreSandboxState(second, file)).to.deep.equal({ restored: true });
    expect(second.exportState()).to.deep.equal(before);
    // The restored user logs in (and is asked its code), as it did before the restart.
    expect(await login(second, 'ana', 'pw-ana')).to.equal('/otp');
    expect(await login(second, 'ana', 'wrong')).to.equal(null);
    // Only the owner may read it: it holds the sandbox users' passwords.
    expect(statSync(file).mode & 0o777).to.equal(0o600);
  });

  it('a file that cannot be read is moved aside, and the bank starts empty with one sentence saying why', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rb-sandbox-state-')), 'sandbox-bank.json');
    writeFileSync(file, '{"version":1,"users":[{"username":');
    const bank = await start(kept(file));
    expect(restoreSandboxState(bank, file)).to.deep.equal({ restored: false, problem: 'sandbox-bank.json could not be read (not JSON); it was moved to sandbox-bank.json.unreadable' });
    expect(existsSync(`${file}.unreadable`)).to.equal(true);
    expect(bank.exportState().users).to.deep.equal([]);
    writeFileSync(file, JSON.stringify({ version: 1, users: [{ username: 'x', password: 'y', movements: [{ at: 'yesterday', amount: '1', id: 'm' }] }] }));
    expect(restoreSandboxState(bank, file)).to.deep.include({ problem: 'sandbox-bank.json could not be read (not a sandbox state); it was moved to sandbox-bank.json.unreadable' });
  });
});

describe('sandbox demo users', () => {
  it('whatever the hour they are seeded, all five movements are in the past and inside an account first read', () => {
    // Seeded at 00:42 UTC (21:42 in Montevideo), "today's" transfers at 13:05 and 14:40 were still to come.
    for (let hour = 0; hour < 24; hour++) {
      const now = new Date(Date.UTC(2026, 11, 2, hour, 42));
      const bank = createSandboxBank();
      seedDemo(bank, now);
      const range = readRange(now, bank.config.timeZone, null, 3);
      for (const user of bank.exportState().users) {
        expect(user.movements, user.username).to.have.length(5);
        for (const movement of user.movements) {
          expect(Date.parse(movement.at), `${movement.at} seeded at ${now.toISOString()}`).to.be.lessThan(now.getTime());
          const day = localDayIn(new Date(movement.at), bank.config.timeZone);
          expect(day >= range.from && day <= range.to, `${day} in ${range.from}..${range.to}`).to.equal(true);
        }
      }
    }
  });
});
