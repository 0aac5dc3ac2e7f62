import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { projectRoot } from '../../src/paths.js';
import { connectDatabase, type Database } from '../../src/store/database.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { buildServices } from '../helpers/services.js';

type Worker = {
  child: ChildProcessWithoutNullStreams;
  /** Sends one operation and waits for its answer. */
  run(op: Record<string, unknown>, timeoutMs?: number): Promise<{ ok: boolean; result?: unknown; error?: string }>;
  output(): string;
};

/** A reconciliation process of its own (test/helpers/reconcile-worker.ts) on the same database. */
function startWorker(uri: string, env: Record<string, string>, nodeArgs: string[] = []): Worker {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(projectRoot, 'test', 'helpers', 'reconcile-worker.ts')], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RECONBANKER_WORKER_URI: uri, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let next = 0;
  return {
    child,
    output: () => `${out}\n--- stderr ---\n${err.slice(-3000)}`,
    async run(op, timeoutMs = 60_000) {
      const id = ++next;
      child.stdin.write(`${JSON.stringify({ id, ...op })}\n`);
      return eventually(
        () => out.split('\n').flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as { id?: number; ok: boolean; result?: unknown; error?: string }] : [])).find((l) => l.id === id),
        timeoutMs,
        `worker answer to ${JSON.stringify(op)}\n${out}\n${err.slice(-2000)}`,
        50,
      );
    },
  };
}

describe('settlement in separate processes (SPEC §4): a lease that lapses mid-settlement, a large evaluation', function () {
  this.timeout(180_000);
  let uri: string;
  let db: Database;
  const workers: Worker[] = [];

  before(async () => {
    uri = freshDatabaseUri('leaselapse');
    db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
  });

  after(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGCONT');
        w.child.kill('SIGKILL');
      }
    }
    await db?.connection.dropDatabase();
    await db?.close();
  });

  it('one payment → exactly one matched event, though the first process pauses after its claim until its lease lapses and another settles meanwhile', async () => {
    const services = buildServices(db, { clock: systemClock });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Lease');
    await services.users.setOperationMode(owner.userId, 'reconcile');
    const account = await services.accounts.create(owner.userId, { name: 'Shop', bank: 'sandbox' });
    const now = new Date();
    const [payment] = await services.sessions.transactions.ingest(
      account.id,
      'run',
      [{ amountMinor: 50_000, currency: 'UYU', senderName: 'ANA RUIZ', receivedAt: new Date(now.getTime() - 60_000), description: 'Transferencia', bankReference: 'lease-1' }],
      true,
    );
    await services.sessions.transactions.markHandled([payment!.id]);
    const order = (externalId: string, name: string): Partial<ConciliationRequestDoc> => ({
      accountId: account.id,
      userId: owner.userId,
      externalId,
      amountMinor: 50_000,
      currency: 'UYU',
      name,
      registeredAt: now,
      status: 'pending',
      statusChangedAt: new Date(now.getTime() - 60_000),
    });
    await db.models.ConciliationRequest.create(order('R-1', 'Ana Ruiz'));
    // Another order on the account, due: the other process's sweeper has work here.
    await db.models.ConciliationRequest.create(order('R-2', 'Bruno Vega'));

    const ttl = '1500';
    const first = startWorker(uri, { RECONBANKER_WORKER_LOCK_TTL_MS: ttl, RECONBANKER_WORKER_PAUSE_AT_MATCHED: '1' });
    const second = startWorker(uri, { RECONBANKER_WORKER_LOCK_TTL_MS: ttl });
    workers.push(first, second);
    await eventually(() => first.output().includes('"ready":true') && second.output().includes('"ready":true'), 60_000, 'both workers ready');

    // The first process settles R-1: it claims the payment, then stops just before recording the match.
    const firstRun = first.run({ op: 'rematch', userId: owner.userId, account: 'Shop', externalId: 'R-1' }, 120_000);
    await eventually(() => first.output().includes('PAUSED'), 60_000, 'the first process paused mid-settlement');
    const claimed = await db.models.BankTransaction.findById(payment!.id).lean();
    const r1 = await db.models.ConciliationRequest.findOne({ accountId: account.id, externalId: 'R-1' }).lean<ConciliationRequestDoc>();
    expect(claimed?.usedBy, 'claimed before the pause').to.equal(r1!._id);
    // Its lease lapses (it cannot renew while stopped).
    await eventually(async () => {
      const lease = await db.models.Lease.findById(`reconcile:${account.id}`).lean();
      return lease !== null && lease.expiresAt.getTime() < Date.now();
    }, 30_000, 'the first process’s lease to lapse');

    // The second process's sweeper takes the account over and settles what it finds.
    expect((await second.run({ op: 'sweep' })).ok).to.equal(true);
    // The first process resumes and finishes its step, whatever it concludes.
    first.child.kill('SIGCONT');
    await firstRun;

    // A second order from the same payer for the same amount arrives: the payment is not free.
    await db.models.ConciliationRequest.create(order('R-3', 'Ana Ruiz'));
    expect((await second.run({ op: 'sweep' })).ok).to.equal(true);

    const matchedEvents = await db.models.OutboxEvent.find({ accountId: account.id, type: 'conciliation.matched' }).lean();
    const forPayment = matchedEvents.filter((e) => (e.data as { match?: { transaction_id?: string } }).match?.transaction_id === payment!.id);
    expect(forPayment.map((e) => (e.data as { external_id: string }).external_id), 'one matched event for the one payment').to.have.length(1);
    const requests = await db.models.ConciliationRequest.find({ accountId: account.id }).lean<ConciliationRequestDoc[]>();
    const matched = requests.filter((r) => r.status === 'matched');
    expect(matched, 'one request settled by the payment').to.have.length(1);
    const stored = await db.models.BankTransaction.findById(payment!.id).lean();
    expect(stored?.usedBy, 'the payment is held by the request it settled').to.equal(matched[0]!._id);
    expect(matched[0]!.match?.transactionId).to.equal(payment!.id);
    expect(requests.filter((r) => r.status === 'processing'), 'nothing left processing').to.deep.equal([]);

    for (const w of [first, second]) w.child.stdin.write(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
    await Promise.all([first, second].map((w) => new Promise((resolve) => (w.child.exitCode !== null ? resolve(undefined) : w.child.once('exit', resolve)))));
  });

  it('an evaluation with more open rivals than arguments fit on the stack settles, without an error attempt (large polls)', async () => {
    // Spreading every rival's registration time into Math.min overflows the stack past
    // ~125k requests with Node's default stack; this process has a smaller one, so 30k do it.
    const services = buildServices(db, { clock: systemClock });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'big', displayName: 'Big' }, 'Large');
    await services.users.setOperationMode(owner.userId, 'reconcile');
    const account = await services.accounts.create(owner.userId, { name: 'Large', bank: 'sandbox' });
    const now = new Date();
    const rivals = Array.from({ length: 30_000 }, (_, i) => ({
      _id: `big-${i}`,
      accountId: account.id,
      userId: owner.userId,
      externalId: `BIG${i}`,
      externalIdType: 'string',
      amountMinor: 1_000,
      currency: 'UYU',
      name: 'Payer Name',
      registeredAt: new Date(now.getTime() - (i % 1000) * 60_000),
      status: 'not_found',
      statusChangedAt: now,
      attemptCount: 1,
      processingFence: null,
      candidates: [],
    }));
    for (let i = 0; i < rivals.length; i += 5_000) await db.models.ConciliationRequest.collection.insertMany(rivals.slice(i, i + 5_000) as never[]);
    const [payment] = await services.sessions.transactions.ingest(account.id, 'run', [{ amountMinor: 1_000, currency: 'UYU', senderName: 'Zed Quill', receivedAt: now, description: 'Pago BIG7', bankReference: 'big-1' }], true);
    await services.sessions.transactions.markHandled([payment!.id]);
    const worker = startWorker(uri, {}, ['--stack-size=200']);
    workers.push(worker);
    await eventually(() => worker.output().includes('"ready":true'), 60_000, 'the worker ready');
    const answer = await worker.run({ op: 'rematch', userId: owner.userId, account: 'Large', externalId: 'BIG7' }, 120_000);
    expect(answer, worker.output()).to.deep.include({ ok: true });
    expect(answer.result).to.deep.include({ errors: 0, failed: 0, matched: 1 });
    expect((await db.models.BankTransaction.findById(payment!.id).lean())?.usedBy).to.equal('big-7');
    expect(await db.models.ConciliationRequest.countDocuments({ accountId: account.id, status: { $in: ['processing', 'pending'] } })).to.equal(0);
    worker.child.stdin.write(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
  });
});
