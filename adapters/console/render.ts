import type { ChatMessage } from '../../src/chat/port.js';

/** The console's prompt: with progress (`… `) and messages to a place (`[ref] `), how its own lines begin. */
export const CONSOLE_PROMPT = 'recon> ';
const OWN_LINE_START = /^(recon>|…|\[)/;

// Terminal control sequences and every line break but LF (CR, NEL, U+2028/9) from bank or
// customer data become "?": only the line feeds below start a line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Plain-text rendering for a terminal. A line inside a message that begins like one of the
 * console's own lines (a sender named "Ana\n[console:local] Payment matched…") is indented, so
 * text from a bank or a customer can never pass for a prompt, a progress line or a message.
 */
export function renderPlain(message: ChatMessage): string {
  const clean = (s: string) => s.replace(CONTROL, '?');
  const lines = [clean(message.text)];
  for (const field of message.fields ?? []) lines.push(`  ${clean(field.label)}: ${clean(field.value)}`);
  for (const choice of message.choices ?? []) lines.push(`  [${clean(choice.id)}] ${clean(choice.label)}`);
  if (message.image) lines.push(`  (image: ${clean(message.image.path)} — ${clean(message.image.alt)})`);
  return lines
    .join('\n')
    .split('\n')
    .map((line, i) => (i > 0 && OWN_LINE_START.test(line) ? `  ${line}` : line))
    .join('\n');
}
