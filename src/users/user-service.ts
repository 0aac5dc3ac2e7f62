import { createHash, randomInt } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { ForbiddenError, NotFoundError, UserError } from '../domain/errors.js';
import type { Identity } from '../domain/identity.js';
import type { OperationMode } from '../domain/operation-mode.js';
import { canGrant, hasRole, ROLES, type Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import type { MemberDoc, Models } from '../store/models.js';
import { listedForSetup, OPEN_SETUP, setupId, type SetupPolicy } from './setup-policy.js';

/** A chat identity acting for a user (tenant) with a role. */
export type Member = {
  id: string;
  userId: string;
  role: Role;
  displayName: string;
  platform: string;
  dmRef: string | null;
};

export type Tenant = { id: string; name: string; operation_mode: OperationMode | null };

export type UserService = ReturnType<typeof createUserService>;

/** `setup` refused by SETUP_ALLOWED; `id` is how the person would be listed there. */
export class SetupNotAllowedError extends ForbiddenError {
  constructor(readonly id: string) {
    super(`Setting up a new company is not open to you here (SETUP_ALLOWED). Ask an admin of your company for an invite code, or the operator of this service to add ${id} to SETUP_ALLOWED.`);
    this.name = 'SetupNotAllowedError';
  }
}

// No 0/O/1/I/L: codes are read aloud and retyped.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function newInviteCode(): string {
  const pick = () => Array.from({ length: 4 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  return `RB-${pick()}-${pick()}`;
}

function hashCode(code: string): string {
  return createHash('sha256').update(code.trim().toUpperCase()).digest('hex');
}

function toMember(doc: MemberDoc): Member {
  return { id: doc._id, userId: doc.userId, role: doc.role as Role, displayName: doc.displayName, platform: doc.platform, dmRef: doc.dmRef ?? null };
}

function identityFilter(identity: Identity) {
  return { platform: identity.platform, teamId: identity.teamId, platformUserId: identity.userId };
}

export function createUserService(deps: { models: Models; clock: Clock; inviteTtlHours: number; setup?: SetupPolicy; log?: Logger }) {
  const { User, Member: MemberModel, Invite } = deps.models;
  const setup = deps.setup ?? OPEN_SETUP;

  /** A company for this identity, as SETUP_ALLOWED permits: anyone, listed, or the very first. */
  async function createCompany(identity: Identity, name: string): Promise<{ _id: string }> {
    if (setup.anyone || listedForSetup(setup, identity)) return User.create({ name });
    const refuse = () => {
      deps.log?.info({ platform: identity.platform, id: setupId(identity) }, 'setup refused: not allowed by SETUP_ALLOWED');
      return new SetupNotAllowedError(setupId(identity));
    };
    if (!setup.firstOwner || (await User.exists({}))) throw refuse();
    try {
      // The unique index on firstOwner: of two strangers racing for the first company, one wins.
      return await User.create({ name, firstOwner: true });
    } catch (error) {
      if (isDuplicateKey(error)) throw refuse();
      throw error;
    }
  }

  /** A member of this company named by its short id, `platform:user id`, or display name (case aside). */
  async function memberByRef(userId: string, ref: string): Promise<MemberDoc> {
    const wanted = ref.trim();
    const members = await MemberModel.find({ userId }).lean<MemberDoc[]>();
    const lower = wanted.toLowerCase();
    const found = members.filter(
      (m) => m._id === wanted || (wanted.length >= 6 && m._id.startsWith(lower)) || `${m.platform}:${m.platformUserId}` === wanted || m.displayName.toLowerCase() === lower,
    );
    if (found.length === 0) throw new NotFoundError(`No member "${wanted}". List them with: members`);
    if (found.length > 1) throw new UserError(`Several members are called "${wanted}"; name one by its id: ${found.map((m) => `${m.displayName} [${m._id.slice(0, 8)}]`).join(', ')}.`);
    return found[0] as MemberDoc;
  }

  /** Invites made by this member that are still open and grant more than `upTo` allows (all of them without `upTo`). */
  async function revokeInvites(memberId: string, upTo?: Role): Promise<number> {
    const above = upTo ? ROLES.filter((role) => !canGrant(upTo, role)) : [...ROLES];
    const result = await Invite.deleteMany({ createdBy: memberId, usedAt: null, role: { $in: above } });
    return result.deletedCount;
  }

  async function owners(userId: string): Promise<number> {
    return MemberModel.countDocuments({ userId, role: 'owner' });
  }

  async function findMember(identity: Identity): Promise<Member | null> {
    const doc = await MemberModel.findOne(identityFilter(identity)).lean<MemberDoc>();
    return doc ? toMember(doc) : null;
  }

  async function addMember(identity: Identity, userId: string, role: Role): Promise<Member> {
    try {
      const doc = await MemberModel.create({ ...identityFilter(identity), userId, role, displayName: identity.displayName });
      return toMember(doc.toObject());
    } catch (error) {
      if (isDuplicateKey(error)) throw new UserError('This chat identity is already linked to a Reconbanker user.');
      throw error;
    }
  }

  return {
    findMember,

    /** A new user (tenant) with this identity as its owner. */
    async createTenant(identity: Identity, name: string): Promise<Member> {
      if (await findMember(identity)) throw new UserError('This chat identity is already linked to a Reconbanker user.');
      const tenantName = name.trim();
      if (tenantName.length < 1 || tenantName.length > 100) throw new UserError('The name must be 1 to 100 characters.');
      const user = await createCompany(identity, tenantName);
      try {
        return await addMember(identity, user._id, 'owner');
      } catch (error) {
        // Lost a race with another set-up for the same identity: drop the empty tenant.
        await User.deleteOne({ _id: user._id });
        throw error;
      }
    },

    /** Idempotent: the local console's identity owns a tenant from the first start on (SETUP_ALLOWED is for chat). */
    async ensureOwner(identity: Identity, tenantName: string): Promise<Member> {
      const existing = await findMember(identity);
      if (existing) return existing;
      try {
        const user = await User.create({ name: tenantName });
        try {
          return await addMember(identity, user._id, 'owner');
        } catch (error) {
          await User.deleteOne({ _id: user._id });
          throw error;
        }
      } catch (error) {
        const raced = await findMember(identity);
        if (raced) return raced;
        throw error;
      }
    },

    async getTenant(userId: string): Promise<Tenant> {
      const user = await User.findById(userId).lean();
      if (!user) throw new NotFoundError('User not found.');
      return { id: user._id, name: user.name, operation_mode: (user.operation_mode ?? null) as OperationMode | null };
    },

    async setOperationMode(userId: string, mode: OperationMode): Promise<Tenant> {
      const user = await User.findOneAndUpdate({ _id: userId }, { $set: { operation_mode: mode } }, { returnDocument: 'after' }).lean();
      if (!user) throw new NotFoundError('User not found.');
      return { id: user._id, name: user.name, operation_mode: mode };
    },

    /** Results and alerts also go to this channel (`notify here`); idempotent. */
    async bindChannel(userId: string, ref: string): Promise<boolean> {
      const result = await User.updateOne({ _id: userId, channels: { $ne: ref } }, { $push: { channels: ref } });
      return result.modifiedCount === 1;
    },

    async unbindChannel(userId: string, ref: string): Promise<boolean> {
      const result = await User.updateOne({ _id: userId, channels: ref }, { $pull: { channels: ref } });
      return result.modifiedCount === 1;
    },

    async channels(userId: string): Promise<string[]> {
      const user = await User.findById(userId, { channels: 1 }).lean<{ channels?: string[] }>();
      return user?.channels ?? [];
    },

    /** Remembers where to reach a member privately (the last private place they used). */
    async rememberDm(memberId: string, ref: string): Promise<void> {
      await MemberModel.updateOne({ _id: memberId }, { $set: { dmRef: ref } });
    },

    /** Where to reach every operator (and above) of every user privately: for alerts about the service itself. */
    async operatorDms(): Promise<string[]> {
      const docs = await MemberModel.find({ role: { $in: ROLES.filter((role) => hasRole(role, 'operator')) }, dmRef: { $ne: null } }, { dmRef: 1 }).lean<Array<{ dmRef: string }>>();
      return [...new Set(docs.map((doc) => doc.dmRef))];
    },

    async listMembers(userId: string): Promise<Member[]> {
      const docs = await MemberModel.find({ userId }).sort({ createdAt: 1 }).lean<MemberDoc[]>();
      return docs.map(toMember);
    },

    /** A one-time code that links another chat identity with `role`. The code is returned once. */
    async createInvite(by: Member, role: Role): Promise<{ code: string; expiresAt: Date }> {
      if (!canGrant(by.role, role)) throw new ForbiddenError(`A ${by.role} cannot invite a ${role}.`);
      const code = newInviteCode();
      const expiresAt = new Date(deps.clock.now().getTime() + deps.inviteTtlHours * 3_600_000);
      await Invite.create({ codeHash: hashCode(code), userId: by.userId, role, createdBy: by.id, expiresAt });
      return { code, expiresAt };
    },

    async redeemInvite(identity: Identity, code: string): Promise<Member> {
      if (await findMember(identity)) throw new UserError('This chat identity is already linked to a Reconbanker user.');
      const now = deps.clock.now();
      // Consume atomically: two people racing for one code cannot both win.
      const invite = await Invite.findOneAndUpdate(
        { codeHash: hashCode(code), usedAt: null, expiresAt: { $gt: now } },
        { $set: { usedAt: now, usedBy: `${identity.platform}:${identity.teamId}:${identity.userId}` } },
        { returnDocument: 'after' },
      ).lean();
      if (!invite) throw new UserError('That invite code is unknown, already used or expired.');
      try {
        return await addMember(identity, invite.userId, invite.role as Role);
      } catch (error) {
        await Invite.updateOne({ _id: invite._id }, { $set: { usedAt: null, usedBy: null } });
        throw error;
      }
    },

    /**
     * Unlinks a member: they can no longer act for the company, the invites they made and
     * nobody used are revoked, and nothing reaches their private chat any more (their DM is
     * also unbound where they had bound it for results).
     */
    async removeMember(by: Member, ref: string): Promise<{ removed: Member; invitesRevoked: number }> {
      const target = await memberByRef(by.userId, ref);
      const role = target.role as Role;
      if (!canGrant(by.role, role)) throw new ForbiddenError(`An ${by.role} cannot remove an ${role}.`);
      if (role === 'owner' && (await owners(by.userId)) <= 1) throw new UserError(`${target.displayName} is the last owner; make someone else owner first (members role <member> owner).`);
      const deleted = await MemberModel.deleteOne({ _id: target._id, userId: by.userId });
      if (deleted.deletedCount !== 1) throw new NotFoundError(`No member "${ref.trim()}". List them with: members`);
      // Two owners removing each other at once: the last one stays.
      if (role === 'owner' && (await owners(by.userId)) === 0) {
        await MemberModel.create({ ...target });
        throw new UserError(`${target.displayName} is the last owner; make someone else owner first (members role <member> owner).`);
      }
      const invitesRevoked = await revokeInvites(target._id);
      if (target.dmRef) await User.updateOne({ _id: by.userId }, { $pull: { channels: target.dmRef } });
      deps.log?.info({ userId: by.userId, member: target._id, by: by.id, invitesRevoked }, 'member removed');
      return { removed: toMember(target), invitesRevoked };
    },

    /** A new role for a member, at once; invites they made above what the new role may grant are revoked. */
    async changeRole(by: Member, ref: string, role: Role): Promise<{ member: Member; previous: Role; invitesRevoked: number }> {
      const target = await memberByRef(by.userId, ref);
      const previous = target.role as Role;
      if (!canGrant(by.role, previous)) throw new ForbiddenError(`An ${by.role} cannot change the role of an ${previous}.`);
      if (!canGrant(by.role, role)) throw new ForbiddenError(`An ${by.role} cannot make someone ${role}.`);
      if (previous === role) return { member: toMember(target), previous, invitesRevoked: 0 };
      const lastOwner = () => new UserError(`${target.displayName} is the last owner; make someone else owner first (members role <member> owner).`);
      const demotesOwner = previous === 'owner' && !hasRole(role, 'owner');
      if (demotesOwner && (await owners(by.userId)) <= 1) throw lastOwner();
      const updated = await MemberModel.findOneAndUpdate({ _id: target._id, userId: by.userId, role: previous }, { $set: { role } }, { returnDocument: 'after' }).lean<MemberDoc>();
      if (!updated) throw new UserError(`${target.displayName}'s role changed meanwhile; look again with: members`);
      // Two owners demoting each other at once: put this one back rather than leave none.
      if (demotesOwner && (await owners(by.userId)) === 0) {
        await MemberModel.updateOne({ _id: target._id, role }, { $set: { role: previous } });
        throw lastOwner();
      }
      const invitesRevoked = await revokeInvites(target._id, role);
      deps.log?.info({ userId: by.userId, member: target._id, by: by.id, role, previous, invitesRevoked }, 'member role changed');
      return { member: toMember(updated), previous, invitesRevoked };
    },

    /** Housekeeping: used and expired invites older than a day are of no further use. */
    async purgeInvites(): Promise<number> {
      const cutoff = new Date(deps.clock.now().getTime() - 86_400_000);
      const result = await Invite.deleteMany({ $or: [{ expiresAt: { $lt: cutoff } }, { usedAt: { $lt: cutoff } }] });
      return result.deletedCount;
    },
  };
}
