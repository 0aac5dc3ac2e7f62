import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../../src/paths.js';
import { testServerUri, useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';

const run = promisify(execFile);

describe('assisted login (OTP) on the sandbox bank', function () {
  this.timeout(90_000);
  const test = useTestDatabase('assisted');
  const f = useSandboxSessions(test, { otpTimeoutMs: 20_000, otpMaxRejected: 3 });
  const seenCodes: string[] = [];

  async function waitForPrompt(accountId: string, attempts = 0) {
    return eventually(async () => {
      const pending = await f.services.sessions.assistance.pending(accountId);
      return pending && pending.attempts === attempts ? pending : undefined;
    }, 20_000, `a pending code request (attempts ${attempts})`);
  }

  function currentCode(username: string): string {
    const code = f.bank.currentOtp(username);
    if (!code) throw new Error('the bank has no current code');
    seenCodes.push(code);
    return code;
  }

  it('completes with a code submitted while the login waits, after telling operators what is needed', async () => {
    const { id, username } = await f.account('Assisted', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    f.bank.addMovements(username, [{ at: new Date(Date.now() - 60_000).toISOString(), amount: '2500.00', sender: 'Lucía' }]);
    const session = f.services.sessions.runner.runOneShot(id, 'manual');
    const pending = await waitForPrompt(id);
    expect(pending.descriptor).to.deep.equal({ length: 6, type: 'numeric', purpose: 'login' });
    // The request is stored first, then announced: wait for the announcement itself.
    const prompt = await eventually(() => f.sent.find((s) => s.message.text.startsWith('Bank code needed for account "Assisted"')), 10_000, 'the prompt');
    expect(prompt?.ref).to.equal('console:local');
    expect(prompt?.message.text).to.match(/\(sandbox\): a 6-character numeric \(digits only\) code, before \d{2}:\d{2} UTC\. Reply with: \/recon otp "Assisted" <code>/);

    try {
      await f.services.sessions.assistance.submit(id, '12ab', 'op');
      expect.fail('a code of the wrong shape');
    } catch (error) {
      expect((error as Error).message).to.equal("That does not look like the bank's code: it expects a 6-character numeric (digits only) code.");
    }
    await f.services.sessions.assistance.submit(id, currentCode(username), 'op');
    const result = await session;
    expect(result).to.deep.include({ status: 'ok', inserted: 1 });
    expect(await f.services.sessions.assistance.pending(id)).to.equal(null);
    const stored = await test.db.models.AssistanceRequest.findOne({ accountId: id }).lean();
    expect(stored).to.deep.include({ status: 'fulfilled', attempts: 0 });
    expect(stored).not.to.have.property('sealedCode');
    expect(f.texts()).to.match(/The bank accepted the code for "Assisted"/);
  });

  it('prompts every operator on every platform; the code one of them gives closes every prompt', async () => {
    const { code: invite } = await f.services.users.createInvite(f.owner, 'operator');
    const bruno = await f.services.users.redeemInvite({ platform: 'telegram', teamId: 'telegram', userId: '42', displayName: 'Bruno' }, invite);
    await f.services.users.rememberDm(bruno.id, 'telegram:42');
    const { id, username } = await f.account('Everyone', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    const session = f.services.sessions.runner.runOneShot(id, 'manual');
    await waitForPrompt(id);
    const prompts = await eventually(async () => {
      const stored = await test.db.models.AssistanceRequest.findOne({ accountId: id, status: 'pending' }).lean();
      return stored?.prompts?.length === 2 ? stored.prompts : undefined;
    }, 10_000, 'both prompts stored with the request');
    expect(prompts.map((ref) => ref.split('#')[0]).sort()).to.deep.equal(['console:local', 'telegram:42']);
    await f.services.sessions.assistance.submit(id, currentCode(username), `telegram:${bruno.id}`);
    expect(await session).to.deep.include({ status: 'ok' });
    const edits = await eventually(() => (f.edited.filter((e) => prompts.includes(e.ref)).length === 2 ? f.edited.filter((e) => prompts.includes(e.ref)) : undefined), 10_000, 'both prompts edited');
    for (const edit of edits) expect(edit.text).to.equal('Bank code for account "Everyone": answered (given on telegram) and accepted by the bank. Nothing more to do.');
  });

  it('a request left pending by a crashed process is closed and its prompts edited before the next login asks', async () => {
    const { id, username } = await f.account('Crashed', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    const stale = await test.db.models.AssistanceRequest.create({ accountId: id, descriptor: { length: 6, type: 'numeric', purpose: 'login' }, attempts: 0, status: 'pending', pendingFor: id, prompts: ['console:local#old-prompt'], expiresAt: new Date(Date.now() + 60_000) });
    const session = f.services.sessions.runner.runOneShot(id, 'manual');
    // A new pending request, not merely none: between the stale one's close and its prompts'
    // edit nothing is pending, and the new one is opened only after both.
    await eventually(async () => {
      const current = await f.services.sessions.assistance.pending(id);
      return current && current.id !== stale._id ? current : undefined;
    }, 20_000, 'a new request');
    const closed = await test.db.models.AssistanceRequest.findById(stale._id).lean();
    expect(closed).to.deep.include({ status: 'cancelled', reason: 'superseded', prompts: [] });
    expect(f.edited.find((e) => e.ref === 'console:local#old-prompt')?.text).to.match(/^Bank code for account "Crashed": the login waiting for it was interrupted/);
    await waitForPrompt(id);
    await f.services.sessions.assistance.submit(id, currentCode(username), 'console:op');
    expect(await session).to.deep.include({ status: 'ok' });
  });

  it('completes with a code stored by another process', async () => {
    const { id, username } = await f.account('OtherProcess', { otp: { length: 8, type: 'alphanumeric' }, settings: { login_mode: 'assisted' } });
    const session = f.services.sessions.runner.runOneShot(id, 'manual');
    await waitForPrompt(id);
    const uri = new URL(testServerUri());
    uri.pathname = `/${test.db.connection.name}`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/submit-otp.ts'), uri.toString(), id, currentCode(username)], { cwd: projectRoot });
    expect(stdout.trim()).to.equal('submitted');
    expect((await session).status).to.equal('ok');
  });

  it('a rejected code asks again, then an accepted one logs in', async () => {
    const { id, username } = await f.account('Retry', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    const session = f.services.sessions.runner.runOneShot(id, 'manual');
    await waitForPrompt(id, 0);
    const right = currentCode(username);
    await f.services.sessions.assistance.submit(id, right === '000000' ? '111111' : '000000', 'op');
    await waitForPrompt(id, 1);
    await eventually(() => /The bank rejected the code for "Retry" \(1 rejected so far\)/.test(f.texts()), 10_000, 'the rejection message');
    await f.services.sessions.assistance.submit(id, currentCode(username), 'op');
    expect((await session).status).to.equal('ok');
    expect(await test.db.models.AssistanceRequest.findOne({ accountId: id }).lean()).to.deep.include({ status: 'fulfilled', attempts: 1 });
  });

  it('no code in time → the request expires and the login fails (fatal, skip-on-fatal)', async () => {
    const quick = useSandboxSessionsQuick();
    const { id } = await quick.account();
    const result = await quick.run(id);
    expect(result).to.deep.include({ status: 'failed', kind: 'otp_timeout', fatal: true });
    expect(await test.db.models.AssistanceRequest.findOne({ accountId: id }).lean()).to.deep.include({ status: 'expired' });
    expect((await f.services.accounts.show(f.userId, id)).scrapeBlockedReason).to.equal('Nobody entered the bank code in time.');
    await eventually(() => /No code arrived in time for "Timeout"; the login failed\./.test(f.texts()), 10_000, 'the expiry message');
  });

  // The 5-per-10-minutes limit itself: test/sessions/otp-quota.test.ts.
  it('codes sent while no login waits are refused and use up no quota', async () => {
    const { id } = await f.account('RateLimited', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await f.services.sessions.assistance.submit(id, '123456', 'op');
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as Error).message);
      }
    }
    expect(outcomes).to.deep.equal(Array(6).fill('No bank code is being waited for on this account.'));
    expect((await test.db.models.Account.findById(id).lean())?.otpSubmissions).to.deep.equal([]);
  });

  it('never logged or sent a code', () => {
    expect(seenCodes.length).to.be.greaterThan(3);
    const everything = f.capture.text() + f.texts();
    for (const code of seenCodes) expect(everything).not.to.include(code);
  });

  /** The timeout case needs a short OTP wait: same database and bank, its own assistance timeout. */
  function useSandboxSessionsQuick() {
    return {
      async account() {
        return f.account('Timeout', { otp: { length: 6, type: 'numeric' }, settings: { login_mode: 'assisted' } });
      },
      async run(accountId: string) {
        const { buildServices } = await import('../helpers/services.js');
        const { createBankRegistry } = await import('../../src/banks/registry.js');
        const { sandboxDriver } = await import('../../src/banks/sandbox/driver.js');
        const { systemClock } = await import('../../src/domain/clock.js');
        const services = buildServices(test.db, {
          clock: systemClock,
          log: f.capture.log,
          banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: f.bank.url }]),
          pool: f.pool,
          sent: f.sent,
          sessionSettings: { otpTimeoutMs: 1_500, artifactsDir: f.artifactsDir },
        });
        return services.sessions.runner.runOneShot(accountId, 'manual');
      },
    };
  }
});
