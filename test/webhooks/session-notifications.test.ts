import { expect } from 'chai';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useSandboxSessions } from '../helpers/sandbox-fixture.js';
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
