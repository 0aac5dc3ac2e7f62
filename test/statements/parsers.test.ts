import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { resolveCsvMapping, type CsvMapping } from '../../src/domain/csv-mapping.js';
import { readStatement, type FormatSetting } from '../../src/statements/read.js';
import { bufferSource, fileSource } from '../../src/statements/text.js';
import { StatementFileError, type StatementEntry } from '../../src/statements/types.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** [where, money in (C) or out (D), " rev" for a reversal, status, minor, currency, booked at (ISO), payer, references, bank id] */
type Row = [string, 'C' | 'D' | 'C rev' | 'D rev', 'B' | 'P', number, string, string, string | null, string[], string | null];

function rowOf(e: StatementEntry): Row {
  const mark = `${e.direction === 'credit' ? 'C' : 'D'}${e.reversal ? ' rev' : ''}` as Row[1];
  return [e.where, mark, e.status === 'booked' ? 'B' : 'P', e.amountMinor, e.currency, e.bookedAt.toISOString(), e.payer, e.references, e.bankId];
}

function mapping(preset: string, overrides: Record<string, unknown> = {}): CsvMapping {
  const resolved = resolveCsvMapping(preset, overrides);
  if ('error' in resolved) throw new Error(resolved.error);
  return resolved.mapping;
}

async function read(file: string, options: { format?: FormatSetting; csv?: CsvMapping } = {}) {
  return readStatement(fileSource(path.join(fixtures, file)), { format: options.format ?? 'auto', csv: options.csv });
}

const D1130 = '2026-11-30T00:00:00.000Z';
const D1201 = '2026-12-01T00:00:00.000Z';

describe('statement files: what each fixture must yield', () => {
  it('camt.053.001.02: a batch split per TxDtls with its own identity, a debit, a reversal, an entry without TxDtls, an entry that does not add up refused alone', async () => {
    const result = await read('camt053_v02.xml');
    expect(result.format).to.equal('camt');
    expect(result.accountId).to.equal('DE02120300000000202051');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['Ntry 1 / TxDtls 1', 'C', 'B', 15000, 'EUR', D1130, 'María José Pérez', ['Invoice 1042', 'O-1042'], 'acctsvcr:BATCH-7781#1'],
      ['Ntry 1 / TxDtls 2', 'C', 'B', 20000, 'EUR', D1130, 'Jürgen Müller GmbH', ['Order O-1043', 'thank you'], 'acctsvcr:BATCH-7781#2'],
      ['Ntry 2', 'D', 'B', 8010, 'EUR', D1130, null, [], 'acctsvcr:OUT-5521'],
      ['Ntry 3', 'D rev', 'B', 2500, 'EUR', D1130, null, [], 'acctsvcr:RVSL-0009'],
      ['Ntry 4', 'C', 'B', 1234, 'EUR', '2026-11-29T00:00:00.000Z', null, ['Cash deposit branch 12'], null],
    ]);
    expect(result.refused).to.deep.equal([{ where: 'Ntry 5', reason: 'its 2 transaction(s) add up to 90.00 EUR, the entry says 100.00' }]);
  });

  it('camt.052.001.04 with a namespace prefix: booked, pending (kept apart), paid in USD credited in EUR, a USD entry', async () => {
    const result = await read('camt052_v04.xml');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['Ntry 1', 'C', 'B', 61000, 'EUR', D1201, 'Søren Kierkegaard ApS', ['O-2001 consulting', 'E2E-77'], 'acctsvcr:2026120100001'],
      ['Ntry 2', 'C', 'B', 9250, 'EUR', D1201, 'John Smith', [], 'acctsvcr:2026120100002'],
      ['Ntry 3', 'C', 'B', 4000, 'USD', D1201, 'Jane Roe', [], 'acctsvcr:2026120100003'],
      ['Ntry 4', 'C', 'P', 7500, 'EUR', '2026-12-02T00:00:00.000Z', 'Łukasz Wróbel', [], 'acctsvcr:2026120100004'],
    ]);
    expect(result.refused).to.deep.equal([]);
  });

  it('camt.053.001.08: Sts/Cd, Dbtr/Pty/Nm, BookgDt/DtTm with an offset, the ultimate debtor as payer, a creditor reference, a UETR', async () => {
    const result = await read('camt053_v08.xml');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['Ntry 1', 'C', 'B', 61000, 'EUR', D1201, 'Søren Kierkegaard ApS', ['O-2001 consulting', 'E2E-77'], 'acctsvcr:2026120100001'],
      ['Ntry 2', 'C', 'B', 9250, 'EUR', D1201, 'John Smith', [], 'acctsvcr:2026120100002'],
      ['Ntry 3', 'C', 'B', 7500, 'EUR', D1201, 'Łukasz Wróbel', [], 'acctsvcr:2026120100004'],
      ['Ntry 4', 'C', 'B', 4999, 'EUR', '2026-12-01T15:45:10.250Z', 'Ana Lucía Gómez', ['RF18539007547034'], 'acctsvcr:TX-88001'],
      ['Ntry 5', 'C', 'B', 30000, 'EUR', D1201, 'Δημήτρης Παπαδόπουλος', ['INV-300'], 'uetr:a1b2c3d4-0000-4000-8000-000000000001'],
    ]);
    expect(result.entries[3]?.bookedAtText).to.equal('2026-12-01T16:45:10.250+01:00');
  });

  it('camt.054.001.08: a notification of a payment the statement already holds has the same identity', async () => {
    const [statement, notification] = await Promise.all([read('camt053_v08.xml'), read('camt054_v08.xml')]);
    expect(notification.entries.map(rowOf)).to.deep.equal([['Ntry 1', 'C', 'B', 4999, 'EUR', '2026-12-01T15:45:10.250Z', 'PayFlow Payments BV', [], 'acctsvcr:TX-88001']]);
    expect(statement.entries.map((e) => e.bankId)).to.include(notification.entries[0]?.bankId);
  });

  it('MT940 in Windows-1252, German ?2x structure, two pages, RC/RD, ABWA+, a bad :61: refused alone, no trailing newline', async () => {
    const bytes = readFileSync(path.join(fixtures, 'mt940_de_cp1252.sta'));
    expect(bytes.at(-1)).to.not.equal(0x0a);
    const result = await read('mt940_de_cp1252.sta');
    expect(result.format).to.equal('mt940');
    expect(result.encoding).to.equal('windows-1252');
    expect(result.accountId).to.equal('10020030/0012345678');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['line 5', 'C', 'B', 25000, 'EUR', '2026-11-27T00:00:00.000Z', 'Jürgen Müller', ['O-3001', 'Rechnung O-3001 vom 27.11.'], 'mt940:BREF-0001'],
      ['line 8', 'D', 'B', 1999, 'EUR', '2026-11-27T00:00:00.000Z', 'Streaming Dienst GmbH', ['ABO-77', 'Abo November'], 'mt940:BREF-0002'],
      ['line 16', 'C', 'B', 150000, 'EUR', '2026-11-28T00:00:00.000Z', 'Françoise Lefèvre-Dubois SARL', ['O-3002', 'Zahlung fuer Aufw O-3002 Danke'], 'mt940:BREF-0003'],
      ['line 19', 'D rev', 'B', 25000, 'EUR', '2026-11-28T00:00:00.000Z', 'Jürgen Müller', ['O-3001'], 'mt940:BREF-0004'],
      ['line 21', 'C rev', 'B', 1999, 'EUR', '2026-11-28T00:00:00.000Z', null, ['ABO-77'], 'mt940:BREF-0005'],
      ['line 25', 'C', 'B', 8000, 'EUR', '2026-11-28T00:00:00.000Z', 'Zoë Ærøskøbing', ['O-3003', 'Beitrag O-3003'], 'mt940:BREF-0006'],
    ]);
    expect(result.refused).to.deep.equal([{ where: 'line 23', reason: 'the :61: line is not a statement line (date, C/D mark, amount)' }]);
  });

  it('MT940 in a SWIFT envelope with /TAG/ details: /CNTP/ name, /ORDP//NAME/, /REMI/USTD//, free text', async () => {
    const result = await read('mt940_slash.sta');
    expect(result.accountId).to.equal('NL69INGB0123456789EUR');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['line 6', 'C', 'B', 12550, 'EUR', D1201, 'Kees de Vries', ['O-4001', 'Factuur O-4001 december'], 'mt940:00000000001001'],
      ['line 10', 'C', 'B', 6000, 'EUR', D1201, 'Anneke Jansen', ['ORDER 4002'], 'mt940:00000000001002'],
      ['line 12', 'D', 'B', 1000, 'EUR', D1201, 'Bank fee', ['Monthly fee'], 'mt940:00000000001003'],
      ['line 14', 'C', 'B', 7000, 'EUR', D1201, null, ['Payment from Wei Zhang order 4004 via SWIFT'], 'mt940:00000000001004'],
    ]);
  });

  it('OFX 1.02 SGML in Windows-1252: unclosed leaves, a time zone, PAYEE/NAME, an entity, a decimal comma, a bad amount refused alone', async () => {
    const result = await read('ofx_sgml_cp1252.ofx');
    expect(result.format).to.equal('ofx');
    expect(result.encoding).to.equal('windows-1252');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['STMTTRN 1', 'C', 'B', 150000, 'BRL', '2026-11-30T13:00:00.000Z', 'José Conceição', ['PIX recebido O-5001'], 'fitid:202611300001'],
      ['STMTTRN 2', 'D', 'B', 8990, 'BRL', D1130, 'Tarifa', ['Tarifa pacote'], 'fitid:202611300002'],
      ['STMTTRN 3', 'C', 'B', 20050, 'BRL', D1201, 'Ramón Núñez & Filhos', ['O-5002'], 'fitid:202612010003'],
    ]);
    expect(result.refused).to.deep.equal([{ where: 'STMTTRN 4', reason: 'the amount "abc" is not an amount in BRL' }]);
  });

  it('OFX 2.2 XML (QFX) in UTF-8: a correction names the FITID it replaces; a check number is a reference', async () => {
    const result = await read('ofx_xml_utf8.qfx');
    expect(result.encoding).to.equal('utf-8');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['STMTTRN 1', 'C', 'B', 250000, 'USD', '2026-11-30T22:00:00.000Z', 'Acme Holdings Inc.', ['ACH CREDIT INV O-6001'], 'fitid:FIT-1001'],
      ['STMTTRN 2', 'C', 'B', 4500, 'USD', D1201, 'Zoë Saldaña', ['Zelle O-6002'], 'fitid:FIT-1002b'],
      ['STMTTRN 3', 'D', 'B', 30000, 'USD', D1201, 'Landlord LLC', ['check 1042'], 'fitid:FIT-1003'],
    ]);
    expect(result.entries[1]?.replaces).to.equal('fitid:FIT-1002');
  });

  it('CSV with one signed column (preset "generic"): quoted commas, a lower-case currency; bad dates and amounts refused by line', async () => {
    const result = await read('csv_signed.csv', { csv: mapping('generic') });
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['line 2', 'C', 'B', 150000, 'UYU', D1130, 'Martín Rodríguez', ['O-7001'], 'csv:TX1'],
      ['line 3', 'D', 'B', 20000, 'UYU', D1130, 'UTE', ['factura luz'], 'csv:TX2'],
      ['line 4', 'C', 'B', 9950, 'UYU', D1201, 'Pérez, Ana', ['O-7002, gracias'], 'csv:TX3'],
    ]);
    expect(result.refused).to.deep.equal([
      { where: 'line 5', reason: 'the date "2026-13-01" is not in the format YYYY-MM-DD' },
      { where: 'line 6', reason: 'the amount "ten" is not an amount (decimal ".")' },
    ]);
  });

  it('CSV with debit and credit columns (preset "debit-credit", currency from the mapping)', async () => {
    const result = await read('csv_debit_credit.csv', { csv: mapping('debit-credit', { currency_code: 'USD' }) });
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['line 2', 'C', 'B', 32000, 'USD', '2026-11-29T00:00:00.000Z', 'Chen Wei', ['O-8001'], null],
      ['line 3', 'D', 'B', 4510, 'USD', '2026-11-29T00:00:00.000Z', 'Shop', [], null],
      ['line 4', 'C', 'B', 7525, 'USD', D1130, 'Olga Ivanova', ['O-8002'], null],
    ]);
    expect(result.refused).to.deep.equal([{ where: 'line 5', reason: 'both the credit and the debit column hold an amount' }]);
  });

  it('CSV with a bank preamble to skip, ";" separated, decimal comma, DD.MM.YYYY, Windows-1252 (preset "de-bank")', async () => {
    const result = await read('csv_de_skip_cp1252.csv', { csv: mapping('de-bank', { skip_lines: 4 }) });
    expect(result.encoding).to.equal('windows-1252');
    expect(result.entries.map(rowOf)).to.deep.equal([
      ['line 6', 'C', 'B', 123456, 'EUR', D1130, 'Jörg Weiß', ['O-9001 Rechnung'], null],
      ['line 7', 'D', 'B', 8000, 'EUR', D1130, 'Stadtwerke', ['Strom'], null],
      ['line 8', 'C', 'B', 1250, 'EUR', D1201, 'Åsa Öberg', ['Bestellung O-9002'], null],
    ]);
  });
});

describe('statement files: refused whole with one sentence', () => {
  const refusal = async (bytes: string | Buffer, format: FormatSetting = 'auto', csv?: CsvMapping) => {
    try {
      await readStatement(bufferSource(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)), { format, csv });
    } catch (error) {
      expect(error).to.be.instanceOf(StatementFileError);
      const message = (error as Error).message;
      expect(message.split('\n')).to.have.length(1);
      return message;
    }
    throw new Error('the file was not refused');
  };

  it('an empty file, an unknown format, a file of another format than the account reads', async () => {
    expect(await refusal('')).to.equal('The file is empty.');
    expect(await refusal('hello world')).to.match(/^The file is not a statement this service can read/);
    expect(await refusal(readFileSync(path.join(fixtures, 'mt940_slash.sta')), 'camt')).to.equal('The file looks like MT940/MT942, but this account reads camt (ISO 20022) files; set its format to auto or mt940.');
    expect(await refusal('<html><body>camt.053</body></html>', 'camt')).to.equal('The file is XML but not an ISO 20022 camt.052, camt.053 or camt.054 report.');
  });

  it('broken XML, a file covering two accounts, an undeclared character set', async () => {
    const truncated = readFileSync(path.join(fixtures, 'camt053_v08.xml'), 'utf8').slice(0, 900);
    expect(await refusal(truncated)).to.match(/^The file is not well-formed XML \(/);
    const two = readFileSync(path.join(fixtures, 'mt940_slash.sta'), 'utf8') + readFileSync(path.join(fixtures, 'mt940_slash.sta'), 'utf8').replace('NL69INGB0123456789EUR', 'NL11INGB0000000001EUR');
    expect(await refusal(two)).to.equal('The file covers 2 accounts; import one account\'s statements at a time.');
    expect(await refusal('<?xml version="1.0" encoding="KOI8-R"?><Document/>')).to.equal('The file declares the character encoding "KOI8-R", which this service cannot read.');
  });

  it('a CSV file with a column the mapping names but the header lacks; CSV without a mapping', async () => {
    expect(await refusal('when,how much\n2026-01-01,1\n', 'csv', mapping('generic'))).to.match(/^The CSV file has no column "date" \(its header: when, how much\)\.$/);
    expect(await refusal('a,b\n1,2\n', 'csv')).to.match(/^This account has no CSV mapping/);
  });

  it('XML nested deeper than the limit is refused, not a stack overflow', async () => {
    const deep = `<?xml version="1.0"?><Document><BkToCstmrStmt>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</BkToCstmrStmt></Document>`;
    expect(await refusal(deep)).to.match(/nested deeper than 64 levels/);
  });
});

describe('statement files: decoding', () => {
  it('UTF-8 split across chunk boundaries inside a character reads the same as whole', async () => {
    const text = readFileSync(path.join(fixtures, 'camt052_v04.xml'));
    const whole = await readStatement(bufferSource(text), { format: 'auto' });
    const pieces = {
      label: 'pieces',
      async *chunks() {
        for (let i = 0; i < text.length; i += 7) yield text.subarray(i, i + 7);
      },
    };
    const split = await readStatement(pieces, { format: 'auto' });
    expect(split.entries.map(rowOf)).to.deep.equal(whole.entries.map(rowOf));
    expect(split.encoding).to.equal('utf-8');
  });

  it('an undeclared single-byte file with the euro sign of ISO-8859-15 and none of Windows-1252 only bytes is read as ISO-8859-15', async () => {
    const csv = Buffer.concat([Buffer.from('date,amount,currency,payer,reference,id\n2026-12-01,5.00,EUR,'), Buffer.from([0xa4]), Buffer.from(' Caf'), Buffer.from([0xe9]), Buffer.from(',x,1\n')]);
    const result = await readStatement(bufferSource(csv), { format: 'csv', csv: mapping('generic') });
    expect(result.encoding).to.equal('iso-8859-15');
    expect(result.entries[0]?.payer).to.equal('€ Café');
  });
});
