import { expect } from 'chai';
import { pino } from 'pino';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import { useTestDatabase } from '../helpers/database.js';

describe('job scheduler (Agenda on the real database)', () => {
  const test = useTestDatabase('jobs');
  let scheduler: Scheduler;
  const received: unknown[] = [];
  let onRun: () => void = () => undefined;

  before(async () => {
    scheduler = createScheduler({
      db: test.db.connection.db!,
      log: pino({ level: 'silent' }),
      processEvery: 100,
      jobs: [
        {
          name: 'probe',
          async run(data) {
            received.push(data);
            onRun();
          },
        },
        { name: 'recurring', every: '1 hour', async run() {} },
      ],
    });
    await scheduler.start();
  });

  after(async () => {
    await scheduler.stop(5_000);
  });

  it('runs a job queued now, with its data', async () => {
    const ran = new Promise<void>((resolve) => (onRun = resolve));
    await scheduler.now('probe', { accountId: 'a-1' });
    await ran;
    expect(received).to.deep.include({ accountId: 'a-1' });
  });

  it('stores recurring jobs in MongoDB with their interval', async () => {
    const stored = await test.db.connection.db!.collection('jobs').findOne({ name: 'recurring' });
    expect(stored?.repeatInterval).to.equal('1 hour');
    expect(stored?.nextRunAt).to.be.instanceOf(Date);
  });
});
