import { expect } from 'chai';
import { systemClock } from '../../src/domain/clock.js';
import { parsePendingOrders } from '../../src/reconcile/pending-orders.js';
import { planPoll } from '../../src/reconcile/poll-plan.js';
import type { Services } from '../../src/services.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

type Order = { external_id: string | number; amount: number | string; currency: string; name: string };

/**
 * Webhooks carry the order's values as the customer's endpoint gave them: a numeric
 * external_id (108) comes back as 108, a string one ("A-7") as "A-7". 108 and "108" name the
 * same order (one request per account): an endpoint that changes how it writes an id must not
 * make a second request out of the first.
 */
describe('webhooks carry the order as polled (real endpoint, database and receiver)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('polled');
  const capture = capturingLogger();
  let orders: Order[] = [];
  let services: Services;
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let userId = '';
  let reference = 0;

  before(async () => {
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
    receiver = await startReceiver();
    services = buildServices(test.db, { clock: systemClock, log: capture.log });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Typed');
    userId = owner.userId;
    await services.users.setOperationMode(userId, 'reconcile');
    services.webhooks.start();
  });

  after(async () => {
    await services?.webhooks.stop(5_000);
    await endpoint?.close();
    await receiver?.close();
  });

  async function pay(accountId: string, amountMinor: number, sender: string) {
    const inserted = await services.sessions.transactions.ingest(
      accountId,
      'run',
      [{ amountMinor, currency: 'UYU', senderName: sender, receivedAt: new Date(), description: 'Transferencia', bankReference: `ref-${++reference}` }],
      true,
    );
    await services.reconcile.transactionsArrived(accountId, inserted);
  }

  const requests = (accountId: string) => test.db.models.ConciliationRequest.find({ accountId }).sort({ externalId: 1 }).lean<ConciliationRequestDoc[]>();

  it('parsing keeps the type of external_id; 108 and "108" in one response are one order listed twice', () => {
    const result = parsePendingOrders([
      { external_id: 108, amount: 10, currency: 'UYU', name: 'Ana' },
      { external_id: 'A-7', amount: 10, currency: 'UYU', name: 'Bea' },
      { external_id: '108', amount: 10, currency: 'UYU', name: 'Ana' },
    ]);
    expect(result.ok && result.orders.map((o) => [o.externalId, o.externalIdType])).to.deep.equal([
      ['108', 'number'],
      ['A-7', 'string'],
    ]);
    expect(result.ok && result.skipped).to.deep.equal([{ index: 2, externalId: '108', reason: 'external_id appears more than once in the response' }]);
    // A number JSON cannot carry exactly is not taken for another order's id.
    const big = parsePendingOrders(JSON.parse('[{"external_id": 12345678901234567890, "amount": 10, "currency": "UYU", "name": "Ana"}]'));
    expect(big.ok && big.orders).to.deep.equal([]);
    expect(big.ok && big.skipped[0]?.reason).to.equal('external_id 12345678901234567000 is too large to be read exactly as a number; send it as a string');
  });

  it('the poll plan: an order written the other way (108 ↔ "108") is the same order, retyped, not created again', () => {
    const known = { id: 'r-108', externalId: '108', externalIdType: 'number' as const, status: 'not_found' as const, amountMinor: 1000, currency: 'UYU', name: 'Ana', listedLastPoll: true };
    const plan = planPoll([known], [{ externalId: '108', externalIdType: 'string', amountMinor: 1000, currency: 'UYU', name: 'Ana' }], { lastCount: 1, emptyHeld: false });
    expect(plan).to.deep.include({ create: [], update: [], cancel: [], reopen: [], retype: [{ id: 'r-108', externalIdType: 'string' }] });
    const same = planPoll([known], [{ externalId: '108', externalIdType: 'number', amountMinor: 1000, currency: 'UYU', name: 'Ana' }], { lastCount: 1, emptyHeld: false });
    expect(same.retype).to.deep.equal([]);
  });

  it('a numeric external_id comes back as a number, a string one as a string', async () => {
    const created = await services.accounts.create(userId, { name: 'Shop', bank: 'sandbox' });
    await services.accounts.configure(userId, created.id, { pending_orders_endpoint: `${endpoint.url}/orders`, webhook_url: `${receiver.url}/hook` });
    orders = [
      { external_id: 108, amount: 1500, currency: 'UYU', name: 'Ana Gómez' },
      { external_id: 'A-7', amount: 70, currency: 'UYU', name: 'Bea Ruiz' },
    ];
    expect(await services.reconcile.poller.pollAccount(created.id)).to.deep.include({ ok: true, created: 2 });
    await pay(created.id, 150000, 'ANA GOMEZ');
    await pay(created.id, 7000, 'BEA RUIZ');
    await eventually(() => receiver.received.length >= 2, 10_000, 'two matched webhooks');
    const bodies = receiver.received.map((r) => r.body);
    expect(bodies).to.include('{"external_id":108,"status":"matched","amount":1500,"currency":"UYU","name":"Ana Gómez"}');
    expect(bodies).to.include('{"external_id":"A-7","status":"matched","amount":70,"currency":"UYU","name":"Bea Ruiz"}');
  });

  it('108 then "108" is the same order: no second request, and its webhook follows the latest poll', async () => {
    const created = await services.accounts.create(userId, { name: 'Switcher', bank: 'sandbox' });
    await services.accounts.configure(userId, created.id, { pending_orders_endpoint: `${endpoint.url}/orders2`, webhook_url: `${receiver.url}/hook2` });
    orders = [{ external_id: 108, amount: 20, currency: 'UYU', name: 'Carla Paz' }];
    await services.reconcile.poller.pollAccount(created.id);
    orders = [{ external_id: '108', amount: 20, currency: 'UYU', name: 'Carla Paz' }];
    expect(await services.reconcile.poller.pollAccount(created.id)).to.deep.include({ ok: true, created: 0, cancelled: 0 });
    const stored = await requests(created.id);
    expect(stored.map((r) => [r.externalId, r.externalIdType, r.status])).to.deep.equal([['108', 'string', 'not_found']]);
    const before = receiver.received.length;
    await pay(created.id, 2000, 'CARLA PAZ');
    const delivery = await eventually(() => receiver.received[before], 10_000, 'the matched webhook');
    expect(delivery.json).to.deep.include({ external_id: '108', status: 'matched' });
    expect(await requests(created.id)).to.have.length(1);
  });
});
