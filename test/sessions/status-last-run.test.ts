import { expect } from 'chai';
import type { Services } from '../../src/services.js';
import { startRun } from '../../src/sessions/runner.js';
import { useTestDatabase } from '../helpers/database.js';
import { buildServices } from '../helpers/services.js';

describe("an account's status names its newest session run (real database)", () => {
  const test = useTestDatabase('status_last_run');
  let services: Services;
  let userId: string;

  before(async () => {
    services = buildServices(test.db);
    userId = (await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'a', displayName: 'A' }, 'A')).userId;
  });

  it('none before the first run; then the run started last, read by the id the account keeps; an account stored without that id sorts its runs', async () => {
    const account = await services.accounts.create(userId, { name: 'Runs', bank: 'sandbox' });
    expect((await services.sessions.control.status(userId, account.id)).lastRun).to.equal(null);
    const first = await startRun(test.db.models, { accountId: account.id, kind: 'one-shot', trigger: 'manual', holder: 'h', startedAt: new Date('2026-11-01T10:00:00Z') });
    expect((await services.sessions.control.status(userId, account.id)).lastRun?._id).to.equal(first._id);
    const second = await startRun(test.db.models, { accountId: account.id, kind: 'persistent', trigger: 'monitor', holder: 'h', startedAt: new Date('2026-11-01T11:00:00Z') });
    const status = await services.sessions.control.status(userId, account.id);
    expect(status.lastRun).to.deep.include({ _id: second._id, kind: 'persistent', status: 'running' });
    // As an older version stored it: no lastRunId field.
    await test.db.models.Account.collection.updateOne({ _id: account.id } as never, { $unset: { lastRunId: '' } });
    expect((await services.sessions.control.status(userId, account.id)).lastRun?._id).to.equal(second._id);
    // Another user's status of it: not found.
    const other = (await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'b', displayName: 'B' }, 'B')).userId;
    let refused: unknown;
    await services.sessions.control.status(other, account.id).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(Error);
  });
});
