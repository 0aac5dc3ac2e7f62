import { createReadStream } from 'node:fs';
import iconv from 'iconv-lite';
import { StatementFileError } from './types.js';

/**
 * A statement file as bytes that can be read more than once (a file on disk or a buffer), so a
 * large file streams and a wrong guess of its encoding can start over.
 */
export type StatementSource = {
  /** A short label for messages (never a path with secrets: the caller chooses it). */
  readonly label: string;
  chunks(): AsyncIterable<Buffer>;
};

const CHUNK = 64 * 1024;

export function bufferSource(bytes: Buffer, label = 'the file'): StatementSource {
  return {
    label,
    async *chunks() {
      for (let offset = 0; offset < bytes.length; offset += CHUNK) yield bytes.subarray(offset, offset + CHUNK);
    },
  };
}

export function fileSource(path: string, label = 'the file'): StatementSource {
  return {
    label,
    async *chunks() {
      for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) yield chunk as Buffer;
    },
  };
}

/** The first bytes of a source (for sniffing format and declared encoding). */
export async function headOf(source: StatementSource, size = 8 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source.chunks()) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= size) break;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** The encodings we decode; anything a file declares is mapped onto one of these or refused. */
export type TextEncoding = 'utf-8' | 'windows-1252' | 'iso-8859-15' | 'iso-8859-1' | 'utf-16le' | 'utf-16be';

const ALIASES: Record<string, TextEncoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  usascii: 'utf-8',
  ascii: 'utf-8',
  none: 'utf-8',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  '1252': 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
  'iso8859-15': 'iso-8859-15',
  latin9: 'iso-8859-15',
  'iso-8859-1': 'iso-8859-1',
  'iso8859-1': 'iso-8859-1',
  latin1: 'iso-8859-1',
  '8859-1': 'iso-8859-1',
  'utf-16': 'utf-16le',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
};

/** A declared or configured encoding name → one we decode; undefined when unknown. */
export function encodingNamed(name: string): TextEncoding | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

/**
 * The encoding a file declares in its first bytes: an XML declaration, or an OFX 1.x header
 * (`CHARSET:1252`, `ENCODING:UTF-8`). A UTF-16 byte-order mark wins over both.
 */
export function declaredEncoding(head: Buffer): TextEncoding | undefined {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const ascii = head.toString('latin1');
  const xml = /^\s*(?:\uFEFF|\u00EF\u00BB\u00BF)?<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/i.exec(ascii);
  if (xml?.[1]) return encodingNamed(xml[1]) ?? unknownEncoding(xml[1]);
  if (/^\s*OFXHEADER\s*:/i.test(ascii)) {
    const charset = /^\s*CHARSET\s*:\s*(\S+)/im.exec(ascii)?.[1];
    const encoding = /^\s*ENCODING\s*:\s*(\S+)/im.exec(ascii)?.[1];
    // OFX 1.x: ENCODING:USASCII with CHARSET:1252 means Windows-1252; ENCODING:UTF-8 means UTF-8.
    if (encoding && /utf-?8/i.test(encoding)) return 'utf-8';
    if (charset && !/^none$/i.test(charset)) return encodingNamed(charset) ?? encodingNamed(`cp${charset}`) ?? unknownEncoding(charset);
    return undefined;
  }
  return undefined;
}

function unknownEncoding(name: string): never {
  throw new StatementFileError(`The file declares the character encoding "${name.slice(0, 40)}", which this service cannot read.`);
}

/**
 * A single-byte file that is not UTF-8: Windows-1252 unless it has none of the bytes only
 * Windows-1252 prints (0x80–0x9F) and has the euro sign of ISO-8859-15 (0xA4).
 */
async function guessSingleByte(source: StatementSource): Promise<TextEncoding> {
  let sawC1 = false;
  let sawA4 = false;
  for await (const chunk of source.chunks()) {
    for (const byte of chunk) {
      if (byte >= 0x80 && byte <= 0x9f) sawC1 = true;
      else if (byte === 0xa4) sawA4 = true;
    }
    if (sawC1) return 'windows-1252';
  }
  return sawA4 ? 'iso-8859-15' : 'windows-1252';
}

class NotUtf8 extends Error {}

/**
 * Feeds the decoded text of a source to `write`, piece by piece. With no encoding given (or
 * UTF-8 declared), UTF-8 is tried first; bytes that are not UTF-8 start the reading over in the
 * single-byte encoding they look like. `restart` is called before starting over, so the caller
 * can drop what it read. Returns the encoding that was used.
 */
export async function decodeInto(
  source: StatementSource,
  encoding: TextEncoding | undefined,
  write: (text: string) => void,
  restart: () => void,
): Promise<TextEncoding> {
  if (encoding === undefined || encoding === 'utf-8') {
    try {
      const decoder = new TextDecoder('utf-8', { fatal: true });
      for await (const chunk of source.chunks()) {
        let text: string;
        try {
          text = decoder.decode(chunk, { stream: true });
        } catch {
          throw new NotUtf8();
        }
        if (text) write(text);
      }
      let rest: string;
      try {
        rest = decoder.decode();
      } catch {
        throw new NotUtf8();
      }
      if (rest) write(rest);
      return 'utf-8';
    } catch (error) {
      if (!(error instanceof NotUtf8)) throw error;
      restart();
      encoding = await guessSingleByte(source);
    }
  }
  const decoder = iconv.getDecoder(encoding);
  for await (const chunk of source.chunks()) {
    const text = decoder.write(chunk);
    if (text) write(text);
  }
  const rest = decoder.end();
  if (rest) write(rest);
  return encoding;
}

/**
 * Splits decoded text into lines across pieces (CRLF, LF or CR), keeping the last partial line
 * until more comes. Line numbers start at 1.
 */
export function createLineSplitter(onLine: (line: string, number: number) => void): { write(text: string): void; end(): void } {
  let pending = '';
  let number = 0;
  let lastWasCr = false;
  const flush = (text: string) => {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === 10 || code === 13) {
        if (code === 10 && lastWasCr && i === start && pending === '') {
          lastWasCr = false;
          start = i + 1;
          continue;
        }
        onLine(pending + text.slice(start, i), ++number);
        pending = '';
        lastWasCr = code === 13;
        start = i + 1;
      } else {
        lastWasCr = false;
      }
    }
    pending += text.slice(start);
  };
  return {
    write: flush,
    end() {
      if (pending !== '') onLine(pending, ++number);
      pending = '';
    },
  };
}
