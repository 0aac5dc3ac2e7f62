import { isCurrencyCode, parseDecimalToMinor } from '../domain/money.js';
import { nearestMmdd, parseYymmdd } from './dates.js';
import { createLineSplitter } from './text.js';
import { StatementFileError, type RefusedEntry, type StatementEntry, type StatementParser, type StatementRead } from './types.js';
import { appendTo } from '../domain/collections.js';

/**
 * SWIFT MT940 (customer statement) and MT942 (interim report), line by line: a field starts
 * with `:tag:` at the start of a line and every other line continues it. A file may hold many
 * messages (multi-page statements: `:28C:` sequence numbers, `:60M:`/`:62M:` balances), with or
 * without the `{1:…}{4:` envelope, and need not end with a newline.
 *
 * `:61:` gives the value date (YYMMDD), an optional booking date (MMDD, its year taken as the
 * one nearest the value date), the mark `C`/`D`/`RC`/`RD` (R: a reversal), an optional funds
 * code, the amount with a decimal comma, the transaction type, the customer's reference and,
 * after `//`, the bank's reference. `:86:` is free text, or structured: German `?20`–`?63`
 * subfields (`?32`/`?33` the payer, SEPA `EREF+`, `SVWZ+`, `ABWA+` in the purpose lines) or
 * `/TAG/value` pairs (`/NAME/`, `/ORDP//NAME/`, `/REMI/`, `/EREF/`).
 */

const FIELD = /^:(\d{2}[A-Z]?):(.*)$/;
const LINE_61 = /^(\d{6})(\d{4})?(RC|RD|EC|ED|C|D)([A-Z])?(\d{1,15}(?:,\d*)?)([NSF][A-Z0-9]{3})?([^\n]*?)(?:\/\/([^\n]*))?(?:\n([\s\S]*))?$/;

/** Customer references that only say "none" or "see :86:". */
const PLACEHOLDER_REFERENCES = new Set(['NONREF', 'EREF', 'NOTPROVIDED', 'NONE']);

type Pending = { tag: string; value: string; line: number };
type Entry61 = { entry: StatementEntry; line: number };

export function createMt940Parser(): StatementParser {
  const entries: StatementEntry[] = [];
  const refused: RefusedEntry[] = [];
  const accounts = new Set<string>();
  let currency: string | undefined;
  let field: Pending | undefined;
  let last61: Entry61 | undefined;
  let sawStatement = false;
  let sawAnyField = false;

  function finishField() {
    if (!field) return;
    const { tag, value, line } = field;
    field = undefined;
    sawAnyField = true;
    if (tag === '20') {
      sawStatement = true;
      last61 = undefined;
    } else if (tag === '25') {
      accounts.add(value.trim().replace(/\s+/g, '').toUpperCase());
    } else if (tag === '60F' || tag === '60M' || tag === '34F') {
      // The opening balance (MT940) or the floor limit (MT942) carries the currency.
      const match = tag === '34F' ? /^([A-Z]{3})/.exec(value.trim()) : /^[CD]\d{6}([A-Z]{3})/.exec(value.trim());
      if (match?.[1]) currency = match[1];
    } else if (tag === '61') {
      last61 = undefined;
      read61(value, line);
    } else if (tag === '86') {
      if (last61) applyDetails(last61.entry, value);
    }
  }

  function read61(value: string, line: number) {
    const where = `line ${line}`;
    const match = LINE_61.exec(value.trim().replace(/\r/g, ''));
    if (!match) return refused.push({ where, reason: 'the :61: line is not a statement line (date, C/D mark, amount)' });
    const [, valueDateText, entryDateText, mark, , amountText, type, customerRef, bankRef, extra] = match;
    if (!currency || !isCurrencyCode(currency)) return refused.push({ where, reason: 'no currency: the statement has no opening balance (:60F:) before it' });
    const valueDate = parseYymmdd(valueDateText as string);
    if (!valueDate) return refused.push({ where, reason: `the value date "${valueDateText}" is not a date` });
    const bookedAt = entryDateText ? nearestMmdd(entryDateText, valueDate) : valueDate;
    if (!bookedAt) return refused.push({ where, reason: `the booking date "${entryDateText}" is not a date` });
    const minor = parseDecimalToMinor((amountText as string).replace(',', '.').replace(/\.$/, ''), currency);
    if (minor === undefined) return refused.push({ where, reason: `the amount "${amountText}" is not an amount in ${currency}` });
    const reversal = mark === 'RC' || mark === 'RD';
    // RC is the reversal of a credit, booked as money out; RD the reversal of a debit, money in.
    const direction = mark === 'C' || mark === 'EC' || mark === 'RD' ? 'credit' : 'debit';
    const customer = (customerRef ?? '').trim();
    const bank = (bankRef ?? '').trim();
    const entry: StatementEntry = {
      where,
      direction,
      reversal,
      status: mark === 'EC' || mark === 'ED' ? 'pending' : 'booked',
      amountMinor: minor,
      currency,
      bookedAt,
      bookedAtText: `${valueDateText}${entryDateText ?? ''}`,
      payer: null,
      references: customer && !PLACEHOLDER_REFERENCES.has(customer.toUpperCase()) ? [customer] : [],
      description: [type, (extra ?? '').trim()].filter(Boolean).join(' '),
      bankId: bank && bank.toUpperCase() !== 'NONREF' ? `mt940:${bank}` : null,
    };
    entries.push(entry);
    last61 = { entry, line };
  }

  const lines = createLineSplitter((raw, number) => {
    const line = raw.replace(/\s+$/, '');
    if (line === '' ) return;
    // The envelope around a message: `{1:…}{2:…}{4:` opens it, `-}` closes it.
    if (/^\{\d:/.test(line)) {
      finishField();
      const rest = line.replace(/^(\{\d:[^{}]*\}?)+/, '');
      if (rest.startsWith(':')) handleLine(rest, number);
      return;
    }
    if (line === '-' || line === '-}' || /^-\}/.test(line) || /^\{5:/.test(line)) {
      finishField();
      return;
    }
    handleLine(line, number);
  });

  function handleLine(line: string, number: number) {
    const match = FIELD.exec(line);
    if (match) {
      finishField();
      field = { tag: match[1] as string, value: match[2] as string, line: number };
    } else if (field) {
      field.value += `\n${line}`;
    }
  }

  return {
    write: lines.write,
    end(): StatementRead {
      lines.end();
      finishField();
      if (!sawAnyField || !sawStatement) throw new StatementFileError('The file is not an MT940/MT942 statement (no :20: field).');
      if (accounts.size > 1) throw new StatementFileError(`The file covers ${accounts.size} accounts; import one account's statements at a time.`);
      return { format: 'mt940', entries, refused, accountId: [...accounts][0] ?? null };
    },
  };
}

/** Reads a `:86:` field into the entry it follows. */
function applyDetails(entry: StatementEntry, value: string) {
  const text = value.replace(/\r/g, '');
  const flat = text.replace(/\n/g, '');
  if (/^\d{3}\?\d{2}|^\?\d{2}/.test(flat) || /\?2\d/.test(flat.slice(0, 12))) return applyGermanStructure(entry, flat);
  if (/^\/[A-Z]{2,4}\//.test(flat)) return applySlashTags(entry, flat);
  const free = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  if (free) {
    entry.references.push(free);
    entry.description = [entry.description, free].filter(Boolean).join(' · ');
  }
}

const SUBFIELD_WIDTH = 27;

/** Joins fixed-width pieces: a piece filled to its width was cut mid-word, so no space after it. */
function joinPieces(pieces: string[], width = SUBFIELD_WIDTH): string {
  let out = '';
  pieces.forEach((piece, i) => {
    out += piece;
    if (i < pieces.length - 1 && piece.length < width) out += ' ';
  });
  return out.replace(/\s+/g, ' ').trim();
}

const SEPA_KEYS = ['EREF', 'KREF', 'MREF', 'CRED', 'DEBT', 'SVWZ', 'ABWA', 'ABWE', 'IBAN', 'BIC', 'COAM', 'OAMT'];

/** German DFÜ structure (`GVC?00…?20…?32…`). */
function applyGermanStructure(entry: StatementEntry, flat: string) {
  const subfields = new Map<string, string[]>();
  const code = /^(\d{3})/.exec(flat)?.[1];
  for (const match of flat.matchAll(/\?(\d{2})([^?]*)/g)) {
    const key = match[1] as string;
    appendTo(subfields, key, match[2] ?? '');
  }
  const get = (key: string) => subfields.get(key) ?? [];
  const purposeKeys = ['20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '60', '61', '62', '63'];
  const purposePieces = purposeKeys.flatMap(get);
  const posting = get('00').join(' ').trim();
  const nameText = joinPieces([...get('32'), ...get('33')]);
  // SEPA keywords may run over a piece's end (pieces are cut at 27 characters), so the pieces are
  // joined with a mark where each was cut: a keyword starts at a piece's start or after a space.
  const CUT = '\u0001';
  const BREAK = '\u0002';
  const joined = purposePieces.map((piece, i) => (i === 0 ? '' : (purposePieces[i - 1] as string).length >= SUBFIELD_WIDTH ? CUT : BREAK) + piece).join('');
  const keyed = new Map<string, string>();
  const starts = [...joined.matchAll(new RegExp(`(?:^|[\\s${CUT}${BREAK}])(${SEPA_KEYS.join('|')})\\+`, 'g'))];
  const clean = (text: string) => text.replaceAll(CUT, '').replaceAll(BREAK, ' ').replace(/\s+/g, ' ').trim();
  starts.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = i + 1 < starts.length ? (starts[i + 1]?.index ?? joined.length) : joined.length;
    keyed.set(m[1] as string, clean(joined.slice(start, end)));
  });
  const purpose = starts.length > 0 ? keyed.get('SVWZ') ?? '' : joinPieces(purposePieces);
  const references = [keyed.get('EREF'), keyed.get('KREF'), purpose].filter((r): r is string => !!r && r.toUpperCase() !== 'NOTPROVIDED');
  entry.references.push(...references);
  entry.payer = keyed.get('ABWA') || nameText || null;
  entry.description = [entry.description, posting, code ? `GVC ${code}` : ''].filter(Boolean).join(' · ');
}

const SLASH_TAGS = new Set(['NAME', 'ORDP', 'BENM', 'REMI', 'EREF', 'PREF', 'MARF', 'CSID', 'CNTP', 'IBAN', 'BIC', 'ADDR', 'TRCD', 'BUSP', 'ISDT', 'ID', 'RTRN', 'ULTD', 'ULTC', 'ULTB', 'PURP', 'SVCL', 'CDTRREF', 'CDTRREFTP', 'CD', 'ISSR', 'USTD', 'STRD', 'CUR', 'ACCW', 'OCMT', 'CHGS', 'EXCH', 'INSTR', 'EXTRA']);

/** SWIFT-style `/TAG/value/TAG/value` (ING, Rabobank, ABN AMRO and others). */
function applySlashTags(entry: StatementEntry, flat: string) {
  const tokens = flat.split('/');
  const fields: { tag: string; parts: string[] }[] = [];
  for (const token of tokens.slice(1)) {
    if (SLASH_TAGS.has(token)) fields.push({ tag: token, parts: [] });
    else fields.at(-1)?.parts.push(token);
  }
  const value = (tag: string) => {
    const found = fields.find((f) => f.tag === tag);
    return found ? found.parts.filter((p) => p !== '').join('/').trim() : undefined;
  };
  // CNTP is account/BIC/name/city; ORDP and ULTD are followed by their own NAME sub-tag.
  const cntp = fields.find((f) => f.tag === 'CNTP')?.parts;
  const nameFromCntp = cntp && cntp.length >= 3 ? cntp[2]?.trim() : undefined;
  const ultimate = (() => {
    const index = fields.findIndex((f) => f.tag === 'ULTD');
    if (index < 0) return undefined;
    const next = fields[index + 1];
    return next?.tag === 'NAME' ? next.parts.filter(Boolean).join('/').trim() : value('ULTD');
  })();
  const name = value('NAME') || nameFromCntp;
  // REMI holds its own sub-tags: USTD (unstructured text) or STRD/CUR (a creditor reference).
  const remittance = value('REMI') || value('USTD') || value('CUR') || value('CDTRREF');
  const references = [value('EREF'), value('PREF'), remittance].filter((r): r is string => !!r && r.toUpperCase() !== 'NOTPROVIDED');
  entry.references.push(...references);
  entry.payer = ultimate || name || null;
  const trcd = value('TRCD');
  if (trcd) entry.description = [entry.description, `TRCD ${trcd}`].filter(Boolean).join(' · ');
}
