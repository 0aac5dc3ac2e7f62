import { expect } from 'chai';
import { createBankRegistry } from '../../src/banks/registry.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { systemClock } from '../../src/domain/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
import { buildServices } from '../helpers/services.js';

describe('persistent bank sessions (real Chromium on the sandbox bank)', function () {
  this.timeout(90_000);
  const test = useTestDatabase('persistent');
  const f = useSandboxSessions(test, { persistentPollMs: 300, monitorTickMs: 200 });
  const stored = (accountId: string, amountMinor: number) => test.db.models.BankTransaction.findOne({ accountId, amountMinor }).lean();

  it('logs in once and sees a transaction injected while it runs; after a bank-side expiry it logs in again', async () => {
    const { id, username } = await f.account('Live', { settings: { session_type: 'persistent' } });
    await f.services.sessions.monitors.tick();
    await eventually(() => f.bank.stats(username).activeSessions === 1, 20_000, 'the first login');
    f.bank.addMovements(username, [{ at: new Date().toISOString(), amount: '77.70', sender: 'Diego' }]);
    await eventually(() => stored(id, 7770), 20_000, 'the injected transaction to be stored');
    expect(f.bank.stats(username).logins).to.equal(1);

    const before = f.bank.stats(username);
    f.bank.expireSessions(username);
    expect(f.bank.stats(username).activeSessions, JSON.stringify(before)).to.equal(0);
    f.bank.addMovements(username, [{ at: new Date().toISOString(), amount: '88.80', sender: 'Diego' }]);
    await eventually(() => stored(id, 8880), 20_000, 'a transaction after the re-login');
    expect(f.bank.stats(username).logins, f.capture.text().split('\n').filter((l) => /monitor|persistent/.test(l)).slice(-8).join('\n')).to.equal(2);
    expect(await test.db.models.BankTransaction.countDocuments({ accountId: id })).to.equal(2);
  });

  it('a one-shot run never overlaps a running monitor (same lease)', async () => {
    const result = await f.services.sessions.runner.runOneShot((await f.services.accounts.show(f.userId, 'Live')).id, 'manual');
    expect(result).to.deep.equal({ status: 'skipped', reason: 'busy' });
  });

  it('kill closes the browser session; reactivate starts it again', async () => {
    const { id } = await f.services.accounts.show(f.userId, 'Live');
    await f.services.sessions.control.setSessionState(f.userId, 'Live', 'stopped', 'test');
    await f.services.sessions.monitors.tick();
    await eventually(() => !f.services.sessions.monitors.running.includes(id), 20_000, 'the monitor to stop');
    expect(f.bank.stats('u-Live').activeSessions, 'logged out').to.equal(0);
    await f.services.sessions.control.setSessionState(f.userId, 'Live', 'running', null);
    await f.services.sessions.monitors.tick();
    await eventually(() => f.bank.stats('u-Live').activeSessions === 1, 20_000, 'a new login');
  });

  it('resumes after a restart of the service (another instance picks the session up)', async () => {
    const { id } = await f.services.accounts.show(f.userId, 'Live');
    await f.services.sessions.monitors.stop();
    expect(f.bank.stats('u-Live').activeSessions).to.equal(0);
    const restarted = buildServices(test.db, { clock: systemClock, log: f.capture.log, banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: f.bank.url }]), pool: f.pool, sent: f.sent, sessionSettings: { persistentPollMs: 300, monitorTickMs: 200, artifactsDir: f.artifactsDir } });
    try {
      await restarted.sessions.monitors.tick();
      expect(restarted.sessions.monitors.running).to.include(id);
      f.bank.addMovements('u-Live', [{ at: new Date().toISOString(), amount: '99.90', sender: 'Diego' }]);
      await eventually(() => stored(id, 9990), 20_000, 'a transaction seen by the resumed session');
    } finally {
      await restarted.sessions.monitors.stop();
    }
  });

  it('an assisted session that cannot log in is parked in needs_attention and told in chat', async () => {
    const { id } = await f.account('Parked', { otp: { length: 6, type: 'numeric' }, settings: { session_type: 'persistent', login_mode: 'assisted' } });
    const quick = buildServices(test.db, { clock: systemClock, log: f.capture.log, banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: f.bank.url }]), pool: f.pool, sent: f.sent, sessionSettings: { otpTimeoutMs: 1_000, persistentPollMs: 300, monitorTickMs: 200, artifactsDir: f.artifactsDir } });
    try {
      await quick.sessions.monitors.tick();
      const status = await eventually(async () => {
        const s = await quick.sessions.control.status(f.userId, 'Parked');
        return s.session?.state === 'needs_attention' ? s : undefined;
      }, 20_000, 'needs_attention');
      expect(status.session?.reason).to.equal('Nobody entered the bank code in time.');
      expect(status.view.scrapeBlockedAt, 'parked, not blocked').to.equal(null);
      await eventually(() => !quick.sessions.monitors.running.includes(id), 10_000, 'the parked monitor to end');
      expect(f.texts()).to.match(/The persistent session of "Parked" needs attention: Nobody entered the bank code in time\. When ready: \/recon account reactivate "Parked"/);
    } finally {
      await quick.sessions.monitors.stop();
    }
  });
});
