import { expect } from 'chai';
import { systemClock } from '../../src/domain/clock.js';
import { createBrowserPool } from '../../src/sessions/browser-pool.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
import { buildServices } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/** Real bank sessions (Chromium on the sandbox bank) → the notification endpoint, for subscribed events only. */
describe('notification endpoint events from real bank sessions', function () {
  this.timeout(90_000);
  const test = useTestDatabase('sessnotif');
  const f = useSandboxSessions(test, { otpTimeoutMs: 15_000 });
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    receiver = await startReceiver();
    f.services.webhooks.start();
  });

  after(async () => {
    await f.services?.webhooks.stop(5_000);
    await receiver?.close();
  });

  it('a rejected password → login_failed; a bank code request → assistance_required; an unsubscribed type → nothing', async () => {
    const endpoint = { notification_endpoint_url: `${receiver.url}/ops`, notification_auth_token: 'ops-secret-77' };
    const wrong = await f.account('WrongPw', { settings: { ...endpoint, notification_events: ['login_failed'] } });
    await f.services.accounts.configure(f.userId, wrong.id, { bank_password: 'not-the-password' });
    expect(await f.services.sessions.runner.runOneShot(wrong.id, 'manual')).to.deep.include({ status: 'failed', kind: 'invalid_credentials' });
    const failed = await eventually(() => receiver.received.find((r) => (r.json as { account_id?: string }).account_id === wrong.id), 15_000, 'login_failed delivered');
    expect(failed.json).to.deep.include({ account_id: wrong.id, type: 'login_failed', status: 'login.failed', error: 'The bank rejected the username or password.' });
    expect(failed.authorization).to.equal('Bearer ops-secret-77');

    const assisted = await f.account('Assisted', { otp: { length: 6, type: 'numeric' }, settings: { ...endpoint, login_mode: 'assisted', notification_events: ['assistance_required'] } });
    const session = f.services.sessions.runner.runOneShot(assisted.id, 'manual');
    const asked = await eventually(() => receiver.received.find((r) => (r.json as { account_id?: string }).account_id === assisted.id), 15_000, 'assistance_required delivered');
    expect(asked.json).to.deep.include({ type: 'assistance_required', status: 'assistance.requested' });
    const code = f.bank.currentOtp(assisted.username);
    await f.services.sessions.assistance.submit(assisted.id, code as string, 'op');
    expect(await session).to.deep.include({ status: 'ok' });

    const quiet = await f.account('Quiet', { settings: { ...endpoint, notification_events: ['scrape_failed'] } });
    await f.services.accounts.configure(f.userId, quiet.id, { bank_password: 'wrong-again' });
    await f.services.sessions.runner.runOneShot(quiet.id, 'manual');
    expect(await test.db.models.OutboxEvent.countDocuments({ accountId: quiet.id }), 'login_failed is not subscribed').to.equal(0);
    expect(receiver.received.filter((r) => (r.json as { account_id?: string }).account_id === quiet.id)).to.have.length(0);
    expect(f.capture.text()).not.to.include('ops-secret-77');
  });
});

/**
 * The notification endpoint's event is recorded before the chat notice is sent: a chat
 * platform that takes its time (bounded retries run up to half a minute per person) must
 * neither delay it nor, if the process dies meanwhile, lose it. No browser is needed: a
 * Chromium that cannot start fails the session at launch (scrape_failed).
 */
describe('notification events are recorded before the chat notice is sent', function () {
  this.timeout(60_000);
  const test = useTestDatabase('sessnotiforder');

  it('a failed session whose chat notice hangs still has its scrape_failed event at once', async () => {
    const capture = capturingLogger();
    const hanging: (() => void)[] = [];
    let holding = true;
    const services = buildServices(test.db, {
      clock: systemClock,
      log: capture.log,
      pool: createBrowserPool({ executablePath: '/nonexistent/chromium', maxContexts: 1, log: capture.log }),
      send: () => (holding ? new Promise<undefined>((resolve) => hanging.push(() => resolve(undefined))) : Promise.resolve(undefined)),
    });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Order');
    await services.users.rememberDm(owner.id, 'console:local');
    const account = await services.accounts.create(owner.userId, { name: 'NoBrowser', bank: 'sandbox' });
    await services.accounts.configure(owner.userId, account.id, { bank_username: 'u', bank_password: 'p', notification_endpoint_url: 'http://127.0.0.1:9/ops', notification_events: ['scrape_failed'] });
    const run = services.sessions.runner.runOneShot(account.id, 'manual');
    try {
      await eventually(() => hanging.length > 0, 20_000, 'the failure notice on its way to chat');
      await eventually(async () => (await test.db.models.OutboxEvent.countDocuments({ accountId: account.id, type: 'notification.scrape_failed' })) === 1, 5_000, 'the event recorded while the chat notice is still being sent');
    } finally {
      holding = false;
      for (const release of hanging.splice(0)) release();
    }
    expect(await run).to.deep.include({ status: 'failed', kind: 'browser_failed' });
  });
});
