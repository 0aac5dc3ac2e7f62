import { isCurrencyCode, parseDecimalToMinor } from '../domain/money.js';
import { parseOfxDate } from './dates.js';
import { StatementFileError, type RefusedEntry, type StatementEntry, type StatementParser, type StatementRead } from './types.js';

/**
 * OFX 1.x (SGML: leaf elements need no closing tag), OFX 2.x (XML) and Quicken's QFX (OFX with
 * Intuit's extra elements). Read as a stream of tags: an opening tag followed by text is a leaf
 * value; one followed by another tag opens an aggregate. Each `STMTTRN` is one entry; `CURDEF`
 * of its statement gives the currency unless the transaction has its own.
 */

const MAX_DEPTH = 64;

type Aggregate = { name: string; values: Map<string, string>; children: Aggregate[] };

export function createOfxParser(): StatementParser {
  const entries: StatementEntry[] = [];
  const refused: RefusedEntry[] = [];
  const accounts = new Set<string>();
  const stack: Aggregate[] = [];
  let buffer = '';
  let sawOfx = false;
  let transactionNumber = 0;
  let statementCurrency: string | undefined;
  /**
   * The tag opened last, not yet known to be a leaf or an aggregate: text before the next tag
   * makes it a leaf (SGML leaves need no closing tag); another tag first makes it an aggregate.
   */
  let current: { name: string; text: string } | undefined;

  function setValue(name: string, raw: string) {
    const value = decodeEntities(raw.trim());
    if (value === '') return;
    if (name === 'CURDEF') statementCurrency = value.toUpperCase();
    stack.at(-1)?.values.set(name, value);
  }

  /** Decides what the pending tag was, before another tag is seen. */
  function settle() {
    if (!current) return;
    const { name, text } = current;
    current = undefined;
    if (text.trim() !== '') return setValue(name, text);
    if (name === 'OFX') sawOfx = true;
    if (stack.length >= MAX_DEPTH) throw new StatementFileError(`The file is not an OFX statement (elements nested deeper than ${MAX_DEPTH} levels).`);
    if (name === 'STMTRS' || name === 'CCSTMTRS') statementCurrency = undefined;
    const aggregate: Aggregate = { name, values: new Map(), children: [] };
    stack.at(-1)?.children.push(aggregate);
    stack.push(aggregate);
  }

  function closeTag(name: string) {
    if (current?.name === name) {
      const { text } = current;
      current = undefined;
      return setValue(name, text);
    }
    // An unclosed SGML leaf is left as is (empty), then the aggregate this tag closes is popped.
    if (current && current.text.trim() !== '') setValue(current.name, current.text);
    current = undefined;
    const index = stack.map((a) => a.name).lastIndexOf(name);
    if (index < 0) return;
    while (stack.length > index) finished(stack.pop() as Aggregate);
  }

  function finished(aggregate: Aggregate) {
    const parent = stack.at(-1);
    if (aggregate.name === 'STMTTRN') {
      transactionNumber++;
      readTransaction(aggregate, transactionNumber);
      // Dropped once read, so a long statement does not keep every transaction in memory.
      if (parent?.children.at(-1) === aggregate) parent.children.pop();
    } else if (aggregate.name === 'BANKACCTFROM' || aggregate.name === 'CCACCTFROM') {
      const id = aggregate.values.get('ACCTID');
      if (id) accounts.add(id.replace(/\s+/g, '').toUpperCase());
    }
  }

  function readTransaction(trn: Aggregate, number: number) {
    const where = `STMTTRN ${number}`;
    const get = (name: string) => trn.values.get(name);
    const nested = (aggregate: string, name: string) => trn.children.find((c) => c.name === aggregate)?.values.get(name);
    const currency = (nested('CURRENCY', 'CURSYM') ?? nested('ORIGCURRENCY', 'CURSYM') ?? statementCurrency ?? '').toUpperCase();
    if (!isCurrencyCode(currency)) return refused.push({ where, reason: 'no currency (CURDEF of the statement)' });
    const amountText = get('TRNAMT');
    if (!amountText) return refused.push({ where, reason: 'no amount (TRNAMT)' });
    const normalised = amountText.replace(/^\+/, '').replace(/,(\d{1,3})$/, '.$1');
    const signed = parseDecimalToMinor(normalised, currency);
    if (signed === undefined) return refused.push({ where, reason: `the amount "${amountText.slice(0, 30)}" is not an amount in ${currency}` });
    const dateText = get('DTPOSTED') ?? get('DTUSER');
    const bookedAt = dateText ? parseOfxDate(dateText) : undefined;
    if (!dateText || !bookedAt) return refused.push({ where, reason: dateText ? `the date "${dateText.slice(0, 40)}" is not an OFX date` : 'no posting date (DTPOSTED)' });
    if (get('CORRECTACTION') === 'DELETE') return refused.push({ where, reason: `the bank withdraws transaction ${get('CORRECTFITID') ?? '?'} (CORRECTACTION DELETE): check it by hand` });
    const fitid = get('FITID');
    const memo = get('MEMO');
    const checkNumber = get('CHECKNUM');
    const entry: StatementEntry = {
      where,
      direction: signed < 0 ? 'debit' : 'credit',
      reversal: false,
      status: 'booked',
      amountMinor: Math.abs(signed),
      currency,
      bookedAt,
      bookedAtText: dateText,
      payer: get('NAME') ?? nested('PAYEE', 'NAME') ?? null,
      references: [memo, get('REFNUM'), checkNumber ? `check ${checkNumber}` : undefined].filter((r): r is string => !!r),
      description: [get('TRNTYPE'), memo].filter(Boolean).join(' · '),
      bankId: fitid ? `fitid:${fitid}` : null,
    };
    const corrected = get('CORRECTFITID');
    if (corrected) entry.replaces = `fitid:${corrected}`;
    entries.push(entry);
  }

  function consume() {
    let position = 0;
    for (;;) {
      const lt = buffer.indexOf('<', position);
      const textEnd = lt < 0 ? buffer.length : lt;
      if (current) current.text += buffer.slice(position, textEnd);
      position = textEnd;
      if (lt < 0) break;
      const gt = buffer.indexOf('>', lt);
      if (gt < 0) break;
      const tag = buffer.slice(lt + 1, gt).trim();
      position = gt + 1;
      if (tag.startsWith('?') || tag.startsWith('!')) continue;
      if (tag.startsWith('/')) {
        closeTag(tag.slice(1).trim().toUpperCase());
        continue;
      }
      const name = (tag.split(/\s/)[0] ?? '').toUpperCase();
      if (!/^[A-Z0-9.]+$/.test(name)) continue;
      settle();
      current = { name, text: '' };
    }
    buffer = buffer.slice(position);
    if (buffer.length > 1 << 16) throw new StatementFileError('The file is not an OFX statement (a tag is never closed).');
  }

  return {
    write(text) {
      buffer += text;
      consume();
    },
    end(): StatementRead {
      consume();
      if (current) {
        const { name, text } = current;
        current = undefined;
        setValue(name, text);
      }
      while (stack.length > 0) finished(stack.pop() as Aggregate);
      if (!sawOfx) throw new StatementFileError('The file is not an OFX statement (no <OFX> element).');
      if (accounts.size > 1) throw new StatementFileError(`The file covers ${accounts.size} accounts; import one account's statements at a time.`);
      return { format: 'ofx', entries, refused, accountId: [...accounts][0] ?? null };
    },
  };
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|nbsp|#\d+|#x[0-9a-f]+);/gi, (_, name: string) => {
    const lower = name.toLowerCase();
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'amp') return '&';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    if (lower === 'nbsp') return ' ';
    const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : '';
  });
}
