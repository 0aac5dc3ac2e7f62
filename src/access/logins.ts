import { createHash, randomInt } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { ConflictError, ForbiddenError, NotFoundError, UserError } from '../domain/errors.js';
import type { Identity } from '../domain/identity.js';
import { hasRole, type Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import type { ApiLoginDoc, LinkCodeDoc, MemberDoc, Models } from '../store/models.js';
import { SetupNotAllowedError, type Member, type UserService } from '../users/user-service.js';
import { decoyHash, hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from './passwords.js';

/**
 * Logins to the HTTP API. A login is an email and a password acting as one member of a user
 * (company): the member's role and company are read on every request, so whatever chat does to
 * the member (a new role, removal) applies to the API at once. A person registered through the
 * API is a member of platform `api` until they join a chat identity (`api link <code>`), which
 * then becomes that same member; a chat member gets a login with `api login` in private.
 */

export const API_PLATFORM = 'api';
export const ONE_TIME_TTL_MS = 15 * 60_000;
export const LINK_CODE_TTL_MS = 15 * 60_000;

export type LoginView = { id: string; email: string; memberId: string; tokenVersion: number };
export type Principal = { login: LoginView; member: Member };

export class InvalidCredentialsError extends UserError {
  constructor() {
    super('Invalid credentials');
    this.name = 'InvalidCredentialsError';
  }
}

// No 0/O/1/I/L: read from a chat and typed again.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
function code(groups: number): string {
  return Array.from({ length: groups }, () => Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')).join('-');
}
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const normalCode = (text: string) => text.trim().toUpperCase().replace(/\s+/g, '');

export function normalEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailProblem(email: string): string | undefined {
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return 'That is not an email address.';
  return undefined;
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `The password must be at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `The password must be at most ${PASSWORD_MAX} characters.`;
  return undefined;
}

function loginView(doc: ApiLoginDoc): LoginView {
  return { id: doc._id, email: doc.email, memberId: doc.memberId, tokenVersion: doc.tokenVersion ?? 0 };
}

function toMember(doc: MemberDoc): Member {
  return { id: doc._id, userId: doc.userId, role: doc.role as Role, displayName: doc.displayName, platform: doc.platform, dmRef: doc.dmRef ?? null };
}

export type LoginService = ReturnType<typeof createLoginService>;

export function createLoginService(deps: { models: Models; users: UserService; clock: Clock; log: Logger }) {
  const { ApiLogin, Member: MemberModel, LinkCode, User } = deps.models;

  async function principal(doc: ApiLoginDoc): Promise<Principal | null> {
    const member = await MemberModel.findById(doc.memberId).lean<MemberDoc>();
    return member ? { login: loginView(doc), member: toMember(member) } : null;
  }

  return {
    /** A new company with this person as its owner (SETUP_ALLOWED applies as to `setup` in chat). */
    async register(input: { email: string; password: string; name?: string | undefined }): Promise<Principal> {
      const email = normalEmail(input.email);
      const problem = emailProblem(email) ?? passwordProblem(input.password);
      if (problem) throw new UserError(problem);
      const identity: Identity = { platform: API_PLATFORM, teamId: API_PLATFORM, userId: email, displayName: input.name?.trim() || email };
      if ((await ApiLogin.exists({ email })) || (await deps.users.findMember(identity))) throw new ConflictError('Email already exists');
      const passwordHash = await hashPassword(input.password);
      let member: Member;
      try {
        member = await deps.users.createTenant(identity, (input.name?.trim() || email).slice(0, 100));
      } catch (error) {
        if (error instanceof SetupNotAllowedError) throw new ForbiddenError('Registration is not open on this instance (SETUP_ALLOWED). Ask an admin of your company to invite you in chat, then run api login there.');
        if (error instanceof UserError && /already linked/.test(error.message)) throw new ConflictError('Email already exists');
        throw error;
      }
      try {
        const doc = await ApiLogin.create({ email, passwordHash, memberId: member.id });
        deps.log.info({ loginId: doc._id, userId: member.userId }, 'API login registered');
        return { login: loginView(doc.toObject() as ApiLoginDoc), member };
      } catch (error) {
        // Lost a race for the email: the company made for it goes again.
        await MemberModel.deleteOne({ _id: member.id });
        await User.deleteOne({ _id: member.userId });
        if (isDuplicateKey(error)) throw new ConflictError('Email already exists');
        throw error;
      }
    },

    /** Email and password, or a one-time password from chat (used once). */
    async authenticate(emailInput: string, password: string): Promise<Principal> {
      const email = normalEmail(emailInput);
      const doc = await ApiLogin.findOne({ email }).lean<ApiLoginDoc>();
      if (!doc) {
        await verifyPassword(password, await decoyHash());
        throw new InvalidCredentialsError();
      }
      // Without a password (a chat member's login before `api login` set one), the same time is spent.
      let ok = await verifyPassword(password, doc.passwordHash ?? (await decoyHash()));
      if (!doc.passwordHash) ok = false;
      if (!ok && doc.oneTimeHash && doc.oneTimeExpiresAt && doc.oneTimeExpiresAt > deps.clock.now()) {
        // Consumed atomically: the same one-time password cannot log in twice.
        const used = await ApiLogin.updateOne({ _id: doc._id, oneTimeHash: sha256(normalCode(password)) }, { $set: { oneTimeHash: null, oneTimeExpiresAt: null } });
        ok = used.modifiedCount === 1;
      }
      if (!ok) throw new InvalidCredentialsError();
      await ApiLogin.updateOne({ _id: doc._id }, { $set: { lastLoginAt: deps.clock.now() } });
      const found = await principal(doc);
      if (!found) throw new InvalidCredentialsError();
      return found;
    },

    /** Per request: the login a token names, if it still stands (same token version, member still linked). */
    async resolve(loginId: string, tokenVersion: number): Promise<Principal | null> {
      const doc = await ApiLogin.findById(loginId).lean<ApiLoginDoc>();
      if (!doc || (doc.tokenVersion ?? 0) !== tokenVersion) return null;
      return principal(doc);
    },

    /** A new password; every token signed before stops working. */
    async setPassword(loginId: string, password: string): Promise<void> {
      const problem = passwordProblem(password);
      if (problem) throw new UserError(problem);
      const passwordHash = await hashPassword(password);
      const result = await ApiLogin.updateOne({ _id: loginId }, { $set: { passwordHash, oneTimeHash: null, oneTimeExpiresAt: null }, $inc: { tokenVersion: 1 } });
      if (result.matchedCount !== 1) throw new NotFoundError('Login not found.');
      deps.log.info({ loginId }, 'API password changed');
    },

    /** The login of a chat member (`api login` in chat), made with `email` the first time. */
    async forMember(member: Member, emailInput?: string): Promise<LoginView> {
      const existing = await ApiLogin.findOne({ memberId: member.id }).lean<ApiLoginDoc>();
      const email = emailInput === undefined ? undefined : normalEmail(emailInput);
      if (email !== undefined) {
        const problem = emailProblem(email);
        if (problem) throw new UserError(problem);
      }
      try {
        if (!existing) {
          if (!email) throw new UserError('Give the email you will log in with: api login <email>');
          const doc = await ApiLogin.create({ email, memberId: member.id });
          deps.log.info({ loginId: doc._id, memberId: member.id }, 'API login made for a chat member');
          return loginView(doc.toObject() as ApiLoginDoc);
        }
        if (email && email !== existing.email) {
          await ApiLogin.updateOne({ _id: existing._id }, { $set: { email } });
          return { ...loginView(existing), email };
        }
        return loginView(existing);
      } catch (error) {
        if (isDuplicateKey(error)) throw new ConflictError('That email is already used by another login.');
        throw error;
      }
    },

    async findByMember(memberId: string): Promise<LoginView | null> {
      const doc = await ApiLogin.findOne({ memberId }).lean<ApiLoginDoc>();
      return doc ? loginView(doc) : null;
    },

    /** A one-time password (shown once, in private), valid 15 minutes, for one POST /auth/login. */
    async oneTimePassword(loginId: string): Promise<{ password: string; expiresAt: Date }> {
      const password = `RB-${code(4)}`;
      const expiresAt = new Date(deps.clock.now().getTime() + ONE_TIME_TTL_MS);
      await ApiLogin.updateOne({ _id: loginId }, { $set: { oneTimeHash: sha256(normalCode(password)), oneTimeExpiresAt: expiresAt } });
      return { password, expiresAt };
    },

    /** A code the person types in chat (`api link <code>`) to join a chat identity to this login. */
    async linkCode(loginId: string): Promise<{ code: string; expiresAt: Date }> {
      const value = `RL-${code(3)}`;
      const expiresAt = new Date(deps.clock.now().getTime() + LINK_CODE_TTL_MS);
      await LinkCode.create({ codeHash: sha256(normalCode(value)), loginId, expiresAt });
      return { code: value, expiresAt };
    },

    /**
     * `api link <code>` in chat. A login still on its `api` member: the chat identity becomes
     * that member (one record: same role, same company). A chat identity already a member of
     * the same company: the login moves to it, keeping the higher of the two roles, and the
     * `api` member goes. Another company's member, or a login joined before: refused.
     */
    async redeemLinkCode(identity: Identity, value: string): Promise<{ member: Member; email: string }> {
      const now = deps.clock.now();
      const doc = await LinkCode.findOneAndUpdate({ codeHash: sha256(normalCode(value)), usedAt: null, expiresAt: { $gt: now } }, { $set: { usedAt: now } }).lean<LinkCodeDoc>();
      if (!doc) throw new UserError('That link code is unknown, already used or expired. Get a new one with POST /me/link-code.');
      const login = await ApiLogin.findById(doc.loginId).lean<ApiLoginDoc>();
      const current = login ? await MemberModel.findById(login.memberId).lean<MemberDoc>() : null;
      if (!login || !current) throw new UserError('That API login no longer exists.');
      if (current.platform !== API_PLATFORM) throw new UserError('This API login is already joined to a chat identity.');
      const existing = await deps.users.findMember(identity);
      if (!existing) {
        try {
          const moved = await MemberModel.findOneAndUpdate(
            { _id: current._id, platform: API_PLATFORM },
            { $set: { platform: identity.platform, teamId: identity.teamId, platformUserId: identity.userId, displayName: identity.displayName } },
            { returnDocument: 'after' },
          ).lean<MemberDoc>();
          if (!moved) throw new UserError('This API login is already joined to a chat identity.');
          deps.log.info({ loginId: login._id, memberId: moved._id, platform: identity.platform }, 'API login joined a chat identity');
          return { member: toMember(moved), email: login.email };
        } catch (error) {
          if (isDuplicateKey(error)) throw new UserError('This chat identity is already linked to a Reconbanker user.');
          throw error;
        }
      }
      if (existing.userId !== current.userId) throw new UserError('This chat identity acts for another company; an identity acts for one company only.');
      if (await ApiLogin.exists({ memberId: existing.id })) throw new UserError('This chat identity has an API login of its own already.');
      const role = hasRole(current.role as Role, existing.role) ? (current.role as Role) : existing.role;
      await MemberModel.updateOne({ _id: existing.id }, { $set: { role } });
      await ApiLogin.updateOne({ _id: login._id }, { $set: { memberId: existing.id }, $inc: { tokenVersion: 1 } });
      await MemberModel.deleteOne({ _id: current._id, platform: API_PLATFORM });
      deps.log.info({ loginId: login._id, memberId: existing.id }, 'API login joined an existing chat member');
      return { member: { ...existing, role }, email: login.email };
    },

    /** Housekeeping: link codes used or expired. */
    async purge(): Promise<number> {
      const now = deps.clock.now();
      return (await LinkCode.deleteMany({ $or: [{ expiresAt: { $lt: now } }, { usedAt: { $ne: null } }] })).deletedCount;
    },
  };
}

