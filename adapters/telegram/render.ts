import type { ChatMessage } from '../../src/chat/port.js';
import { splitAtLines } from '../../src/chat/split.js';

/**
 * Telegram HTML (parse_mode HTML): every string from the core or the bank is escaped, never
 * hand-written MarkdownV2. Long messages are split at line breaks under Telegram's 4096
 * characters, never cut.
 */
export const TELEGRAM_LIMIT = 4096;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderHtml(message: ChatMessage): string {
  const lines = [escapeHtml(message.text)];
  for (const field of message.fields ?? []) lines.push(`<b>${escapeHtml(field.label)}</b>: ${escapeHtml(field.value)}`);
  return lines.join('\n');
}

/** Pieces of at most `limit` characters, split at line breaks; a forced cut never splits an entity such as &amp;. */
export function splitForTelegram(html: string, limit = TELEGRAM_LIMIT): string[] {
  return splitAtLines(html, limit, (rest, cut) => {
    const amp = rest.lastIndexOf('&', cut);
    return amp > cut - 6 && rest.indexOf(';', amp) >= cut ? amp : cut;
  });
}
