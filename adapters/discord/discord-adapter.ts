import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DefaultRestOptions,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type RESTOptions,
} from 'discord.js';
import type { ChatAdapter, ChatAttachment, ChatHandlers, ChatMessage, Form, FormResult, Place } from '../../src/chat/port.js';
import { messageRef, NotReachableError, parseMessageRef } from '../../src/chat/port.js';
import { createLimit, HANDLING_CONCURRENCY, HANDLING_HOLD_MS } from '../../src/chat/limit.js';
import { createWaits } from '../../src/chat/waits.js';
import { detached } from '../../src/chat/detached.js';
import { DEFAULT_RETRY_POLICY } from '../../src/chat/outbound.js';
import { downloadCapped, fileTooLargeText } from '../../src/chat/download.js';
import { UserError } from '../../src/domain/errors.js';
import type { Identity } from '../../src/domain/identity.js';
import type { Logger } from '../../src/log.js';
import type { CommandSpec } from '../../src/chat/command.js';
import { commandText, discordDefinition, FILE_OPTION } from './commands.js';
import { renderDiscord } from './render.js';

/**
 * Discord through discord.js: one gateway connection with the Guilds intent only (slash
 * commands arrive as interactions; no message content is read). `/recon` is registered with
 * sub-commands and options built from the command declarations (guild-scoped when a guild id
 * is configured, global otherwise; with a guild id the same /recon is also registered for the
 * bot's DMs, where guild commands do not exist and bank codes are given). Every interaction is deferred as an ephemeral reply at once (inside
 * Discord's 3 seconds) and answered by editing it. Places: `discord:<guild>:<channel>`, and
 * `discord:dm:<channel>` for a private chat. A command that reads a file (`statement import`)
 * has an attachment option: the file is fetched from its attachment URL only when the command
 * asks, within the limit.
 */

export type DiscordOptions = {
  token: string;
  /** The command declarations, registered as `/recon` sub-commands and options. */
  commands: readonly CommandSpec[];
  /** REST root (tests point it at a fake, e.g. http://127.0.0.1:PORT/api). */
  api?: string;
  guildId?: string;
  log: Logger;
};

const INTERACTION_TTL_MS = 14 * 60_000;
/** Text inputs a Discord modal holds: a longer form is asked in parts, one modal each. */
export const MODAL_FIELDS = 5;
/** What a bot may attach by default; a larger screenshot is left out (the text still goes). */
const UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** Interaction contexts: a command in the bot's DMs only. */
const BOT_DM = 1;

type PendingForm = { userId: string; form: Form; page: number; values: Record<string, string> };

function pageOf(form: Form, page: number) {
  return form.fields.slice(page * MODAL_FIELDS, (page + 1) * MODAL_FIELDS);
}

function pagesOf(form: Form): number {
  return Math.max(1, Math.ceil(form.fields.length / MODAL_FIELDS));
}

function channelOf(place: string): string {
  const [platform, scope, channel] = place.split(':');
  if (platform !== 'discord' || !scope || !channel) throw new Error(`not a Discord place: ${place}`);
  return channel;
}

/**
 * @discordjs/rest hands a multipart body (a screenshot) to whichever undici set the
 * process-wide dispatcher first, and undici 7 (ours) cannot read the FormData of Node's
 * built-in one ("action is not a function"): uploads go through Node's own fetch, everything
 * else through the library's default (about twice as fast under load, bench/chat-ack.ts).
 */
const viaNodeFetchForUploads: RESTOptions['makeRequest'] = (url, init) =>
  init.body instanceof FormData ? (fetch(url, init as RequestInit) as unknown as ReturnType<RESTOptions['makeRequest']>) : DefaultRestOptions.makeRequest(url, init);

/**
 * A file attached to a command's option, fetched only when the command asks: refused on the
 * size Discord gives first, then read from its URL (signed by Discord's CDN: it reaches no log
 * or answer) up to the limit.
 */
function attachmentOf(file: { name: string; size: number; url: string }): ChatAttachment {
  const name = file.name || 'statement';
  return {
    name,
    size: Number.isFinite(file.size) ? file.size : null,
    async download(maxBytes) {
      if (Number.isFinite(file.size) && file.size > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
      return downloadCapped(file.url, { maxBytes, name, platform: 'Discord' });
    },
  };
}

/** Discord user ids are global: the same person in a server and in a DM is one identity. */
function actorOf(user: { id: string; globalName: string | null; username: string }): Identity {
  return { platform: 'discord', teamId: 'discord', userId: user.id, displayName: user.globalName ?? user.username };
}

export function createDiscordAdapter(options: DiscordOptions): ChatAdapter {
  const log = options.log.child({ component: 'discord' });
  /** The command interaction each person is answering (its token allows follow-ups for 15 minutes). */
  const current = new Map<string, { interaction: ChatInputCommandInteraction | ButtonInteraction; at: number }>();
  /** Private forms waiting: the button opens the modal, the modal's submission resolves the form. */
  const forms = new Map<string, PendingForm>();
  const submissions = createWaits<FormResult>();
  const formTimeoutMs = 10 * 60_000;
  const handling = createLimit(HANDLING_CONCURRENCY, HANDLING_HOLD_MS);
  // Bounded like every platform's sends (src/chat/outbound.ts): a few retries of a failed or
  // hung request, and a rate limit longer than the whole budget is refused, not waited out.
  const policy = DEFAULT_RETRY_POLICY;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: {
      makeRequest: viaNodeFetchForUploads,
      retries: policy.attempts - 1,
      timeout: policy.attemptTimeoutMs,
      rejectOnRateLimit: (limit) => limit.retryAfter > policy.totalMs,
      ...(options.api ? { api: options.api } : {}),
    },
  });
  // Sends work before (and without) the gateway login: a process without the chat role
  // (ROLES) posts its notifications through the REST API only.
  client.rest.setToken(options.token);
  // Without this, an exception in a handler would end the process.
  client.on('error', (error) => log.error({ err: error }, 'Discord client error'));

  function placeOf(interaction: { guildId: string | null; channelId: string | null }): Place {
    const isDm = !interaction.guildId;
    return { ref: isDm ? `discord:dm:${interaction.channelId}` : `discord:${interaction.guildId}:${interaction.channelId}`, kind: isDm ? ('dm' as const) : ('channel' as const), private: isDm };
  }

  function notReachable(error: unknown, channelId: string): unknown {
    if (error instanceof DiscordAPIError && (error.code === 50007 || error.code === 50001 || error.code === 10003)) {
      return new NotReachableError('discord', channelId, error.code === 50007 ? 'the person does not accept messages from the bot (Discord 50007)' : `Discord says ${error.message}`);
    }
    return error;
  }

  /**
   * Posts the text (split under 2000 characters), resolving to the last piece's id; a
   * screenshot follows as a message of its own, unawaited: an upload Discord refuses, or one
   * over its limit, costs the image (logged), never the text.
   */
  async function post(channelId: string, message: ChatMessage): Promise<string | undefined> {
    let last: string | undefined;
    try {
      // Straight to REST: a stored channel id needs no cache (the Guilds intent brings no DMs).
      const { pieces, embeds } = renderDiscord(message);
      for (const [i, piece] of pieces.entries()) {
        const isLast = i === pieces.length - 1;
        const buttons = isLast && message.choices?.length ? message.choices.slice(0, 25) : [];
        const components = [];
        for (let at = 0; at < buttons.length; at += 5) {
          components.push({ type: 1, components: buttons.slice(at, at + 5).map((c) => ({ type: 2, style: 2, custom_id: `act:${c.id}`.slice(0, 100), label: c.label.slice(0, 80) })) });
        }
        const sent = (await client.rest.post(Routes.channelMessages(channelId), { body: { content: piece, allowed_mentions: { parse: [] }, ...(isLast && embeds.length ? { embeds: embeds.slice(0, 10) } : {}), ...(components.length ? { components } : {}) } })) as { id?: string };
        last = sent.id;
      }
    } catch (error) {
      const typed = notReachable(error, channelId);
      if (!(typed instanceof NotReachableError)) log.warn({ err: error, channel: channelId }, 'gave up sending a chat message');
      throw typed;
    }
    const image = message.image;
    if (image) {
      detached(log, 'could not attach a screenshot to a Discord message (the text was sent)', async () => {
        const size = (await stat(image.path)).size;
        if (size > UPLOAD_LIMIT_BYTES) {
          log.warn({ channel: channelId, bytes: size }, "screenshot over Discord's upload limit: the text was sent alone");
          return;
        }
        // A fixed file name: nothing of the path (or the account) travels with the image.
        await client.rest.post(Routes.channelMessages(channelId), { body: { allowed_mentions: { parse: [] } }, files: [{ name: 'screenshot.png', data: await readFile(image.path) }] });
      });
    }
    return last;
  }

  /** The deferred reply edited with the answer; what does not fit follows as more ephemeral messages (never cut). */
  async function answer(interaction: ChatInputCommandInteraction | ButtonInteraction, message: ChatMessage): Promise<void> {
    const { pieces, embeds } = renderDiscord(message);
    const last = pieces.length - 1;
    for (const [i, piece] of pieces.entries()) {
      const body = { content: piece, allowedMentions: { parse: [] }, ...(i === last && embeds.length ? { embeds: embeds.slice(0, 10) } : {}) };
      if (i === 0) await interaction.editReply(body);
      else await interaction.followUp({ ...body, flags: MessageFlags.Ephemeral });
    }
  }

  /** Every interaction: private-form buttons and modals, notification buttons, and /recon itself. */
  function listen(handlers: ChatHandlers): void {
    client.on(Events.InteractionCreate, (interaction) => {
      // The button of a private form: the modal (of the form's current part) must be this
      // interaction's first answer.
      if (interaction.isButton() && interaction.customId.startsWith('form:')) {
        const pending = forms.get(interaction.customId.slice(5));
        detached(log, 'could not open a Discord modal', async () => {
          if (!pending || pending.userId !== interaction.user.id) {
            await interaction.reply({ content: 'This form is not yours, or it has expired.', flags: MessageFlags.Ephemeral });
            return;
          }
          const pages = pagesOf(pending.form);
          const title = pages > 1 ? `${pending.form.title.slice(0, 36)} (${pending.page + 1}/${pages})` : pending.form.title.slice(0, 45);
          const modal = new ModalBuilder().setCustomId(interaction.customId).setTitle(title);
          for (const field of pageOf(pending.form, pending.page)) {
            modal.addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(new TextInputBuilder().setCustomId(field.name).setLabel(field.label.slice(0, 45)).setStyle(TextInputStyle.Short).setRequired(field.optional !== true)),
            );
          }
          await interaction.showModal(modal);
        });
        return;
      }
      if (interaction.isModalSubmit() && interaction.customId.startsWith('form:')) {
        const id = interaction.customId.slice(5);
        const pending = forms.get(id);
        detached(log, 'could not take a Discord form submission', async () => {
          if (!pending || pending.userId !== interaction.user.id) {
            await interaction.reply({ content: 'This form is not yours, or it has expired.', flags: MessageFlags.Ephemeral });
            return;
          }
          // Only the inputs this part asked for, and only those submitted with a value: a
          // field missing from the submission stays unchanged.
          for (const field of pageOf(pending.form, pending.page)) {
            const input = interaction.fields.fields.get(field.name);
            const value = input && 'value' in input ? input.value : undefined;
            if (typeof value === 'string' && value !== '') pending.values[field.name] = value;
          }
          pending.page += 1;
          const pages = pagesOf(pending.form);
          if (pending.page < pages) {
            const next = new ButtonBuilder().setCustomId(interaction.customId).setLabel(`Continue (${pending.page + 1}/${pages})`).setStyle(ButtonStyle.Primary);
            await interaction.reply({ content: `Part ${pending.page} of ${pages} received.`, components: [new ActionRowBuilder<ButtonBuilder>().addComponents(next)], flags: MessageFlags.Ephemeral });
            return;
          }
          forms.delete(id);
          submissions.settle(id, { status: 'submitted', values: pending.values });
          await interaction.reply({ content: 'Received.', flags: MessageFlags.Ephemeral });
        });
        return;
      }
      if (interaction.isButton() && interaction.customId.startsWith('act:') && handlers.onAction) {
        const actor = actorOf(interaction.user);
        detached(log, 'could not answer a Discord button', async () => {
          await interaction.deferReply({ flags: MessageFlags.Ephemeral });
          // A stored action may ask in private (a bank code from the prompt's button): its form opens from this press.
          current.set(`${actor.teamId}:${actor.userId}`, { interaction, at: Date.now() });
          const reply = await handlers.onAction!({ actor, place: placeOf(interaction), actionId: interaction.customId.slice(4) });
          await answer(interaction, reply);
        });
        return;
      }
      if (!interaction.isChatInputCommand() || interaction.commandName !== 'recon') return;
      // Deferred at once (the acknowledgement); the handling waits its turn.
      const deferred = interaction.deferReply({ flags: MessageFlags.Ephemeral });
      deferred.catch(() => undefined); // awaited (and its failure logged) in the handling below
      void handling(async () => {
        try {
          await deferred;
          const actor = actorOf(interaction.user);
          current.set(`${actor.teamId}:${actor.userId}`, { interaction, at: Date.now() });
          const values = new Map<string, string>();
          const attachments: ChatAttachment[] = [];
          type Chosen = { name: string; value?: unknown; attachment?: { name: string; size: number; url: string }; options?: readonly unknown[] };
          const collect = (options: readonly Chosen[]) => {
            for (const option of options) {
              if (option.attachment && option.name === FILE_OPTION) attachments.push(attachmentOf(option.attachment));
              else if (typeof option.value === 'string') values.set(option.name, option.value);
              if (option.options) collect(option.options as Chosen[]);
            }
          };
          collect(interaction.options.data);
          const text = commandText(options.commands, { group: interaction.options.getSubcommandGroup(false), subcommand: interaction.options.getSubcommand(true), values });
          const reply = await handlers.onCommand({
            actor,
            place: placeOf(interaction),
            text,
            ...(attachments.length > 0 ? { attachments } : {}),
            progress: async (message) => {
              const { pieces } = renderDiscord(message);
              await interaction.editReply({ content: pieces[0] ?? '', allowedMentions: { parse: [] } });
            },
          });
          await answer(interaction, reply);
        } catch (error) {
          log.error({ err: error }, 'could not answer a Discord command');
        }
      });
    });
  }

  return {
    platform: 'discord',
    capabilities: { modals: true, buttons: true, deletesUserMessages: false, images: true, format: 'markdown' },
    filesHowTo: 'attach it to the file option of /recon statement import (or statement preview)',
    ackDeadlineMs: 3_000,

    async start(handlers: ChatHandlers) {
      // Once, even when start is tried again after Discord was unreachable.
      if (client.listenerCount(Events.InteractionCreate) === 0) listen(handlers);
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(options.token);
      await ready;
      const definition = discordDefinition(options.commands);
      const appId = client.application?.id;
      if (!appId) throw new Error('Discord did not say which application this bot is');
      if (options.guildId) {
        await client.rest.put(Routes.applicationGuildCommands(appId, options.guildId), { body: [definition] });
        // Guild commands do not exist in DMs, where bank codes and signing secrets are given.
        await client.rest.put(Routes.applicationCommands(appId), { body: [{ ...definition, contexts: [BOT_DM] }] });
      } else {
        await client.rest.put(Routes.applicationCommands(appId), { body: [definition] });
      }
      log.info({ bot: client.user?.tag, scope: options.guildId ? 'guild, and DMs' : 'global' }, 'Discord connected; /recon registered');
    },

    async stop() {
      await client.destroy();
    },

    async doctor() {
      const appId = client.application?.id;
      if (!appId) return ['Discord: not connected.'];
      const registered = async (route: `/${string}`) => ((await client.rest.get(route)) as { name: string }[]).some((c) => c.name === 'recon');
      const findings: string[] = [];
      if (options.guildId && !(await registered(Routes.applicationGuildCommands(appId, options.guildId)))) findings.push("Discord: /recon is not registered in the configured server (restart the service; check the bot's applications.commands scope).");
      if (!(await registered(Routes.applicationCommands(appId)))) findings.push(`Discord: /recon is not registered${options.guildId ? ' for DMs' : ''} (restart the service; check the bot's applications.commands scope).`);
      return findings;
    },

    async send(destination, message) {
      const id = await post(channelOf(destination), message);
      return id ? messageRef(destination, id) : undefined;
    },

    async openDm(actor) {
      const channel = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: actor.userId } })) as { id: string };
      return `discord:dm:${channel.id}`;
    },

    async edit(ref, message) {
      const { place, messageId } = parseMessageRef(ref);
      const { pieces, embeds } = renderDiscord(message);
      await client.rest.patch(Routes.channelMessage(channelOf(place), messageId), { body: { content: pieces[0] ?? '', allowed_mentions: { parse: [] }, embeds: embeds.slice(0, 10), components: [] } });
    },

    /**
     * A modal must be an interaction's first answer, and commands are deferred at once: so the
     * form is offered as a button in an ephemeral follow-up (seen by the person alone); the
     * button opens the modal, whose submission answers the form.
     */
    async askPrivately(actor: Identity, form: Form): Promise<FormResult> {
      const live = current.get(`${actor.teamId}:${actor.userId}`);
      if (!live || Date.now() - live.at > INTERACTION_TTL_MS) return { status: 'unreachable', reason: 'a private form opens from a command; run the command again' };
      const id = randomUUID();
      forms.set(id, { userId: actor.userId, form, page: 0, values: {} });
      const result = submissions.wait(id, formTimeoutMs, { status: 'timed_out' }).finally(() => forms.delete(id));
      const pages = pagesOf(form);
      const button = new ButtonBuilder().setCustomId(`form:${id}`).setLabel(pages > 1 ? `Open the private form (1/${pages})` : 'Open the private form').setStyle(ButtonStyle.Primary);
      await live.interaction.followUp({
        content: `${form.title}${form.intro ? `\n${form.intro}` : ''}`,
        components: [new ActionRowBuilder<ButtonBuilder>().addComponents(button)],
        flags: MessageFlags.Ephemeral,
        allowedMentions: { parse: [] },
      });
      return result;
    },
  };
}
