import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';

function isoMinutesAgo(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

describe('one-shot bank sessions (real Chromium on the sandbox bank)', function () {
  this.timeout(90_000);
  const test = useTestDatabase('oneshot');
  const f = useSandboxSessions(test, { otpTimeoutMs: 15_000 });

  it('reads N injected transactions exactly once across 3 runs (identical same-day transfers stay two)', async () => {
    const { id, username } = await f.account('Exact');
    const movements = Array.from({ length: 30 }, (_, i) => ({ at: isoMinutesAgo(30 + i * 90), amount: `${100 + i}.50`, sender: i % 3 === 0 ? null : `Pagador Ñúñez ${i}`, reference: i % 2 ? `R${i}` : null }));
    movements.push({ ...movements[1]! }); // a second, identical transfer
    f.bank.addMovements(username, movements);
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await f.services.sessions.runner.runOneShot(id, 'manual'));
    expect(runs.map((r) => r.status), JSON.stringify(await f.services.sessions.control.failures(f.userId, { account: 'Exact', limit: 3 }))).to.deep.equal(['ok', 'ok', 'ok']);
    expect(runs.map((r) => (r.status === 'ok' ? r.inserted : -1))).to.deep.equal([31, 0, 0]);
    expect(await f.services.sessions.transactions.count(id)).to.equal(31);
    const stored = await f.services.sessions.transactions.recent(id, { limit: 100, offset: 0 });
    expect(stored.find((t) => t.amountMinor === 10150 && t.senderName === 'Pagador Ñúñez 1')).to.deep.include({ currency: 'UYU', description: 'Transferencia recibida' });
    expect(stored.filter((t) => t.amountMinor === 10150)).to.have.length(2);
    expect(f.bank.stats(username).activeSessions, 'every session logged out').to.equal(0);
  });

  it('wrong password → fatal: blocked, no more runs, restart clears it', async () => {
    const { id, username } = await f.account('WrongPw');
    await f.services.accounts.configure(f.userId, id, { bank_password: 'not-the-password' });
    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result).to.deep.include({ status: 'failed', kind: 'invalid_credentials', fatal: true });
    const view = await f.services.accounts.show(f.userId, id);
    expect(view.scrapeBlockedAt).to.be.instanceOf(Date);
    expect(view.scrapeBlockedReason).to.equal('The bank rejected the username or password.');
    expect(f.texts()).to.match(/Scraping of "WrongPw" is stopped: The bank rejected the username or password\. Fix the cause, then: \/recon account restart "WrongPw"/);
    const loginsBefore = f.bank.stats(username).failedLogins;
    expect(await f.services.sessions.runner.runOneShot(id, 'schedule')).to.deep.equal({ status: 'skipped', reason: 'blocked' });
    expect(await f.services.sessions.control.queueDue()).to.equal(0);
    expect(f.bank.stats(username).failedLogins, 'no further login attempt').to.equal(loginsBefore);

    await f.services.accounts.configure(f.userId, id, { bank_password: `pw-WrongPw-Ñ1` });
    await f.services.sessions.control.restart(f.userId, 'WrongPw');
    expect((await f.services.accounts.show(f.userId, id)).scrapeBlockedAt).to.equal(null);
    expect((await f.services.sessions.runner.runOneShot(id, 'manual')).status).to.equal('ok');
  });

  it('detects a bank lockout', async () => {
    const { id, username } = await f.account('Locked');
    for (let i = 0; i < 3; i++) await fetch(`${f.bank.url}/login`, { method: 'POST', body: new URLSearchParams({ username, password: 'guess' }) });
    expect(f.bank.stats(username).locked).to.equal(true);
    const result = await f.services.sessions.runner.runOneShot(id, 'manual');
    expect(result).to.deep.include({ status: 'failed', kind: 'account_blocked', fatal: true });
    expect((await f.services.accounts.show(f.userId, id)).scrapeBlockedReason).to.match(/access is blocked/);
  });

  it('layout change → layout_changed with a screenshot, retried with back-off', async () => {
    const { id, username } = await f.account('Layout');
    f.bank.addMovements(username, [{ at: isoMinutesAgo(5), amount: '10.00', sender: 'Ana' }]);
    f.bank.setConfig({ layout: 'modern' });
    try {
      const started = Date.now();
      const result = await f.services.sessions.runner.runOneShot(id, 'manual');
      expect(result).to.deep.include({ status: 'failed', kind: 'layout_changed', fatal: false });
      const [failure] = await f.services.sessions.control.failures(f.userId, { account: 'Layout', limit: 1 });
      expect(failure).to.deep.include({ outcome: 'layout_changed', stage: 'read', fatal: false });
      expect(failure?.url).to.equal(`${f.bank.url}/movements`);
      expect(failure?.screenshot).to.be.a('string');
      expect(existsSync(failure!.screenshot!)).to.equal(true);
      expect(path.basename(failure!.screenshot!)).to.match(/^[0-9a-f-]{36}-read\.png$/);
      const status = await f.services.sessions.control.status(f.userId, 'Layout');
      expect(status.view.scrapeBlockedAt).to.equal(null);
      expect(status.scrape?.failures).to.equal(1);
      expect(status.scrape?.nextRunAt?.getTime()).to.be.greaterThan(started + 30_000);
      expect(f.sent.some((s) => s.message.image?.path === failure!.screenshot)).to.equal(true);
    } finally {
      f.bank.setConfig({ layout: 'classic' });
    }
  });

  it('an unreachable bank is transient (bank_unavailable), never fatal', async () => {
    const { id } = await f.account('Down');
    await f.bank.stop();
    try {
      const result = await f.services.sessions.runner.runOneShot(id, 'manual');
      expect(result).to.deep.include({ status: 'failed', kind: 'bank_unavailable', fatal: false });
    } finally {
      const port = Number(new URL(f.bank.url).port);
      // Same port again, so the registry's URL stays right.
      const { createSandboxBank } = await import('../../src/banks/sandbox/bank-server.js');
      const restarted = createSandboxBank({ port });
      await restarted.start();
      f.bank = restarted;
    }
  });

  it('queues due accounts once, and says so when a scrape is already queued', async () => {
    const enqueued: string[] = [];
    const { createSessionControl } = await import('../../src/sessions/control.js');
    const { createLeaseManager } = await import('../../src/sessions/lease.js');
    const { systemClock } = await import('../../src/domain/clock.js');
    const control = createSessionControl({
      models: test.db.models,
      accounts: f.services.accounts,
      leases: createLeaseManager({ models: test.db.models, clock: systemClock }),
      clock: systemClock,
      log: f.capture.log,
      enqueue: async (accountId) => void enqueued.push(accountId),
      staleQueueMs: 60_000,
    });
    const { id } = await f.account('Queue');
    await control.requestScrape(f.userId, 'Queue');
    try {
      await control.requestScrape(f.userId, 'Queue');
      expect.fail('second request');
    } catch (error) {
      expect((error as Error).message).to.match(/already queued or running/);
    }
    await control.queueDue();
    expect(enqueued.filter((a) => a === id)).to.have.length(1);
  });

  it('kept no secret in logs, chat messages or screenshot names', async () => {
    const everything = f.capture.text() + f.texts();
    for (const secret of ['pw-Exact-Ñ1', 'pw-WrongPw-Ñ1', 'not-the-password', 'pw-Layout-Ñ1']) expect(everything).not.to.include(secret);
    for (const file of readdirSync(f.artifactsDir, { recursive: true }) as string[]) expect(file).not.to.match(/pw-/);
    await eventually(() => f.pool.openContexts === 0, 5_000, 'contexts closed');
  });
});
