import { expect } from 'chai';
import { UserError, ForbiddenError } from '../../src/domain/errors.js';
import type { Identity } from '../../src/domain/identity.js';
import type { Services } from '../../src/services.js';
import { manualClock } from '../helpers/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { buildServices } from '../helpers/services.js';

function person(id: string, platform = 'slack', teamId = 'T1'): Identity {
  return { platform, teamId, userId: id, displayName: `Person ${id}` };
}

describe('user service (real database)', () => {
  const test = useTestDatabase('users');
  const clock = manualClock();
  let services: Services;
  before(() => {
    services = buildServices(test.db, { clock });
  });

  it('creates a tenant whose creator is owner, with no operation mode yet', async () => {
    const owner = await services.users.createTenant(person('U1'), 'ACME');
    expect(owner.role).to.equal('owner');
    const tenant = await services.users.getTenant(owner.userId);
    expect(tenant).to.deep.include({ name: 'ACME', operation_mode: null });
  });

  it('refuses a second tenant for an identity already linked', async () => {
    await services.users.createTenant(person('U2'), 'First');
    try {
      await services.users.createTenant(person('U2'), 'Second');
      expect.fail('should refuse');
    } catch (error) {
      expect(error).to.be.instanceOf(UserError);
    }
    expect(await test.db.models.User.countDocuments({ name: 'Second' })).to.equal(0);
  });

  it('ensureOwner is idempotent, also when raced', async () => {
    const identity = person('local', 'console', 'local');
    const results = await Promise.all([services.users.ensureOwner(identity, 'Local'), services.users.ensureOwner(identity, 'Local')]);
    expect(results[0].id).to.equal(results[1].id);
    expect(await test.db.models.Member.countDocuments({ platform: 'console', platformUserId: 'local' })).to.equal(1);
  });

  it('switches the operation mode', async () => {
    const owner = await services.users.createTenant(person('U3'), 'Modes');
    expect((await services.users.setOperationMode(owner.userId, 'passthrough')).operation_mode).to.equal('passthrough');
    expect((await services.users.getTenant(owner.userId)).operation_mode).to.equal('passthrough');
  });

  describe('invites', () => {
    it('link another identity with the invited role, once', async () => {
      const owner = await services.users.createTenant(person('U10'), 'Invites');
      const { code } = await services.users.createInvite(owner, 'operator');
      expect(code).to.match(/^RB-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
      const operator = await services.users.redeemInvite(person('D1', 'discord', 'G1'), code.toLowerCase());
      expect(operator).to.deep.include({ userId: owner.userId, role: 'operator', platform: 'discord' });
      try {
        await services.users.redeemInvite(person('D2', 'discord', 'G1'), code);
        expect.fail('a code works once');
      } catch (error) {
        expect((error as Error).message).to.match(/unknown, already used or expired/);
      }
    });

    it('are stored only as a hash', async () => {
      const owner = await services.users.createTenant(person('U11'), 'Hashes');
      const { code } = await services.users.createInvite(owner, 'viewer');
      const raw = JSON.stringify(await test.db.models.Invite.find({ userId: owner.userId }).lean());
      expect(raw).not.to.include(code);
    });

    it('expire', async () => {
      const owner = await services.users.createTenant(person('U12'), 'Expiry');
      const { code } = await services.users.createInvite(owner, 'viewer');
      clock.advance(73 * 3_600_000);
      try {
        await services.users.redeemInvite(person('late'), code);
        expect.fail('expired');
      } catch (error) {
        expect((error as Error).message).to.match(/expired/);
      }
    });

    it('cannot grant more than the inviter has', async () => {
      const owner = await services.users.createTenant(person('U13'), 'Grants');
      const { code } = await services.users.createInvite(owner, 'admin');
      const admin = await services.users.redeemInvite(person('A1'), code);
      try {
        await services.users.createInvite(admin, 'owner');
        expect.fail('admin cannot mint owners');
      } catch (error) {
        expect(error).to.be.instanceOf(ForbiddenError);
      }
    });

    it('two people racing for one code: exactly one wins', async () => {
      const owner = await services.users.createTenant(person('U14'), 'Race');
      const { code } = await services.users.createInvite(owner, 'viewer');
      const outcomes = await Promise.allSettled([services.users.redeemInvite(person('R1'), code), services.users.redeemInvite(person('R2'), code)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(1);
      expect(await services.users.listMembers(owner.userId)).to.have.length(2);
    });

    it('an identity already linked keeps its code unused', async () => {
      const owner = await services.users.createTenant(person('U15'), 'Keep');
      const { code } = await services.users.createInvite(owner, 'viewer');
      try {
        await services.users.redeemInvite(person('U15'), code);
        expect.fail('already linked');
      } catch (error) {
        expect((error as Error).message).to.match(/already linked/);
      }
      await services.users.redeemInvite(person('fresh'), code);
    });

    it('housekeeping purges used and long-expired invites', async () => {
      const owner = await services.users.createTenant(person('U16'), 'Purge');
      await services.users.createInvite(owner, 'viewer');
      clock.advance(100 * 3_600_000);
      expect(await services.users.purgeInvites()).to.be.greaterThan(0);
      expect(await test.db.models.Invite.countDocuments({ userId: owner.userId })).to.equal(0);
    });
  });
});
