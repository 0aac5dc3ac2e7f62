/**
 * Splits a command line into words: whitespace separates; a quote at the start of a word or
 * right after `=` keeps spaces inside one word (`"Main UYU"`, `key='{"a": 1}'`); a quote
 * inside a word is literal, so `extra={"tenant":"acme"}` keeps its JSON. Returns an error for
 * an open quote.
 */
export function tokenize(line: string): { ok: true; words: string[] } | { ok: false; error: string } {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if ((char === '"' || char === "'") && (!inWord || current.endsWith('='))) {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `A quote (${quote}) was opened but not closed.` };
  if (inWord) words.push(current);
  return { ok: true, words };
}

/** `key=value` words become options; the rest stay positional, in order. */
export function splitOptions(words: string[]): { positionals: string[]; options: Record<string, string> } {
  const positionals: string[] = [];
  const options: Record<string, string> = {};
  for (const word of words) {
    const match = /^([A-Za-z][A-Za-z0-9_]*)=(.*)$/s.exec(word);
    if (match) options[match[1] as string] = match[2] as string;
    else positionals.push(word);
  }
  return { positionals, options };
}
