import type { DayRange } from '../banks/driver.js';
import { localDayIn } from '../banks/time-zone.js';

/** The bank's local day (YYYY-MM-DD) of an instant, in its IANA time zone. */
export function localDay(at: Date, timeZone: string): string {
  return localDayIn(at, timeZone);
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
export function readRange(now: Date, timeZone: string, lastReadDay: string | null, lookbackDays: number): DayRange {
  const today = localDay(now, timeZone);
  const anchor = lastReadDay && lastReadDay < today ? lastReadDay : today;
  return { from: addDays(anchor, -Math.max(1, lookbackDays)), to: today };
}
