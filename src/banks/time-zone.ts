import { DateTime, IANAZone } from 'luxon';

/**
 * Bank time zones (SPEC §3): a driver declares the bank's IANA zone, never a fixed offset, so
 * the instants of what the bank prints follow its daylight-saving rules. Conversions go
 * through luxon (the ICU zone data of Node), not hand-written offset arithmetic.
 */

/** Fixed-offset names ("UTC+3", "+03:00", "Etc/GMT+3"): a place's zone has rules, these do not. */
const FIXED_OFFSET = /^(?:(?:etc\/)?(?:utc|gmt|ut)\s*)?[+-]\d|^etc\/(?:utc|gmt)[+-]\d/i;

/** Why `zone` cannot be a bank's time zone, or undefined when it can. */
export function timeZoneProblem(zone: string): string | undefined {
  if (FIXED_OFFSET.test(zone.trim())) return `"${zone}" is a fixed offset; declare the bank's IANA time zone (e.g. America/Montevideo)`;
  if (!IANAZone.isValidZone(zone)) return `"${zone}" is not an IANA time zone`;
  return undefined;
}

/** The bank's local day (YYYY-MM-DD) of an instant. */
export function localDayIn(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toISODate() ?? at.toISOString().slice(0, 10);
}

/** The bank's wall-clock date-time of an instant, to the minute ("2026-11-26T14:05"). */
export function localMinuteIn(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat("yyyy-LL-dd'T'HH:mm");
}

/**
 * The instant of a local date-time the bank printed ("2026-11-26T14:05", seconds optional;
 * a date alone is its midnight). A time printed twice when clocks go back is read in the
 * later offset, a time skipped when they go forward is moved past the gap (luxon's rules);
 * identities never depend on this (they hash the printed text).
 */
export function instantIn(local: string, zone: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(local)) return undefined;
  const parsed = DateTime.fromISO(local, { zone });
  return parsed.isValid ? parsed.toJSDate() : undefined;
}
