import { randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { ChatActionDoc, Models } from '../store/models.js';

/** Stored button actions (see the ChatAction model): made by notifications, taken by a press. */
export type ChatActions = ReturnType<typeof createChatActions>;

export type TakenAction = { ok: true; action: ChatActionDoc } | { ok: false; reason: string };

export function createChatActions(deps: { models: Models; clock: Clock; ttlMs: number }) {
  const { ChatAction } = deps.models;
  return {
    async create(userId: string, command: string): Promise<string> {
      const id = `a${randomBytes(9).toString('base64url')}`;
      await ChatAction.create({ _id: id, userId, command, expiresAt: new Date(deps.clock.now().getTime() + deps.ttlMs) });
      return id;
    },

    /**
     * The stored command of a pressed button, for a member of the user it was made for. It is
     * not spent by a press: the command itself answers a repeat ("already matched"), and a
     * press by someone without the role is refused by the command without using it up.
     */
    async find(id: string, userId: string): Promise<TakenAction> {
      const action = await ChatAction.findById(id).lean<ChatActionDoc>();
      if (!action || action.userId !== userId) return { ok: false, reason: 'This button is not one of yours, or it no longer exists.' };
      if (action.expiresAt <= deps.clock.now()) return { ok: false, reason: 'This button has expired; run the command instead.' };
      return { ok: true, action };
    },

    async purgeExpired(): Promise<number> {
      const result = await ChatAction.deleteMany({ expiresAt: { $lt: deps.clock.now() } });
      return result.deletedCount ?? 0;
    },
  };
}
