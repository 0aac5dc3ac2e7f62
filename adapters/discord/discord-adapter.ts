import { Client, DiscordAPIError, Events, GatewayIntentBits, MessageFlags, Routes, type ChatInputCommandInteraction } from 'discord.js';
import type { ChatAdapter, ChatHandlers, ChatMessage, Form, FormResult } from '../../src/chat/port.js';
import { NotReachableError } from '../../src/chat/port.js';
import type { Identity } from '../../src/domain/identity.js';
import type { Logger } from '../../src/log.js';

/**
 * Discord through discord.js: one gateway connection with the Guilds intent only (slash
 * commands arrive as interactions; no message content is read). `/recon` is registered with
 * one `command` option holding the command line (guild-scoped when a guild id is configured,
 * global otherwise). Every interaction is deferred as an ephemeral reply at once (inside
 * Discord's 3 seconds) and answered by editing it. Places: `discord:<guild>:<channel>`, and
 * `discord:dm:<channel>` for a private chat.
 */

export type DiscordOptions = {
  token: string;
  /** REST root (tests point it at a fake, e.g. http://127.0.0.1:PORT/api). */
  api?: string;
  guildId?: string;
  log: Logger;
};

const DISCORD_LIMIT = 2000;

/** Plain text split under Discord's 2000 characters, at line breaks where possible. */
export function splitForDiscord(text: string, limit = DISCORD_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const pieces: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= limit) {
      current = candidate;
      continue;
    }
    if (current !== '') pieces.push(current);
    let rest = line;
    while (rest.length > limit) {
      pieces.push(rest.slice(0, limit));
      rest = rest.slice(limit);
    }
    current = rest;
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

/** Markdown from bank data must not format or mention: escaped, and mentions are disabled on every message. */
function renderText(message: ChatMessage): string {
  const escape = (s: string) => s.replace(/([\\*_`~|>#[\]()-])/g, '\\$1');
  const lines = [escape(message.text)];
  for (const field of message.fields ?? []) lines.push(`**${escape(field.label)}**: ${escape(field.value)}`);
  return lines.join('\n');
}

export function createDiscordAdapter(options: DiscordOptions): ChatAdapter {
  const log = options.log.child({ component: 'discord' });
  const client = new Client({ intents: [GatewayIntentBits.Guilds], ...(options.api ? { rest: { api: options.api } } : {}) });
  // Without this, an exception in a handler would end the process.
  client.on('error', (error) => log.error({ err: error }, 'Discord client error'));

  function placeOf(interaction: ChatInputCommandInteraction) {
    const isDm = !interaction.guildId;
    return { ref: isDm ? `discord:dm:${interaction.channelId}` : `discord:${interaction.guildId}:${interaction.channelId}`, kind: isDm ? ('dm' as const) : ('channel' as const), private: isDm };
  }

  async function post(channelId: string, message: ChatMessage): Promise<void> {
    try {
      // Straight to REST: a stored channel id needs no cache (the Guilds intent brings no DMs).
      for (const piece of splitForDiscord(renderText(message))) {
        await client.rest.post(Routes.channelMessages(channelId), { body: { content: piece, allowed_mentions: { parse: [] } } });
      }
    } catch (error) {
      if (error instanceof DiscordAPIError && (error.code === 50007 || error.code === 50001 || error.code === 10003)) {
        throw new NotReachableError('discord', channelId, error.code === 50007 ? 'the person does not accept messages from the bot (Discord 50007)' : `Discord says ${error.message}`);
      }
      throw error;
    }
  }

  return {
    platform: 'discord',
    capabilities: { modals: true, buttons: true, deletesUserMessages: false, images: true, format: 'markdown' },
    ackDeadlineMs: 3_000,

    async start(handlers: ChatHandlers) {
      client.on(Events.InteractionCreate, (interaction) => {
        if (!interaction.isChatInputCommand() || interaction.commandName !== 'recon') return;
        void (async () => {
          try {
            await interaction.deferReply({ flags: MessageFlags.Ephemeral });
            const actor: Identity = { platform: 'discord', teamId: interaction.guildId ?? 'dm', userId: interaction.user.id, displayName: interaction.user.globalName ?? interaction.user.username };
            const text = interaction.options.getString('command') ?? '';
            const reply = await handlers.onCommand({
              actor,
              place: placeOf(interaction),
              text,
              progress: async (message) => void (await interaction.editReply({ content: splitForDiscord(renderText(message))[0] ?? '', allowedMentions: { parse: [] } })),
            });
            const [first, ...rest] = splitForDiscord(renderText(reply));
            await interaction.editReply({ content: first ?? '', allowedMentions: { parse: [] } });
            for (const piece of rest) await interaction.followUp({ content: piece, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
          } catch (error) {
            log.error({ err: error }, 'could not answer a Discord command');
          }
        })();
      });
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(options.token);
      await ready;
      const definition = [
        {
          name: 'recon',
          description: 'Reconbanker: accounts, bank sessions, payments and webhooks',
          options: [{ type: 3, name: 'command', description: 'what to do, e.g. "account list" or "help"', required: false }],
        },
      ];
      const appId = client.application?.id;
      if (!appId) throw new Error('Discord did not say which application this bot is');
      await client.rest.put(options.guildId ? `/applications/${appId}/guilds/${options.guildId}/commands` : `/applications/${appId}/commands`, { body: definition });
      log.info({ bot: client.user?.tag, scope: options.guildId ? 'guild' : 'global' }, 'Discord connected; /recon registered');
    },

    async stop() {
      await client.destroy();
    },

    async send(destination, message) {
      const [platform, scope, channel] = destination.split(':');
      if (platform !== 'discord' || !scope || !channel) throw new Error(`not a Discord place: ${destination}`);
      await post(channel, message);
    },

    async askPrivately(_actor: Identity, _form: Form): Promise<FormResult> {
      // Modals must be an interaction's first answer, and commands are deferred first; the
      // button-then-modal flow is the next step of this adapter.
      return { status: 'unreachable', reason: 'private forms on Discord are not available yet; use the console or another platform for credentials' };
    },
  };
}
