import { parse } from 'csv-parse/sync';
import type { CsvMapping } from '../domain/csv-mapping.js';
import { isCurrencyCode, parseLocalAmountToMinor } from '../domain/money.js';
import { parseWithFormat } from './dates.js';
import { StatementFileError, type RefusedEntry, type StatementEntry, type StatementParser, type StatementRead } from './types.js';

/**
 * A bank's CSV export read through a column mapping (src/domain/csv-mapping.ts). The text is
 * parsed once whole (csv-parse), which is fine for CSV: exports are small next to camt or MT940
 * and the import caps their size. Each row is an entry or a refusal naming its line.
 */

type Column = string | number;

const MAX_TEXT = 64 * 1024 * 1024;

export function createCsvParser(mapping: CsvMapping): StatementParser {
  const parts: string[] = [];
  let length = 0;
  return {
    write(text) {
      length += text.length;
      if (length > MAX_TEXT) throw new StatementFileError('The CSV file is too large to read at once (over 64 MB of text); split it.');
      parts.push(text);
    },
    end() {
      return readCsv(parts.join(''), mapping);
    },
  };
}

function detectDelimiter(line: string): string {
  let best = ',';
  let bestCount = 0;
  for (const candidate of [';', ',', '\t', '|']) {
    let count = 0;
    let quoted = false;
    for (const char of line) {
      if (char === '"') quoted = !quoted;
      else if (!quoted && char === candidate) count++;
    }
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}

function readCsv(text: string, mapping: CsvMapping): StatementRead {
  const lines = text.split(/\r\n|\n|\r/);
  const firstDataLine = lines.slice(mapping.skip_lines).find((l) => l.trim() !== '') ?? '';
  const delimiter = mapping.delimiter === 'auto' ? detectDelimiter(firstDataLine) : mapping.delimiter;
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter,
      from_line: mapping.skip_lines + 1,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 120) : 'unreadable';
    throw new StatementFileError(`The file is not readable as CSV (${reason}).`);
  }
  if (records.length === 0) throw new StatementFileError('The CSV file has no rows.');

  let header: string[] | undefined;
  if (mapping.header) {
    header = (records.shift()?.record ?? []).map((h) => h.trim().toLowerCase());
  }
  const indexOf = (column: Column | undefined): number | undefined => {
    if (column === undefined) return undefined;
    if (typeof column === 'number') return column - 1;
    if (!header) throw new StatementFileError(`The CSV mapping names the column "${column}" but says the file has no header; number the columns instead.`);
    const index = header.indexOf(column.trim().toLowerCase());
    if (index < 0) throw new StatementFileError(`The CSV file has no column "${column}" (its header: ${header.slice(0, 12).join(', ').slice(0, 200)}).`);
    return index;
  };
  const columns = {
    date: indexOf(mapping.date) as number,
    amount: indexOf(mapping.amount),
    credit: indexOf(mapping.credit),
    debit: indexOf(mapping.debit),
    direction: indexOf(mapping.direction),
    currency: indexOf(mapping.currency),
    payer: indexOf(mapping.payer),
    references: (Array.isArray(mapping.reference) ? mapping.reference : mapping.reference === undefined ? [] : [mapping.reference]).map((c) => indexOf(c) as number),
    description: indexOf(mapping.description),
    id: indexOf(mapping.id),
  };
  const creditMarks = new Set(mapping.credit_marks.map((m) => m.toUpperCase()));

  const entries: StatementEntry[] = [];
  const refused: RefusedEntry[] = [];
  for (const { record, info } of records) {
    const where = `line ${info.lines}`;
    const cell = (index: number | undefined) => (index === undefined ? '' : (record[index] ?? '').trim());
    const refuse = (reason: string) => refused.push({ where, reason });
    const currency = (cell(columns.currency) || mapping.currency_code || '').toUpperCase();
    if (!isCurrencyCode(currency)) {
      refuse(`"${cell(columns.currency).slice(0, 20)}" is not a currency code`);
      continue;
    }
    const dateText = cell(columns.date);
    const bookedAt = parseWithFormat(dateText, mapping.date_format);
    if (!bookedAt) {
      refuse(`the date "${dateText.slice(0, 30)}" is not in the format ${mapping.date_format}`);
      continue;
    }
    const amount = readAmount(cell, columns, mapping, currency, creditMarks);
    if (typeof amount === 'string') {
      refuse(amount);
      continue;
    }
    const id = cell(columns.id);
    const description = cell(columns.description);
    entries.push({
      where,
      direction: amount.direction,
      reversal: false,
      status: 'booked',
      amountMinor: amount.minor,
      currency,
      bookedAt,
      bookedAtText: dateText,
      payer: cell(columns.payer) || null,
      references: columns.references.map((i) => cell(i)).filter(Boolean),
      description,
      bankId: id ? `csv:${id}` : null,
    });
  }
  return { format: 'csv', entries, refused, accountId: null };
}

function readAmount(
  cell: (index: number | undefined) => string,
  columns: { amount?: number; credit?: number; debit?: number; direction?: number },
  mapping: CsvMapping,
  currency: string,
  creditMarks: ReadonlySet<string>,
): { minor: number; direction: 'credit' | 'debit' } | string {
  const other = mapping.decimal === ',' ? '.' : ',';
  const read = (text: string) => {
    // Spaces (also as thousands separators) and a leading plus carry nothing.
    let cleaned = text.replace(/[\s\u00a0\u202f]/g, '').replace(/^\+/, '');
    if (mapping.thousands === "'") cleaned = cleaned.replaceAll("'", '');
    // A trailing minus ("12,50-") is how some banks print money out.
    if (/^[^-].*-$/.test(cleaned)) cleaned = `-${cleaned.slice(0, -1)}`;
    // The other separator only counts where the mapping says it groups thousands.
    if (mapping.thousands !== other && cleaned.includes(other)) return undefined;
    return parseLocalAmountToMinor(cleaned, currency, mapping.decimal);
  };
  if (columns.amount !== undefined) {
    const text = cell(columns.amount);
    const signed = text ? read(text) : undefined;
    if (signed === undefined) return `the amount "${text.slice(0, 30)}" is not an amount (decimal "${mapping.decimal}"${mapping.thousands ? `, thousands "${mapping.thousands}"` : ''})`;
    let direction: 'credit' | 'debit' = signed < 0 ? 'debit' : 'credit';
    if (columns.direction !== undefined) {
      const mark = cell(columns.direction).toUpperCase();
      direction = creditMarks.has(mark) ? 'credit' : 'debit';
      if (signed < 0 && direction === 'credit') return `the amount is negative but the direction "${mark}" says money in`;
    }
    if (signed === 0) return 'the amount is zero';
    return { minor: Math.abs(signed), direction };
  }
  const creditText = cell(columns.credit);
  const debitText = cell(columns.debit);
  if (creditText && debitText) {
    const c = read(creditText);
    const d = read(debitText);
    if (c === 0) return debitOnly(d, debitText);
    if (d === 0) return creditOnly(c, creditText);
    return 'both the credit and the debit column hold an amount';
  }
  if (creditText) return creditOnly(read(creditText), creditText);
  if (debitText) return debitOnly(read(debitText), debitText);
  return 'neither the credit nor the debit column holds an amount';

  function creditOnly(value: number | undefined, text: string) {
    if (value === undefined || value <= 0) return `the credit "${text.slice(0, 30)}" is not a positive amount`;
    return { minor: value, direction: 'credit' as const };
  }
  function debitOnly(value: number | undefined, text: string) {
    if (value === undefined || value === 0) return `the debit "${text.slice(0, 30)}" is not an amount`;
    return { minor: Math.abs(value), direction: 'debit' as const };
  }
}
