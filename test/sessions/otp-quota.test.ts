import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter, type CommandRouter } from '../../src/chat/router.js';
import type { Services } from '../../src/services.js';
import { identity, scriptedForms } from '../helpers/chat.js';
import { useTestDatabase } from '../helpers/database.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

/**
 * The bank-code quota (5 per 10 minutes per account) is there against guessing codes: only a
 * well-formed code for a pending request counts. Chat between people in a DM does not.
 */
describe('OTP quota counts only well-formed codes for a pending request (real database)', () => {
  const test = useTestDatabase('otpquota');
  const capture = capturingLogger();
  let services: Services;
  let router: CommandRouter;
  let userId = '';
  const owner = identity('QUOTA-OWNER');
  let counter = 0;

  before(async () => {
    services = buildServices(test.db, { log: capture.log });
    router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    userId = (await services.users.createTenant(owner, 'Quota')).userId;
  });

  /** An account whose login waits for a 6-digit code (as a running assisted login leaves it). */
  async function waitingAccount(forUser = userId): Promise<string> {
    counter += 1;
    const account = await services.accounts.create(forUser, { name: `Waiting ${counter}`, bank: 'sandbox' });
    await test.db.models.AssistanceRequest.create({ accountId: account.id, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: account.id, expiresAt: new Date(Date.now() + 600_000) });
    return account.id;
  }

  /** What the waiting login does with a submitted code: takes it (the request stays pending). */
  async function loginTakesCode(accountId: string): Promise<void> {
    await test.db.models.AssistanceRequest.updateOne({ pendingFor: accountId }, { $unset: { sealedCode: 1 } });
  }

  async function attempt(accountId: string, code: string): Promise<string> {
    return services.sessions.assistance.submit(accountId, code, 'console:op').then(
      () => 'accepted',
      (error: unknown) => (error as Error).message,
    );
  }

  it('chatty DMs that are no code for the request are answered and do not use up the quota', async () => {
    const id = await waitingAccount();
    for (const text of ['hello', 'thanks', 'ok', 'yes', 'abcdef', '12345', '1234567', 'lunch', 'omw']) {
      expect(await attempt(id, text), text).to.match(/does not look like the bank's code: it expects a 6-character numeric/);
    }
    expect(await attempt(id, '246810')).to.equal('accepted');
  });

  it('the same through a private chat: plain messages while a code is awaited, then the real code', async () => {
    // A company of its own: exactly one of its accounts waits, so a plain reply answers it.
    const person = identity('QUOTA-DM');
    const id = await waitingAccount((await services.users.createTenant(person, 'Quota DM')).userId);
    const place = { ref: 'slack:T1:DQUOTA', kind: 'dm' as const, private: true };
    for (const text of ['hello', 'thanks', 'cool', 'ok', 'sure', 'noted', 'bye']) await router.handleReply({ actor: person, place, text }, scriptedForms());
    const answer = await router.handleReply({ actor: person, place, text: '135791' }, scriptedForms());
    expect(answer?.text).to.match(/^Code received for "Waiting \d+"; typing it into the bank\./);
    expect(await test.db.models.AssistanceRequest.countDocuments({ pendingFor: id, sealedCode: { $exists: true } })).to.equal(1);
  });

  it('still allows only 5 well-formed codes per 10 minutes for an account', async () => {
    const id = await waitingAccount();
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(await attempt(id, `11111${i}`));
      await loginTakesCode(id);
    }
    expect(outcomes.slice(0, 5)).to.deep.equal(Array(5).fill('accepted'));
    expect(outcomes[5]).to.match(/Too many codes .*\(at most 5 in 10 minutes\)/);
  });

  it('codes sent while nothing is awaited do not count either', async () => {
    const account = await services.accounts.create(userId, { name: 'Idle', bank: 'sandbox' });
    for (let i = 0; i < 6; i++) expect(await attempt(account.id, '123456')).to.equal('No bank code is being waited for on this account.');
    await test.db.models.AssistanceRequest.create({ accountId: account.id, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: account.id, expiresAt: new Date(Date.now() + 600_000) });
    expect(await attempt(account.id, '123456')).to.equal('accepted');
  });
});
