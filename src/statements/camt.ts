import { currencyDecimals, isCurrencyCode, parseDecimalToMinor } from '../domain/money.js';
import { parseIsoDateOrDateTime } from './dates.js';
import { StatementFileError, type RefusedEntry, type StatementEntry, type StatementParser, type StatementRead } from './types.js';
import { child, childrenNamed, createXmlStream, textAt, type XmlNode } from './xml-tree.js';

/**
 * ISO 20022 cash-management reports — camt.052 (intraday), camt.053 (end of day), camt.054
 * (notifications) — of any version from .02 on, read by local element names so the namespace
 * (and its version number) does not matter. One `Ntry` is held in memory at a time.
 *
 * What differs between versions and is read either way: `Sts` is a code (.02–.06) or holds
 * `Cd` (.07+); the debtor's name is `Dbtr/Nm` (to .07) or `Dbtr/Pty/Nm` (.08+); a transaction's
 * amount is `TxDtls/Amt` (.03+) or `TxDtls/AmtDtls/TxAmt/Amt`; `UETR` exists from .06.
 */

const ROOTS = new Set(['BkToCstmrStmt', 'BkToCstmrAcctRpt', 'BkToCstmrDbtCdtNtfctn']);
const REPORTS = new Set(['Stmt', 'Rpt', 'Ntfctn']);
/** References that say there is none. */
const PLACEHOLDERS = new Set(['NOTPROVIDED', 'NONREF', 'NONE', 'N/A']);

type Part = { node: XmlNode | undefined; index: number };

export function createCamtParser(): StatementParser {
  const entries: StatementEntry[] = [];
  const refused: RefusedEntry[] = [];
  const accounts = new Set<string>();
  let accountCurrency: string | undefined;
  let sawRoot = false;
  let sawDocument = false;
  let entryNumber = 0;
  let reportAccount: string | undefined;

  const stream = createXmlStream({
    collect: new Set(['Ntry', 'Acct']),
    onOpen(name, ancestors) {
      if (ancestors.length === 0) sawDocument = true;
      if (ROOTS.has(name)) sawRoot = true;
      if (REPORTS.has(name)) {
        reportAccount = undefined;
        accountCurrency = undefined;
      }
    },
    onElement(node, ancestors) {
      if (node.name === 'Acct') {
        if (!REPORTS.has(ancestors.at(-1) ?? '')) return;
        reportAccount = textAt(node, 'Id', 'IBAN') ?? textAt(node, 'Id', 'Othr', 'Id');
        if (reportAccount) accounts.add(reportAccount.replace(/\s+/g, '').toUpperCase());
        accountCurrency = textAt(node, 'Ccy');
        return;
      }
      if (!sawRoot) return;
      entryNumber++;
      readEntry(node, entryNumber);
    },
  });

  function refuse(where: string, reason: string) {
    refused.push({ where, reason });
  }

  function readEntry(ntry: XmlNode, number: number) {
    const where = `Ntry ${number}`;
    const amount = amountOf(child(ntry, 'Amt'), accountCurrency);
    if (typeof amount === 'string') return refuse(where, amount);
    const direction = directionOf(textAt(ntry, 'CdtDbtInd'));
    if (!direction) return refuse(where, 'CdtDbtInd is neither CRDT nor DBIT');
    const reversal = isTrue(textAt(ntry, 'RvslInd'));
    const statusCode = textAt(ntry, 'Sts', 'Cd') ?? textAt(ntry, 'Sts', 'Prtry') ?? textAt(ntry, 'Sts');
    const status = statusCode === 'BOOK' ? 'booked' : statusCode === 'PDNG' ? 'pending' : undefined;
    if (!status) return refuse(where, `status ${statusCode ?? '(none)'} is neither booked (BOOK) nor pending (PDNG)`);
    const dateNode = child(ntry, 'BookgDt') ?? child(ntry, 'ValDt');
    const dateText = textAt(dateNode, 'DtTm') ?? textAt(dateNode, 'Dt');
    const bookedAt = dateText ? parseIsoDateOrDateTime(dateText) : undefined;
    if (!dateText || !bookedAt) return refuse(where, dateText ? `the booking date "${dateText.slice(0, 40)}" is not a date` : 'no booking or value date');

    const entryRef = usable(textAt(ntry, 'AcctSvcrRef'));
    const additional = textAt(ntry, 'AddtlNtryInf');
    const parts: Part[] = childrenNamed(ntry, 'NtryDtls').flatMap((details) => childrenNamed(details, 'TxDtls')).map((node, index) => ({ node, index }));
    if (parts.length === 0) parts.push({ node: undefined, index: 0 });

    const partAmounts: number[] = [];
    for (const part of parts) {
      const own = partAmountOf(part.node, amount.currency);
      if (own === undefined) {
        if (parts.length > 1) return refuse(`${where} / TxDtls ${part.index + 1}`, `a batched entry's transaction has no amount in ${amount.currency}`);
        partAmounts.push(amount.minor);
      } else if (typeof own === 'string') {
        return refuse(`${where} / TxDtls ${part.index + 1}`, own);
      } else {
        partAmounts.push(own);
      }
    }
    const sum = partAmounts.reduce((a, b) => a + b, 0);
    if (sum !== amount.minor) {
      const decimals = currencyDecimals(amount.currency);
      return refuse(where, `its ${parts.length} transaction(s) add up to ${(sum / 10 ** decimals).toFixed(decimals)} ${amount.currency}, the entry says ${(amount.minor / 10 ** decimals).toFixed(decimals)}`);
    }

    parts.forEach((part, i) => {
      const tx = part.node;
      const partDirection = directionOf(textAt(tx, 'CdtDbtInd')) ?? direction;
      const related = child(tx, 'RltdPties');
      const payer = nameOf(child(related, 'UltmtDbtr')) ?? nameOf(child(related, 'Dbtr'));
      const remittance = child(tx, 'RmtInf');
      const references = [
        ...childrenNamed(remittance, 'Ustrd').map((n) => n.text.trim()),
        ...childrenNamed(remittance, 'Strd').flatMap((s) => [textAt(s, 'CdtrRefInf', 'Ref'), ...childrenNamed(s, 'AddtlRmtInf').map((n) => n.text.trim())]),
        usable(textAt(tx, 'Refs', 'EndToEndId')),
        additional,
        textAt(tx, 'AddtlTxInf'),
      ].filter((r): r is string => typeof r === 'string' && r.length > 0);
      const partRef = usable(textAt(tx, 'Refs', 'AcctSvcrRef'));
      const uetr = usable(textAt(tx, 'Refs', 'UETR'));
      const bankId = partRef ? `acctsvcr:${partRef}` : uetr ? `uetr:${uetr.toLowerCase()}` : entryRef ? (parts.length > 1 ? `acctsvcr:${entryRef}#${part.index + 1}` : `acctsvcr:${entryRef}`) : null;
      const code = textAt(ntry, 'BkTxCd', 'Domn', 'Fmly', 'SubFmlyCd') ?? textAt(ntry, 'BkTxCd', 'Prtry', 'Cd');
      entries.push({
        where: parts.length > 1 ? `${where} / TxDtls ${part.index + 1}` : where,
        direction: partDirection,
        reversal,
        status,
        amountMinor: partAmounts[i] as number,
        currency: amount.currency,
        bookedAt,
        bookedAtText: dateText,
        payer,
        references: [...new Set(references)],
        description: [additional, code].filter(Boolean).join(' · '),
        bankId,
      });
    });
  }

  return {
    write(text) {
      try {
        stream.write(text);
      } catch (error) {
        throw notXml(error);
      }
    },
    end(): StatementRead {
      try {
        stream.close();
      } catch (error) {
        throw notXml(error);
      }
      if (!sawDocument || !sawRoot) throw new StatementFileError('The file is XML but not an ISO 20022 camt.052, camt.053 or camt.054 report.');
      if (accounts.size > 1) throw new StatementFileError(`The file covers ${accounts.size} accounts; import one account's statements at a time.`);
      return { format: 'camt', entries, refused, accountId: [...accounts][0] ?? null };
    },
  };
}

function notXml(error: unknown): StatementFileError {
  if (error instanceof StatementFileError) return error;
  const reason = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 120) : 'unreadable';
  return new StatementFileError(`The file is not well-formed XML (${reason}).`);
}

function usable(reference: string | undefined): string | undefined {
  return reference && !PLACEHOLDERS.has(reference.toUpperCase()) ? reference : undefined;
}

function isTrue(text: string | undefined): boolean {
  return text === 'true' || text === '1';
}

function directionOf(text: string | undefined): 'credit' | 'debit' | undefined {
  return text === 'CRDT' ? 'credit' : text === 'DBIT' ? 'debit' : undefined;
}

function nameOf(party: XmlNode | undefined): string | null {
  const name = textAt(party, 'Nm') ?? textAt(party, 'Pty', 'Nm');
  return name ? name.replace(/\s+/g, ' ') : null;
}

/** An `Amt` element → minor units and currency, or the reason it cannot be read. */
function amountOf(node: XmlNode | undefined, fallbackCurrency: string | undefined): { minor: number; currency: string } | string {
  if (!node) return 'no amount (Amt)';
  const currency = (node.attributes.Ccy ?? fallbackCurrency ?? '').toUpperCase();
  if (!isCurrencyCode(currency)) return 'the amount has no currency (Amt@Ccy)';
  const minor = parseDecimalToMinor(node.text, currency);
  if (minor === undefined || minor < 0) return `the amount "${node.text.trim().slice(0, 30)}" is not a positive amount in ${currency}`;
  return { minor, currency };
}

/** A transaction's own amount in the entry's currency: undefined when it gives none. */
function partAmountOf(tx: XmlNode | undefined, currency: string): number | string | undefined {
  if (!tx) return undefined;
  const candidates = [child(tx, 'Amt'), child(tx, 'AmtDtls', 'TxAmt', 'Amt'), child(tx, 'AmtDtls', 'CntrValAmt', 'Amt')].filter((n): n is XmlNode => n !== undefined);
  if (candidates.length === 0) return undefined;
  const inCurrency = candidates.find((n) => (n.attributes.Ccy ?? currency).toUpperCase() === currency);
  if (!inCurrency) return `the transaction is in ${(candidates[0]?.attributes.Ccy ?? '?').toUpperCase()} and gives no amount in the entry's currency ${currency}`;
  const read = amountOf(inCurrency, currency);
  return typeof read === 'string' ? read : read.minor;
}
