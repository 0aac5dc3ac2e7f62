import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { Models } from '../store/models.js';

/**
 * Realtime tickets (SPEC §6): `POST /realtime/ticket` gives a signed-in user an opaque ticket
 * that opens one WebSocket within 30 seconds. Only its SHA-256 is stored, so any API process
 * accepts it; taking it marks it used in the same atomic update, so it opens one socket only.
 */

export const TICKET_TTL_SECONDS = 30;
const PURGE_EVERY_MS = 60_000;

/** What a ticket looks like (43 base64url characters: a valid WebSocket subprotocol token). */
export const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type RealtimeTickets = {
  issue(userId: string): Promise<{ ticket: string; ttl_seconds: number }>;
  /** The ticket's user, once: unknown, expired and already used tickets give null. */
  redeem(ticket: string): Promise<{ userId: string } | null>;
};

function hash(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}

export function createRealtimeTickets(deps: { models: Models; clock: Clock; ttlSeconds?: number }): RealtimeTickets {
  const { RealtimeTicket } = deps.models;
  const ttlSeconds = deps.ttlSeconds ?? TICKET_TTL_SECONDS;
  let purgedAt = 0;
  return {
    async issue(userId) {
      const now = deps.clock.now();
      const ticket = randomBytes(32).toString('base64url');
      await RealtimeTicket.create({ _id: hash(ticket), userId, expiresAt: new Date(now.getTime() + ttlSeconds * 1000), usedAt: null });
      if (now.getTime() - purgedAt > PURGE_EVERY_MS) {
        purgedAt = now.getTime();
        await RealtimeTicket.deleteMany({ expiresAt: { $lt: now } });
      }
      return { ticket, ttl_seconds: ttlSeconds };
    },
    async redeem(ticket) {
      if (!TICKET_PATTERN.test(ticket)) return null;
      const now = deps.clock.now();
      const taken = await RealtimeTicket.findOneAndUpdate({ _id: hash(ticket), usedAt: null, expiresAt: { $gt: now } }, { $set: { usedAt: now } }).lean();
      return taken ? { userId: taken.userId } : null;
    },
  };
}
