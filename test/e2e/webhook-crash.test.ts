import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { movementEvent } from '../../src/reconcile/result-events.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';
import { buildServices, TEST_KEY } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/**
 * The service is killed with SIGKILL while a delivery is in flight (the receiver holds the
 * request), then started again: every event reaches the receiver at least once, a repeat
 * only ever carries the same webhook-id and body, and every delivery verifies.
 */
describe('webhooks survive kill -9 during a delivery', function () {
  this.timeout(180_000);
  let db: Database;
  let uri: string;
  const processes: ServiceProcess[] = [];

  before(async () => {
    uri = freshDatabaseUri('whcrash');
    db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
  });

  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await db?.connection.dropDatabase();
    await db?.close();
  });

  it('delivers every event at least once, duplicates only with the same id', async () => {
    let hold = true;
    const receiver = await startReceiver((_delivery, index) => (hold && index === 2 ? 'hang' : 200));
    try {
      const core = buildServices(db, { clock: systemClock });
      const owner = await core.users.createTenant({ platform: 'console', teamId: 'local', userId: 'x', displayName: 'X' }, 'Crash');
      await core.users.setOperationMode(owner.userId, 'passthrough');
      const account = await core.accounts.create(owner.userId, { name: 'Main', bank: 'sandbox' });
      await core.accounts.configure(owner.userId, account.id, { webhook_url: `${receiver.url}/hook` });
      const events = [];
      for (let i = 0; i < 8; i++) {
        const tx = { id: `tx-${i}`, accountId: account.id, amountMinor: 1000 + i, currency: 'UYU', senderName: `Payer ${i}`, receivedAt: new Date(), description: '', bankReference: null, firstSeenAt: new Date(), usedBy: null };
        events.push(...(await core.reconcile.outbox.record([movementEvent(tx, owner.userId, new Date())])));
      }
      const env = {
        MONGODB_URI: uri,
        SECRET_KEYS: `${TEST_KEY.id}:${TEST_KEY.key.toString('base64')}`,
        SANDBOX_BANK: 'off',
        CHAT_CONSOLE: 'off',
        ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_TIMEOUT_SECONDS: '2',
        WEBHOOK_RETRY_SCHEDULE: '1,1,86400', // quick retries; the span must still reach 24 h (config refuses less)
      };
      const first = startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-crash-a-')) });
      processes.push(first);
      await eventually(() => receiver.received.length >= 3, 60_000, 'the third delivery in flight');
      first.child.kill('SIGKILL');
      await first.exited;
      hold = false;
      const inFlight = receiver.received[2]!.id;

      const second = startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-crash-b-')) });
      processes.push(second);
      await eventually(async () => (await db.models.OutboxEvent.countDocuments({ 'webhook.state': 'delivered' })) === events.length, 90_000, 'every event delivered');
      second.child.kill('SIGTERM');
      await second.exited;

      const ids = events.map((e) => e._id);
      const received = receiver.received.map((r) => r.id);
      expect([...new Set(received)].sort()).to.deep.equal([...ids].sort());
      expect(received.filter((id) => id === inFlight).length, 'the interrupted one was sent again').to.be.at.least(2);
      for (const delivery of receiver.received) {
        expect(ids).to.include(delivery.id);
        expect(receiver.verify(delivery, account.signingSecret)).to.be.an('object');
        const same = receiver.received.filter((r) => r.id === delivery.id);
        expect(new Set(same.map((r) => r.body)).size, `one body per id (${delivery.id})`).to.equal(1);
      }
      // In creation order: the first arrival of each id follows the events' order.
      expect(received.filter((id, i) => received.indexOf(id) === i)).to.deep.equal(ids);
    } finally {
      await receiver.close();
    }
  });
});
