import type { ChatMessage } from '../../src/chat/port.js';
import { splitAtLines } from '../../src/chat/split.js';

/**
 * Discord messages from a neutral message: the text as content (split under 2000 characters,
 * never cut) and the fields as an embed's fields (Discord's own label/value layout). Markdown
 * from bank data must not format or mention: every string is escaped, and each message is
 * sent with mentions disabled.
 */

const CONTENT_LIMIT = 2000;
const FIELD_NAME_LIMIT = 256;
const FIELD_VALUE_LIMIT = 1024;
const FIELDS_PER_EMBED = 25;

export type Embed = { fields: { name: string; value: string; inline: boolean }[] };
export type DiscordRendering = { pieces: string[]; embeds: Embed[] };

/** Emphasis, code, spoilers and masked links; quotes, headings and lists only where a line starts. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_`~|[\]])/g, '\\$1').replace(/^([>#-])/gm, '\\$1');
}

export function splitForDiscord(text: string, limit = CONTENT_LIMIT): string[] {
  return splitAtLines(text, limit);
}

export function renderDiscord(message: ChatMessage): DiscordRendering {
  const lines = [escapeMarkdown(message.text)];
  const fields: Embed['fields'] = [];
  for (const field of message.fields ?? []) {
    const name = escapeMarkdown(field.label);
    const value = escapeMarkdown(field.value) || '—';
    // A field too long for an embed goes in the text, where it is split rather than cut.
    if (name.length <= FIELD_NAME_LIMIT && value.length <= FIELD_VALUE_LIMIT) fields.push({ name, value, inline: value.length <= 40 });
    else lines.push(`**${name}**: ${value}`);
  }
  const embeds: Embed[] = [];
  for (let at = 0; at < fields.length; at += FIELDS_PER_EMBED) embeds.push({ fields: fields.slice(at, at + FIELDS_PER_EMBED) });
  return { pieces: splitForDiscord(lines.join('\n')), embeds };
}
