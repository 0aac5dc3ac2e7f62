import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real logger (same redaction as production) whose lines are kept for assertions. */
export function capturingLogger(level = 'debug'): { log: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger({ level, format: 'json' }, stream);
  return { log, lines, text: () => lines.join('') };
}
