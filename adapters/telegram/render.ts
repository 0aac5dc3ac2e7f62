import type { ChatMessage } from '../../src/chat/port.js';

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

/** Pieces of at most `limit` characters, split at line breaks where possible (inside a line only when it alone is too long). */
export function splitForTelegram(html: string, limit = TELEGRAM_LIMIT): string[] {
  if (html.length <= limit) return [html];
  const pieces: string[] = [];
  let current = '';
  for (const line of html.split('\n')) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= limit) {
      current = candidate;
      continue;
    }
    if (current !== '') pieces.push(current);
    let rest = line;
    while (rest.length > limit) {
      // Never split inside an entity such as &amp;.
      let cut = limit;
      const amp = rest.lastIndexOf('&', cut);
      if (amp > cut - 6 && rest.indexOf(';', amp) >= cut) cut = amp;
      pieces.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    current = rest;
  }
  if (current !== '') pieces.push(current);
  return pieces;
}
