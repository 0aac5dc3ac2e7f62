import { z } from 'zod';

/**
 * How a bank's CSV export maps onto a movement: which column holds what, and how numbers and
 * dates are written. Columns are named by their header (case and surrounding spaces ignored) or
 * numbered from 1.
 */

const column = z.union([z.string().trim().min(1).max(100), z.number().int().min(1).max(500)]);

export const DATE_FORMAT = /^(?=.*YY)(?=.*M)(?=.*D)[YMD./\- ]{4,12}$/;

const fields = {
  delimiter: z.enum([',', ';', '\t', '|', 'auto']),
  /** Lines before the header (or before the first row when there is no header). */
  skip_lines: z.number().int().min(0).max(100),
  header: z.boolean(),
  date: column,
  date_format: z.string().regex(DATE_FORMAT, 'a date format of YYYY (or YY), MM (or M) and DD (or D) with separators, e.g. DD.MM.YYYY'),
  /** One signed column (negative = money out)… */
  amount: column,
  /** …or two columns, one for money in and one for money out. */
  credit: column,
  debit: column,
  /** A column saying which way the money went, with the values that mean "in". */
  direction: column,
  credit_marks: z.array(z.string().trim().min(1).max(10)).min(1).max(10),
  currency: column,
  /** The currency of every row, when the file has no currency column. */
  currency_code: z.string().regex(/^[A-Za-z]{3}$/, 'a three-letter currency code'),
  payer: column,
  reference: z.union([column, z.array(column).min(1).max(5)]),
  description: column,
  id: column,
  decimal: z.enum(['.', ',']),
  thousands: z.enum(['', '.', ',', ' ', "'"]),
  encoding: z.enum(['auto', 'utf-8', 'windows-1252', 'iso-8859-15', 'iso-8859-1']),
};

/** An account's own mapping keys, each checked alone (a preset fills in the rest). */
export const csvMappingOverrides = z.object(fields).partial().strict();

const DEFAULTS = { delimiter: 'auto', skip_lines: 0, header: true, date_format: 'YYYY-MM-DD', credit_marks: ['C', 'CR', 'CRDT', 'H', '+'], decimal: '.', thousands: '', encoding: 'auto' } as const;

export const csvMappingSchema = z
  .object({
    ...fields,
    amount: fields.amount.optional(),
    credit: fields.credit.optional(),
    debit: fields.debit.optional(),
    direction: fields.direction.optional(),
    currency: fields.currency.optional(),
    currency_code: fields.currency_code.optional(),
    payer: fields.payer.optional(),
    reference: fields.reference.optional(),
    description: fields.description.optional(),
    id: fields.id.optional(),
  })
  .strict()
  .refine((m) => (m.amount !== undefined) !== (m.credit !== undefined || m.debit !== undefined), {
    message: 'give either amount (one signed column) or credit and/or debit columns, not both',
  })
  .refine((m) => m.currency !== undefined || m.currency_code !== undefined, { message: 'give a currency column or currency_code' })
  .refine((m) => m.decimal !== m.thousands, { message: 'the decimal and thousands separators must differ' });

export type CsvMapping = z.output<typeof csvMappingSchema>;
export type CsvMappingInput = z.input<typeof csvMappingOverrides>;

/** Mappings for common export shapes; an account names one and may override any key. */
export const CSV_PRESETS: Record<string, Partial<CsvMappingInput> & { summary: string }> = {
  generic: {
    summary: 'header "date,amount,currency,payer,reference,id"; ISO dates; signed amounts with a decimal point',
    date: 'date',
    amount: 'amount',
    currency: 'currency',
    payer: 'payer',
    reference: 'reference',
    id: 'id',
  },
  'debit-credit': {
    summary: 'header "Date,Description,Payer,Reference,Debit,Credit"; ISO dates; currency from currency_code',
    date: 'Date',
    debit: 'Debit',
    credit: 'Credit',
    payer: 'Payer',
    reference: 'Reference',
    description: 'Description',
  },
  'de-bank': {
    summary: 'German online-banking export: ";" separated, "Buchungstag;…;Auftraggeber/Empfänger;Verwendungszweck;Betrag;Währung", DD.MM.YYYY, 1.234,56',
    delimiter: ';',
    date: 'Buchungstag',
    date_format: 'DD.MM.YYYY',
    amount: 'Betrag',
    currency: 'Währung',
    payer: 'Auftraggeber/Empfänger',
    reference: 'Verwendungszweck',
    decimal: ',',
    thousands: '.',
  },
  'us-bank': {
    summary: 'header "Date,Description,Amount,Reference"; MM/DD/YYYY; 1,234.56; currency from currency_code',
    date: 'Date',
    date_format: 'MM/DD/YYYY',
    amount: 'Amount',
    payer: 'Description',
    reference: 'Reference',
    thousands: ',',
  },
};

/** A preset with the account's own keys over it, validated. */
export function resolveCsvMapping(preset: string | undefined, overrides: Record<string, unknown> = {}): { mapping: CsvMapping } | { error: string } {
  let base: Record<string, unknown> = {};
  if (preset) {
    const found = CSV_PRESETS[preset];
    if (!found) return { error: `There is no CSV preset "${preset.slice(0, 40)}"; presets: ${Object.keys(CSV_PRESETS).join(', ')}.` };
    const { summary: _summary, ...keys } = found;
    base = keys;
  }
  const parsed = csvMappingSchema.safeParse({ ...DEFAULTS, ...base, ...overrides });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    return { error: `The CSV mapping is not usable${field ? ` (${field})` : ''}: ${issue?.message ?? 'invalid'}.` };
  }
  return { mapping: parsed.data };
}
