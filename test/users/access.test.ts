import { expect } from 'chai';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter, type CommandRouter } from '../../src/chat/router.js';
import type { Identity } from '../../src/domain/identity.js';
import type { Services } from '../../src/services.js';
import type { SetupPolicy } from '../../src/users/setup-policy.js';
import { commandIn, identity, scriptedForms } from '../helpers/chat.js';
import { useTestDatabase } from '../helpers/database.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, type SentMessage } from '../helpers/services.js';

const INVITE = /RB-[A-Z2-9]{4}-[A-Z2-9]{4}/;
const dmOf = (who: Identity) => `${who.platform}:${who.teamId}:D-${who.userId}`;

describe('access: invites in private, who may set up, removing members and changing roles (real database)', function () {
  this.timeout(30_000);
  const test = useTestDatabase('access');

  function world(setup?: SetupPolicy) {
    const capture = capturingLogger();
    const sent: SentMessage[] = [];
    const services: Services = buildServices(test.db, { log: capture.log, sent, ...(setup ? { setup } : {}) });
    const router: CommandRouter = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    const run = async (who: Identity, text: string, place: 'dm' | 'channel' = 'dm') => {
      const event = commandIn(place, who, text);
      // Each person's own private chat.
      if (place === 'dm') event.place = { ...event.place, ref: dmOf(who) };
      const reply = await router.handle(event, scriptedForms());
      return reply.text + (reply.fields ?? []).map((f) => `\n${f.label}: ${f.value}`).join('');
    };
    return { services, router, run, sent, capture };
  }

  describe('invites', () => {
    it('are shown in private only: asked in a channel, no code is made and none is shown', async () => {
      const { run } = world();
      const owner = identity('INV-OWNER');
      await run(owner, 'setup Invites Ltd');
      const inChannel = await run(owner, 'invite admin', 'channel');
      expect(inChannel).to.match(/only in a private chat/);
      expect(inChannel).not.to.match(INVITE);
      const tenant = (await test.db.models.Member.findOne({ platformUserId: 'INV-OWNER' }).lean())!.userId;
      expect(await test.db.models.Invite.countDocuments({ userId: tenant })).to.equal(0);
      expect(await run(owner, 'invite operator', 'dm')).to.match(INVITE);
    });
  });

  describe('setup (SETUP_ALLOWED)', () => {
    it('"first owner only": the first person sets up, nobody after (and nobody when a company exists already)', async () => {
      // A database of its own would need a server per test: drop what the others made first.
      await test.db.models.User.deleteMany({});
      await test.db.models.Member.deleteMany({});
      const { run, capture } = world({ anyone: false, firstOwner: true, identities: [] });
      const [first, second] = await Promise.all([run(identity('FIRST-A'), 'setup Alpha'), run(identity('FIRST-B'), 'setup Beta')]);
      const created = [first, second].filter((r) => /Created "/.test(r));
      expect(created, `${first} | ${second}`).to.have.length(1);
      const later = await run(identity('LATECOMER', 'telegram', 'telegram'), 'setup Gamma');
      expect(later).to.match(/Setting up a new company is not open to you here/);
      expect(later).to.include('telegram:LATECOMER');
      expect(later).to.match(/\/recon link <code>/);
      expect(await test.db.models.User.countDocuments({})).to.equal(1);
      expect(capture.text()).to.match(/setup refused/);
    });

    it('a list of platform user ids: those set up, others are refused', async () => {
      const { run } = world({ anyone: false, firstOwner: false, identities: ['discord:D-ALLOWED', 'slack:T9:U-ALLOWED'] });
      expect(await run(identity('D-ALLOWED', 'discord', 'G1'), 'setup Listed One')).to.match(/Created "Listed One"/);
      expect(await run(identity('U-ALLOWED', 'slack', 'T9'), 'setup Listed Two')).to.match(/Created "Listed Two"/);
      expect(await run(identity('U-ALLOWED', 'slack', 'T-OTHER'), 'setup Wrong Team')).to.match(/not open to you/);
      expect(await run(identity('D-OTHER', 'discord', 'G1'), 'setup Unlisted')).to.match(/not open to you/);
    });

    it('"anyone" (the development default) lets anyone set up', async () => {
      const { run } = world({ anyone: true, firstOwner: false, identities: [] });
      expect(await run(identity('ANYONE-1'), 'setup Open One')).to.match(/Created "Open One"/);
    });
  });

  describe('members remove and members role', () => {
    async function company(label: string) {
      const w = world();
      const owner = identity(`${label}-OWNER`);
      await w.run(owner, `setup ${label} Inc`);
      const join = async (who: Identity, role: string) => {
        const code = INVITE.exec(await w.run(owner, `invite ${role}`))?.[0];
        expect(await w.run(who, `link ${code}`)).to.match(new RegExp(`now ${role} of`));
        // Writing in private tells the service where to reach them.
        await w.run(who, 'whoami', 'dm');
      };
      const userId = (await w.services.users.findMember(owner))!.userId;
      return { ...w, owner, join, userId };
    }

    it('removing a member unlinks them, revokes the invites they made, and stops every DM to them', async () => {
      const c = await company('Remove');
      const admin = identity('REMOVE-ADMIN');
      await c.join(admin, 'admin');
      // The admin made an invite not used yet, and bound their own DM for results.
      const pendingCode = INVITE.exec(await c.run(admin, 'invite viewer'))?.[0];
      expect(await c.run(admin, 'notify here', 'dm')).to.match(/posted here too/);
      const adminDm = dmOf(admin);

      const listed = await c.run(c.owner, 'members');
      expect(listed).to.match(/user-REMOVE-ADMIN \(slack\) — admin/);
      const answer = await c.run(c.owner, 'members remove user-REMOVE-ADMIN');
      expect(answer).to.match(/Removed user-REMOVE-ADMIN \(slack, admin\)/);
      expect(answer).to.match(/1 invite they made was revoked/);

      expect(await c.run(admin, 'account list')).to.match(/not linked/);
      expect(await c.run(identity('REMOVE-LATE'), `link ${pendingCode}`)).to.match(/unknown, already used or expired/);
      expect(await c.services.users.channels(c.userId)).not.to.include(adminDm);
      c.sent.length = 0;
      await c.services.notifier.session({ type: 'blocked', account: { id: 'a1', name: 'Main', bank: 'sandbox', userId: c.userId }, reason: 'test.' } as never);
      expect(c.sent.map((s) => s.ref)).not.to.include(adminDm);
      expect(c.sent.length, 'the owner is still told').to.equal(1);
    });

    it('changing a role takes effect at once and revokes invites above the new role', async () => {
      const c = await company('Role');
      const admin = identity('ROLE-ADMIN');
      await c.join(admin, 'admin');
      const adminInvite = INVITE.exec(await c.run(admin, 'invite admin'))?.[0];
      expect(await c.run(c.owner, 'members role user-ROLE-ADMIN viewer')).to.match(/user-ROLE-ADMIN is now viewer \(was admin\); 1 pending invite they made was revoked/);
      expect(await c.run(admin, 'invite viewer')).to.match(/needs the admin role; you are viewer/);
      expect(await c.run(identity('ROLE-LATE'), `link ${adminInvite}`)).to.match(/unknown, already used or expired/);
      expect(await c.run(c.owner, 'members role user-ROLE-ADMIN operator')).to.match(/is now operator \(was viewer\)/);
    });

    it('refuses what would leave a company without an owner, or reach above your own role', async () => {
      const c = await company('Guard');
      const admin = identity('GUARD-ADMIN');
      await c.join(admin, 'admin');
      expect(await c.run(c.owner, 'members remove user-Guard-OWNER')).to.match(/last owner/);
      expect(await c.run(c.owner, 'members role user-Guard-OWNER admin')).to.match(/last owner/);
      expect(await c.run(admin, 'members remove user-Guard-OWNER')).to.match(/An admin cannot remove an owner/);
      expect(await c.run(admin, 'members role user-GUARD-ADMIN owner')).to.match(/An admin cannot make someone owner/);
      expect(await c.run(c.owner, 'members remove nobody-here')).to.match(/No member "nobody-here"/);
      const viewer = identity('GUARD-VIEWER');
      await c.join(viewer, 'viewer');
      expect(await c.run(viewer, 'members remove user-GUARD-ADMIN')).to.match(/needs the admin role/);
      // A second owner may step down; then the first is the last again.
      await c.run(c.owner, 'members role user-GUARD-ADMIN owner');
      expect(await c.run(c.owner, 'members role user-Guard-OWNER admin')).to.match(/is now admin \(was owner\)/);
      expect(await c.run(admin, 'members remove user-GUARD-ADMIN')).to.match(/last owner/);
    });

    it('two owners demoting each other at once leave one owner', async () => {
      const c = await company('Race');
      const second = identity('RACE-SECOND');
      await c.join(second, 'owner');
      await Promise.all([c.run(c.owner, 'members role user-RACE-SECOND admin'), c.run(second, 'members role user-Race-OWNER admin')]);
      const owners = (await c.services.users.listMembers(c.userId)).filter((m) => m.role === 'owner');
      expect(owners.length).to.be.greaterThan(0);
    });
  });
});
