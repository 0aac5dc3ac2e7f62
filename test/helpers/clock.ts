import type { Clock } from '../../src/domain/clock.js';

export function manualClock(start = new Date('2026-11-01T12:00:00Z')): Clock & { advance(ms: number): void; set(date: Date): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
    set(date) {
      now = date.getTime();
    },
  };
}

/**
 * Real time plus an offset the test can move forward: bank sessions and the sandbox bank
 * agree with it, and a test can still jump days ahead (expiry) without waiting.
 */
export function offsetClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    jump(ms) {
      offset += ms;
    },
  };
}
