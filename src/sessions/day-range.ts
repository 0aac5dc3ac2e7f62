import type { DayRange } from '../banks/driver.js';

/** The bank's local day (YYYY-MM-DD) of an instant. */
export function localDay(at: Date, utcOffsetMinutes: number): string {
  return new Date(at.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/**
 * Whole days to read: from `lookbackDays` before the last day fully read (at least the
 * previous bank day, so late-evening credits are not missed) up to today.
 */
export function readRange(now: Date, utcOffsetMinutes: number, lastReadDay: string | null, lookbackDays: number): DayRange {
  const today = localDay(now, utcOffsetMinutes);
  const anchor = lastReadDay && lastReadDay < today ? lastReadDay : today;
  return { from: addDays(anchor, -Math.max(1, lookbackDays)), to: today };
}
