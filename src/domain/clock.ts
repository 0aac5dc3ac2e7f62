/** Time comes from here so tests control it. */
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };
