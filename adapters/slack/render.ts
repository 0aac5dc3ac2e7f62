import type { ChatMessage } from '../../src/chat/port.js';

/**
 * Block Kit from a neutral message. Slack's mrkdwn treats &, < and > as control characters:
 * every string is escaped, so a bank's sender name can neither mention @channel nor forge a
 * link. Buttons carry the stored action id (Slack allows 255 characters).
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SECTION_LIMIT = 3000;

/** A Block Kit block (the Web API's own types are checked by Slack; these are built from the neutral message). */
export type Block = { type: string } & Record<string, unknown>;

export function renderBlocks(message: ChatMessage): { text: string; blocks: Block[] } {
  const text = escapeMrkdwn(message.text);
  const blocks: Block[] = [];
  // A section holds at most 3000 characters: long text becomes several sections, never cut.
  for (let at = 0; at < text.length || at === 0; at += SECTION_LIMIT) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(at, at + SECTION_LIMIT) || ' ' } });
    if (text.length === 0) break;
  }
  if (message.fields?.length) {
    for (let i = 0; i < message.fields.length; i += 10) {
      blocks.push({ type: 'section', fields: message.fields.slice(i, i + 10).map((f) => ({ type: 'mrkdwn', text: `*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}` })) });
    }
  }
  if (message.choices?.length) {
    blocks.push({
      type: 'actions',
      elements: message.choices.slice(0, 25).map((c) => ({ type: 'button', action_id: `rb:${c.id}`, value: c.id, text: { type: 'plain_text', text: c.label.slice(0, 75) } })),
    });
  }
  if (message.image) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Screenshot: ${escapeMrkdwn(message.image.path)}` }] });
  return { text: text.slice(0, 3000), blocks };
}
