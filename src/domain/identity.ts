/** A person on a chat platform: (platform, team, user) is the key; the name is for display. */
export type Identity = {
  platform: string;
  /** Slack team, Discord guild, or a fixed value where the platform has none (Telegram, console). */
  teamId: string;
  userId: string;
  displayName: string;
};

export function identityKey(identity: Identity): string {
  return `${identity.platform}:${identity.teamId}:${identity.userId}`;
}
