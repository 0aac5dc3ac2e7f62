import type { ChatMessage } from '../../src/chat/port.js';

/** Plain-text rendering for a terminal. Control characters from bank data are neutralised. */
export function renderPlain(message: ChatMessage): string {
  // Terminal control sequences from bank data must not reach the terminal.
  // eslint-disable-next-line no-control-regex
  const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
  const lines = [clean(message.text)];
  for (const field of message.fields ?? []) lines.push(`  ${clean(field.label)}: ${clean(field.value)}`);
  for (const choice of message.choices ?? []) lines.push(`  [${clean(choice.id)}] ${clean(choice.label)}`);
  if (message.image) lines.push(`  (image: ${clean(message.image.path)} — ${clean(message.image.alt)})`);
  return lines.join('\n');
}
