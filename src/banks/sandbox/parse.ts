import { z } from 'zod';
import { parseLocalAmountToMinor } from '../../domain/money.js';
import type { RawTransaction } from '../driver.js';
import { instantIn } from '../time-zone.js';

/** One movement row as the sandbox prints it: strings straight from the page. */
export const sandboxRowSchema = z.object({
  date: z.string().regex(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/, 'date must look like DD/MM/YYYY HH:MM'),
  description: z.string(),
  sender: z.string(),
  reference: z.string(),
  amount: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be a 3-letter code'),
});
export type SandboxRow = z.infer<typeof sandboxRowSchema>;

/** "26/11/2026 14:05" → "2026-11-26T14:05": the bank's local date-time as printed, in ISO form; undefined if it is no real date. */
export function printedDateTime(text: string): string | undefined {
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [day, month, year, hour, minute] = m.slice(1) as [string, string, string, string, string];
  const [d, mo, y] = [Number(day), Number(month), Number(year)];
  // Reject 31/02 and the like: the calendar must have that day (day 0 of the next month is this month's last).
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate() || Number(hour) > 23 || Number(minute) > 59) return undefined;
  return `${year}-${month}-${day}T${hour}:${minute}`;
}

/** Pure: a row of strings → a normalised transaction, or the reason it cannot be read. */
export function parseSandboxRow(raw: unknown, timeZone: string): { ok: true; transaction: RawTransaction } | { ok: false; reason: string } {
  const row = sandboxRowSchema.safeParse(raw);
  if (!row.success) return { ok: false, reason: row.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const printedAt = printedDateTime(row.data.date);
  const receivedAt = printedAt ? instantIn(printedAt, timeZone) : undefined;
  if (!printedAt || !receivedAt) return { ok: false, reason: `date "${row.data.date}" is not a real date` };
  const amountMinor = parseLocalAmountToMinor(row.data.amount, row.data.currency, ',');
  if (amountMinor === undefined) return { ok: false, reason: `amount "${row.data.amount}" is not a number the bank prints` };
  const sender = row.data.sender.trim();
  const reference = row.data.reference.trim();
  return {
    ok: true,
    transaction: {
      receivedAt,
      printedAt,
      amountMinor,
      currency: row.data.currency,
      senderName: sender === '' ? null : sender,
      description: row.data.description.trim(),
      bankReference: reference === '' ? null : reference,
    },
  };
}
