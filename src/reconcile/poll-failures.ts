/**
 * Telling operators about failed polls without spamming them (pure). A streak of failed polls
 * is told at its first failure, then again when it has lasted 1 h, 6 h and 24 h, then once a
 * day (48 h, 72 h, …); its end is told once ("works again"). Whoever asked for a poll always
 * gets its result.
 */

const HOUR = 3_600_000;

/** How long a streak must have lasted for its n-th "still failing" notice (n from 0). */
export function stillFailingAfterMs(n: number): number {
  if (n === 0) return HOUR;
  if (n === 1) return 6 * HOUR;
  return 24 * HOUR * (n - 1);
}

export type FailureStreak = {
  /** Failed polls in a row before this one. */
  failures: number;
  /** When the streak began (absent on streaks begun before it was kept: taken as now). */
  failingSince: Date | null;
  /** "Still failing" notices already told in this streak. */
  notices: number;
};

export type FailureNotice = { kind: 'first' } | { kind: 'still'; forMs: number } | undefined;

/** What this failed poll should tell operators, and the streak's memory afterwards. */
export function failureNotice(streak: FailureStreak, now: Date): { notice: FailureNotice; failingSince: Date; notices: number } {
  if (streak.failures === 0 || !streak.failingSince) return { notice: streak.failures === 0 ? { kind: 'first' } : undefined, failingSince: streak.failingSince ?? now, notices: 0 };
  const forMs = now.getTime() - streak.failingSince.getTime();
  if (forMs < stillFailingAfterMs(streak.notices)) return { notice: undefined, failingSince: streak.failingSince, notices: streak.notices };
  // A long outage told once per milestone reached, even when several passed since the last poll.
  let notices = streak.notices;
  while (forMs >= stillFailingAfterMs(notices)) notices += 1;
  return { notice: { kind: 'still', forMs }, failingSince: streak.failingSince, notices };
}

/** "1 h", "6 h", "2 d 3 h": how long a streak has lasted, for people. */
export function streakLength(ms: number): string {
  const hours = Math.floor(ms / HOUR);
  if (hours < 1) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (hours < 48) return `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}
