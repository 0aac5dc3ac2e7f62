/**
 * Dates as statement files print them. A date without a time is midnight UTC of that date; a
 * date-time without an offset is read as UTC (the formats leave its zone to the bank).
 */

function utcDate(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): Date | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls 31 February over into March: such a date was not a date.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date;
}

/** ISO 8601 as camt uses it: `2026-11-30`, `2026-11-30T10:15:00`, with fractions and `Z` or `±hh:mm`. */
export function parseIsoDateOrDateTime(text: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const date = utcDate(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number(((fraction ?? '') + '000').slice(0, 3)));
  if (!date) return undefined;
  return new Date(date.getTime() - zoneMinutes(zone) * 60_000);
}

function zoneMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

/** `YYMMDD` (SWIFT): years 00–79 are 2000–2079, 80–99 are 1980–1999. */
export function parseYymmdd(text: string): Date | undefined {
  const match = /^(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const yy = Number(match[1]);
  return utcDate(yy < 80 ? 2000 + yy : 1900 + yy, Number(match[2]), Number(match[3]));
}

/**
 * An `MMDD` date without a year, near a known date: the year that puts it closest (an entry
 * booked on 2 January for a value date of 31 December is in the next year).
 */
export function nearestMmdd(text: string, near: Date): Date | undefined {
  const match = /^(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const year = near.getUTCFullYear();
  let best: Date | undefined;
  for (const candidate of [year - 1, year, year + 1]) {
    const date = utcDate(candidate, Number(match[1]), Number(match[2]));
    if (date && (!best || Math.abs(date.getTime() - near.getTime()) < Math.abs(best.getTime() - near.getTime()))) best = date;
  }
  return best;
}

/** OFX: `YYYYMMDD[HHMMSS[.XXX]][[-5:EST]]`. */
export function parseOfxDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,3}))?)?)?\s*(?:\[\s*([+-]?\d{1,2}(?:\.\d+)?)(?::[^\]]*)?\])?$/.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms, offset] = match;
  const date = utcDate(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number((ms ?? '0').padEnd(3, '0')));
  if (!date) return undefined;
  // Without a time there is no zone to apply: the date stays the date the bank printed.
  if (!offset || h === undefined) return date;
  return new Date(date.getTime() - Number(offset) * 3_600_000);
}

export type DateFormat = string;

/**
 * A date in a column-mapped format: tokens `YYYY`, `YY`, `MM`, `M`, `DD`, `D`, and any other
 * characters as separators, e.g. `DD.MM.YYYY`, `MM/DD/YYYY`, `YYYYMMDD`. A time after the date
 * (`2026-11-30 14:05`) is ignored: CSV exports print booking days.
 */
export function parseWithFormat(text: string, format: DateFormat): Date | undefined {
  const tokens = format.match(/YYYY|YY|MM|M|DD|D|[^YMD]+/g);
  if (!tokens) return undefined;
  let pattern = '^';
  const order: string[] = [];
  for (const token of tokens) {
    if (token === 'YYYY') pattern += '(\\d{4})';
    else if (token === 'YY') pattern += '(\\d{2})';
    else if (token === 'MM' || token === 'DD') pattern += '(\\d{2})';
    else if (token === 'M' || token === 'D') pattern += '(\\d{1,2})';
    else {
      pattern += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    order.push(token);
  }
  const match = new RegExp(`${pattern}(?:[ T].*)?$`).exec(text.trim());
  if (!match) return undefined;
  let year = 0;
  let month = 0;
  let day = 0;
  order.forEach((token, i) => {
    const value = Number(match[i + 1]);
    if (token === 'YYYY') year = value;
    else if (token === 'YY') year = value < 80 ? 2000 + value : 1900 + value;
    else if (token.startsWith('M')) month = value;
    else day = value;
  });
  return utcDate(year, month, day);
}
