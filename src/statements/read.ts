import type { CsvMapping } from '../domain/csv-mapping.js';
import { createCamtParser } from './camt.js';
import { createCsvParser } from './csv.js';
import { createMt940Parser } from './mt940.js';
import { createOfxParser } from './ofx.js';
import { declaredEncoding, decodeInto, encodingNamed, headOf, type StatementSource, type TextEncoding } from './text.js';
import { StatementFileError, type StatementFormat, type StatementParser, type StatementRead } from './types.js';

export type FormatSetting = StatementFormat | 'auto';

/** What the first bytes of a file say it is. */
export function detectFormat(head: string): StatementFormat | undefined {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (/^OFXHEADER\s*:/i.test(text) || /<\?OFX\b/i.test(text) || /^<OFX>/i.test(text)) return 'ofx';
  if (/^<\?xml|^</.test(text)) {
    if (/camt\.05[234]|BkToCstmr/.test(text)) return 'camt';
    if (/<OFX>/i.test(text)) return 'ofx';
    return undefined;
  }
  if (/^\{1:/.test(text) || /^:20:/m.test(text.slice(0, 4096))) return 'mt940';
  return undefined;
}

const FORMAT_NAMES: Record<StatementFormat, string> = { camt: 'camt (ISO 20022)', mt940: 'MT940/MT942', ofx: 'OFX', csv: 'CSV' };

function parserFor(format: StatementFormat, csv: CsvMapping | undefined): StatementParser {
  if (format === 'camt') return createCamtParser();
  if (format === 'mt940') return createMt940Parser();
  if (format === 'ofx') return createOfxParser();
  if (!csv) throw new StatementFileError('This account has no CSV mapping: set csv_preset (or the csv_mapping columns) before importing CSV files.');
  return createCsvParser(csv);
}

/**
 * Reads a statement file whole: the format the account is set to (or the one its first bytes
 * show), the encoding it declares (or UTF-8, falling back to Windows-1252/ISO-8859-15). A file
 * that is not what it claims throws a StatementFileError with one sentence; single entries that
 * cannot be read come back in `refused`.
 */
export async function readStatement(source: StatementSource, options: { format: FormatSetting; csv?: CsvMapping }): Promise<StatementRead & { encoding: TextEncoding }> {
  const headBytes = await headOf(source);
  if (headBytes.length === 0) throw new StatementFileError('The file is empty.');
  const declared = declaredEncoding(headBytes);
  const headText = headBytes.toString(declared === 'utf-16le' ? 'utf16le' : 'latin1');
  const detected = detectFormat(headText);
  let format: StatementFormat;
  if (options.format === 'auto') {
    format = detected ?? (options.csv ? 'csv' : unknownFormat());
  } else {
    format = options.format;
    if (detected && detected !== format) {
      throw new StatementFileError(`The file looks like ${FORMAT_NAMES[detected]}, but this account reads ${FORMAT_NAMES[format]} files; set its format to auto or ${detected}.`);
    }
    if (!detected && format !== 'csv') throw new StatementFileError(`The file is not a ${FORMAT_NAMES[format]} statement.`);
  }
  const configured = format === 'csv' && options.csv && options.csv.encoding !== 'auto' ? encodingNamed(options.csv.encoding) : undefined;
  let parser = parserFor(format, options.csv);
  const encoding = await decodeInto(
    source,
    declared ?? configured,
    (text) => parser.write(text),
    () => {
      parser = parserFor(format, options.csv);
    },
  );
  return { ...parser.end(), encoding };
}

function unknownFormat(): never {
  throw new StatementFileError('The file is not a statement this service can read (camt.052/053/054, MT940/MT942, OFX/QFX, or CSV with a mapping set on the account).');
}
