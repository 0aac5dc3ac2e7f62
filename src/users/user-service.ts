import { createHash, randomInt } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { ForbiddenError, NotFoundError, UserError } from '../domain/errors.js';
import type { Identity } from '../domain/identity.js';
import type { OperationMode } from '../domain/operation-mode.js';
import { canGrant, type Role } from '../domain/roles.js';
import { isDuplicateKey } from '../store/database.js';
import type { MemberDoc, Models } from '../store/models.js';

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

export function createUserService(deps: { models: Models; clock: Clock; inviteTtlHours: number }) {
  const { User, Member: MemberModel, Invite } = deps.models;

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
      const user = await User.create({ name: tenantName });
      try {
        return await addMember(identity, user._id, 'owner');
      } catch (error) {
        // Lost a race with another set-up for the same identity: drop the empty tenant.
        await User.deleteOne({ _id: user._id });
        throw error;
      }
    },

    /** Idempotent: the local console's identity owns a tenant from the first start on. */
    async ensureOwner(identity: Identity, tenantName: string): Promise<Member> {
      const existing = await findMember(identity);
      if (existing) return existing;
      try {
        return await this.createTenant(identity, tenantName);
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

    /** Housekeeping: used and expired invites older than a day are of no further use. */
    async purgeInvites(): Promise<number> {
      const cutoff = new Date(deps.clock.now().getTime() - 86_400_000);
      const result = await Invite.deleteMany({ $or: [{ expiresAt: { $lt: cutoff } }, { usedAt: { $lt: cutoff } }] });
      return result.deletedCount;
    },
  };
}
