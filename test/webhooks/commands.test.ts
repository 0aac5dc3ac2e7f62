import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter, type CommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import { matchedEvent } from '../../src/reconcile/result-events.js';
import type { Services } from '../../src/services.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, type SentMessage } from '../helpers/services.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

describe('webhook and notify commands (real database, real receiver)', function () {
  this.timeout(30_000);
  const test = useTestDatabase('whcmd');
  const capture = capturingLogger();
  const sent: SentMessage[] = [];
  const owner = identity('OWNER');
  let services: Services;
  let router: CommandRouter;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  async function run(text: string, place: 'dm' | 'channel' = 'dm') {
    const reply = await router.handle(commandIn(place, owner, text), scriptedForms([{ status: 'cancelled' }]));
    return reply.text + (reply.fields ?? []).map((f) => `\n${f.label}: ${f.value}`).join('');
  }

  before(async () => {
    receiver = await startReceiver(() => 200);
    services = buildServices(test.db, { clock: systemClock, log: capture.log, sent });
    services.webhooks.start();
    router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    expect(await run('setup Hooks Inc')).to.match(/Created "Hooks Inc"/);
  });

  after(async () => {
    await services?.webhooks.stop(5_000);
    await receiver?.close();
  });

  it('account add shows the signing secret once in private, never in a channel', async () => {
    const dm = await run('account add Main sandbox');
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(dm)?.[0];
    expect(secret, dm).to.be.a('string');
    const channel = await run('account add Shared sandbox', 'channel');
    expect(channel).not.to.match(/whsec_/);
    expect(channel).to.include('webhook secret "Shared"');
    expect(await run('webhook secret Shared', 'channel')).to.equal('The signing secret is shown only in a private chat with the bot; run this there.');
    const rotated = await run('webhook secret Shared');
    expect(rotated).to.match(/New signing secret for "Shared"[\s\S]*whsec_/);
    expect(capture.text()).not.to.include('whsec_');
  });

  it('webhook test, events and replay', async () => {
    expect(await run(`account set Main webhook_url=${receiver.url}/in`)).to.match(/webhook_url/);
    expect(await run('webhook test Main')).to.match(new RegExp(`^Test event to ${receiver.url.replace(/[.:/]/g, '\\$&')}/in for "Main": answered 200 in \\d+ ms\\. Deliveries will work\\.`));
    const account = await test.db.models.Account.findOne({ name: 'Main' }).lean();
    const request = { _id: 'req-1', accountId: account!._id, userId: account!.userId, externalId: 'A-1', amountMinor: 150000, currency: 'UYU', name: 'Juan Pérez' };
    const [event] = await services.reconcile.outbox.record([
      matchedEvent(request, 1, { transactionId: 'tx-1', amountMinor: 150000, currency: 'UYU', senderName: 'JUAN PEREZ', receivedAt: new Date(), score: 1, by: 'matcher', at: new Date() }, new Date()),
    ]);
    await eventually(() => receiver.received.find((r) => r.id === event!._id), 10_000, 'delivery');
    await eventually(async () => (await run('webhook events Main')).includes(`${event!._id} — conciliation.matched A-1 — delivered, 1 attempt(s), last 200`), 10_000, 'listed as delivered');
    expect(await run(`webhook replay ${event!._id.slice(0, 10)}`)).to.equal(`${event!._id} (conciliation.matched A-1) is queued for delivery again, same id.`);
    await eventually(() => receiver.received.filter((r) => r.id === event!._id).length === 2, 10_000, 'replayed delivery');
    expect(await run('webhook replay evt_nothere')).to.equal('No event "evt_nothere" on your accounts.');
    expect(await run('webhook replay 123')).to.match(/Name the event by its id/);
    expect(await run('webhook events Main state=bogus')).to.match(/state must be one of pending, delivered, failed, not_sent/);
  });

  it('webhook test shows the status and latency only: a receiver that echoes the request never shows our token in chat', async () => {
    const echo = await startEndpoint((request, res) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ youSent: request.headers })));
    try {
      const account = await test.db.models.Account.findOne({ name: 'Main' }).lean();
      await services.accounts.configure(account!.userId, account!._id, { webhook_url: `${echo.url}/echo`, webhook_auth_token: 'echoed-token-Q7' });
      const answer = await run('webhook test Main');
      expect(echo.requests.at(-1)?.headers.authorization, 'the receiver got our token').to.equal('Bearer echoed-token-Q7');
      expect(answer).to.match(/: answered 500 in \d+ ms\. Real deliveries would be retried\.$/);
      expect(answer).not.to.include('echoed-token-Q7');
      expect(answer).not.to.include('youSent');
      expect(capture.text()).not.to.include('echoed-token-Q7');
    } finally {
      await echo.close();
      const account = await test.db.models.Account.findOne({ name: 'Main' }).lean();
      await services.accounts.configure(account!.userId, account!._id, { webhook_url: `${receiver.url}/in`, webhook_auth_token: '' });
    }
  });

  it('notify here sends results to the channel as well as to operators', async () => {
    expect(await run('notify here', 'channel')).to.equal('Results and alerts will be posted here too. Stop with: notify off');
    expect(await run('notify here', 'channel')).to.equal('This place already receives results and alerts.');
    const account = await test.db.models.Account.findOne({ name: 'Main' }).lean();
    const request = { _id: 'req-2', accountId: account!._id, userId: account!.userId, externalId: 'B-2', amountMinor: 5000, currency: 'UYU', name: 'Ana' };
    await services.reconcile.outbox.record([matchedEvent(request, 1, { transactionId: 'tx-2', amountMinor: 5000, currency: 'UYU', senderName: 'ANA', receivedAt: new Date(), score: 1, by: 'matcher', at: new Date() }, new Date())]);
    const channelRef = commandIn('channel', owner, '').place.ref;
    const dmRef = commandIn('dm', owner, '').place.ref;
    await eventually(() => sent.find((s) => s.ref === channelRef && s.message.text.startsWith('Payment matched on "Main": B-2')), 5_000, 'channel notified');
    expect(sent.some((s) => s.ref === dmRef && s.message.text.startsWith('Payment matched on "Main": B-2'))).to.equal(true);
    expect(await run('notify off', 'channel')).to.equal('Results and alerts will no longer be posted here.');
  });
});
