import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { projectRoot } from '../../src/paths.js';
import { movementEvent } from '../../src/reconcile/result-events.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import { rotateSealedValues, SEALED_FIELDS } from '../../src/store/sealed-fields.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { dumpDatabase, freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { buildServices } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const OLD = { id: 'old', key: Buffer.alloc(32, 11) };
const NEW = { id: 'new', key: Buffer.alloc(32, 22) };

/** Every key id named by a sealed value in the dump (`enc:v1:<key id>:…`). */
function keyIdsIn(dump: string): string[] {
  return [...dump.matchAll(/enc:v1:([A-Za-z0-9_-]+):/g)].map((m) => m[1] as string);
}

describe('sealed fields: one registry, and rotate-secrets re-seals every one of them (real database)', function () {
  this.timeout(60_000);
  let uri = '';
  let db: Database;

  before(async () => {
    uri = freshDatabaseUri('sealed');
    db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
  });
  after(async () => {
    await db?.connection.dropDatabase();
    await db?.close();
  });

  it('after rotation every sealed value in the database names the new key, and webhooks still verify with the old key gone', async () => {
    const receiver = await startReceiver();
    const before = buildServices(db, { clock: systemClock, secrets: createSecretBox([OLD]) });
    const owner = await before.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Keys');
    await before.users.setOperationMode(owner.userId, 'passthrough');
    const account = await before.accounts.create(owner.userId, { name: 'Main', bank: 'sandbox' });
    await before.accounts.configure(owner.userId, account.id, {
      webhook_url: `${receiver.url}/hook`,
      bank_password: 'bank-pw-1',
      auth_token: 'poll-tok-2',
      webhook_auth_token: 'hook-tok-3',
      notification_auth_token: 'note-tok-4',
    });
    // A rotated signing secret: the new one and the retiring one both sign during the grace period.
    const { secret: signing } = await before.webhooks.rotateSecret(owner.userId, 'Main');
    const other = await before.accounts.create(owner.userId, { name: 'Other', bank: 'sandbox' });
    // A bank code submitted and not yet taken by its login.
    await db.models.AssistanceRequest.create({ accountId: other.id, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: other.id, expiresAt: new Date(Date.now() + 600_000) });
    await before.sessions.assistance.submit(other.id, '123456', 'console:op');

    const sealedBefore = keyIdsIn(await dumpDatabase(uri));
    // 4 settings secrets, 2 + 1 signing secrets, 1 code.
    expect(sealedBefore).to.have.length(8);
    expect(new Set(sealedBefore)).to.deep.equal(new Set(['old']));

    const both = createSecretBox([NEW, OLD]);
    const result = await rotateSealedValues(db.models, both);
    expect(result.rotated).to.equal(8);
    expect(result.byField).to.deep.equal({ 'account secrets': 4, 'webhook signing secrets': 3, 'bank codes awaiting their login': 1 });
    const sealedAfter = keyIdsIn(await dumpDatabase(uri));
    expect(sealedAfter).to.have.length(8);
    expect(new Set(sealedAfter)).to.deep.equal(new Set(['new']));
    expect((await rotateSealedValues(db.models, both)).rotated, 'a second run has nothing left to do').to.equal(0);

    // README step 4: the old key is removed.
    const after = buildServices(db, { clock: systemClock, secrets: createSecretBox([NEW]) });
    after.webhooks.start();
    try {
      expect(await after.accounts.revealSecret(account.id, 'bank_password')).to.equal('bank-pw-1');
      expect(await after.accounts.revealSecret(account.id, 'notification_auth_token')).to.equal('note-tok-4');
      const [event] = await after.reconcile.outbox.record([
        movementEvent({ id: 'tx-rotate-1', accountId: account.id, amountMinor: 5000, currency: 'UYU', senderName: 'Ana', receivedAt: new Date('2026-11-20T10:00:00Z'), description: '', bankReference: null, firstSeenAt: new Date(), usedBy: null }, owner.userId, new Date()),
      ]);
      const delivery = await eventually(() => receiver.received[0], 15_000, 'a delivery signed after the rotation');
      expect(delivery.id).to.equal(event!._id);
      expect(receiver.verify(delivery, signing)).to.deep.include({ amount: 50, currency: 'UYU' });
      expect(receiver.verify(delivery, account.signingSecret), 'the retiring secret still signs too').to.deep.include({ amount: 50 });
      expect(delivery.authorization).to.equal('Bearer hook-tok-3');
    } finally {
      await after.webhooks.stop(5_000);
      await receiver.close();
    }
  });

  it('every place that seals a value takes its context from the registry', () => {
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const file = path.join(dir, entry);
        if (statSync(file).isDirectory()) walk(file);
        else if (file.endsWith('.ts')) sources.push(file);
      }
    };
    for (const dir of ['src', 'commands', 'adapters']) walk(path.join(projectRoot, dir));
    const sealing = sources.filter((file) => /\.seal\(/.test(readFileSync(file, 'utf8')) && !/store\/(secret-box|sealed-fields)\.ts$/.test(file));
    expect(sealing.length).to.be.greaterThan(0);
    for (const file of sealing) {
      const text = readFileSync(file, 'utf8');
      for (const call of text.matchAll(/\.seal\(.*$/gm)) {
        expect(call[0], path.relative(projectRoot, file)).to.match(/sealedContexts\.\w+\(/);
      }
    }
    expect(SEALED_FIELDS.map((f) => f.name)).to.deep.equal(['account secrets', 'webhook signing secrets', 'bank codes awaiting their login']);
  });
});
