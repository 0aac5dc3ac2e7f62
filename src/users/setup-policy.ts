import type { Identity } from '../domain/identity.js';

/**
 * Who may create a new company (`setup`), from SETUP_ALLOWED: anyone, the first person while
 * no company exists, and/or listed platform identities (`telegram:<user id>`,
 * `slack:<team>:<user>`, `discord:<user id>`, `api:<email>` for POST /auth/register). Everyone
 * else joins with an invite.
 */
export type SetupPolicy = { anyone: boolean; firstOwner: boolean; identities: string[] };

export const OPEN_SETUP: SetupPolicy = { anyone: true, firstOwner: false, identities: [] };

/** How a person is named in SETUP_ALLOWED (the team only where the platform has several). */
export function setupId(identity: Identity): string {
  const teamless = identity.platform === 'telegram' || identity.platform === 'discord' || identity.platform === 'console' || identity.platform === 'api';
  return teamless ? `${identity.platform}:${identity.userId}` : `${identity.platform}:${identity.teamId}:${identity.userId}`;
}

/** Pure: whether this identity is listed (`platform:user` matches any team, `platform:team:user` one). */
export function listedForSetup(policy: SetupPolicy, identity: Identity): boolean {
  return policy.identities.some((entry) => {
    const parts = entry.split(':');
    if (parts[0] !== identity.platform) return false;
    return parts.length === 2 ? parts[1] === identity.userId : parts[1] === identity.teamId && parts[2] === identity.userId;
  });
}
