import { z } from 'zod';
import { parseLocalAmountToMinor } from '../../domain/money.js';
import type { RawTransaction } from '../driver.js';

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

/** "26/11/2026 14:05" at `offsetMinutes` from UTC → the instant. */
export function parseLocalDateTime(text: string, offsetMinutes: number): Date | undefined {
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [, day, month, year, hour, minute] = m.map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute) - offsetMinutes * 60_000;
  const date = new Date(utc);
  // Reject 31/02 and the like: the round trip must give back the same day.
  if (new Date(utc + offsetMinutes * 60_000).getUTCDate() !== day) return undefined;
  return date;
}

/** Pure: a row of strings → a normalised transaction, or the reason it cannot be read. */
export function parseSandboxRow(raw: unknown, offsetMinutes: number): { ok: true; transaction: RawTransaction } | { ok: false; reason: string } {
  const row = sandboxRowSchema.safeParse(raw);
  if (!row.success) return { ok: false, reason: row.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const receivedAt = parseLocalDateTime(row.data.date, offsetMinutes);
  if (!receivedAt) return { ok: false, reason: `date "${row.data.date}" is not a real date` };
  const amountMinor = parseLocalAmountToMinor(row.data.amount, row.data.currency, ',');
  if (amountMinor === undefined) return { ok: false, reason: `amount "${row.data.amount}" is not a number the bank prints` };
  const sender = row.data.sender.trim();
  const reference = row.data.reference.trim();
  return {
    ok: true,
    transaction: {
      receivedAt,
      amountMinor,
      currency: row.data.currency,
      senderName: sender === '' ? null : sender,
      description: row.data.description.trim(),
      bankReference: reference === '' ? null : reference,
    },
  };
}
