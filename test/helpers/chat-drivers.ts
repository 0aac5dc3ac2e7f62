import { allCommands } from '../../commands/index.js';
import { eventually } from './eventually.js';
import { APP_ID, startFakeDiscord } from './fake-discord.js';
import { buttonPressPayload, fileMessageEvent, postSigned, slashCommand, slashCommandPayload, startFakeSlack, viewSubmission, viewSubmissionPayload, buttonPress } from './fake-slack.js';
import { startFakeTelegram } from './fake-telegram.js';
import type { ServiceProcess } from './service-process.js';

/**
 * One way for an end-to-end test to act as people on a chat platform, whichever it is: the
 * same scenario runs on Telegram, Slack and Discord, each through its fake API and the real
 * service process. Two people: ana (who sets everything up) and bruno (never linked).
 */

export type Who = 'ana' | 'bruno';
export type Where = 'dm' | 'channel';

export type ChatDriver = {
  readonly platform: 'telegram' | 'slack' | 'discord';
  /** The settings that point the service at this platform's fake. */
  env(): Record<string, string>;
  /** After "Reconbanker is ready": waits until the platform side is usable (commands registered, endpoint known). */
  connected(service: ServiceProcess): Promise<void>;
  /** The person runs `/recon <text>` in their private chat with the bot, or in the team's channel. */
  command(who: Who, text: string, where: Where): Promise<void>;
  /** Gives a bank code in private: typed as is where the platform lets the bot read DMs (Telegram); elsewhere the prompt's button, then its private form. */
  answerCode(who: Who, account: string, code: string): Promise<void>;
  /** Everything the person has been shown in private or as answers only they see. */
  seen(who: Who): string[];
  /** The new texts of the bot's messages edited in the person's private chat. */
  edits(who: Who): string[];
  /** Everything posted in the team's channel. */
  channel(): string[];
  /**
   * The person sends a file with `/recon <text>`, the platform's way: a Telegram document with
   * it as caption, a Slack message with the file and the text, Discord's file option. `text`
   * null: the file alone (Telegram and Slack DMs).
   */
  sendFile(who: Who, where: Where, text: string | null, file: { name: string; bytes: Buffer }): Promise<void>;
  /** Answers the private form the last command opened (values by field name, in order). */
  fillForm(who: Who, values: Record<string, string>): Promise<void>;
  /** Presses the first button of the latest channel message that has buttons. */
  pressFirstChoice(who: Who): Promise<void>;
  /** The next message posted to the channel is answered 429 with retry_after. */
  rateLimitNextChannelPost(seconds: number): void;
  /** When each post to the channel was tried (refused or delivered), in order, ms. */
  channelPostTimes(): number[];
  /** The fake's whole record (to check that no secret reached the platform). */
  records(): string;
  /** Platform-specific refusals at the door (bad signature, wrong secret); empty when none applies. */
  rejectsForgedRequests(): Promise<number[]>;
  close(): Promise<void>;
};

const QUESTION = /^[A-Z][^\n]*\?( \(your message is deleted as soon as it is read\))?$/;

/** Telegram by long polling (the fake answers getUpdates) or by webhook (the fake POSTs each update with the secret token). */
export async function telegramDriver(mode: 'polling' | 'webhook' = 'polling'): Promise<ChatDriver> {
  const token = '999:e2e-telegram-token';
  const secret = 'e2e-telegram-webhook-secret';
  const fake = await startFakeTelegram(token);
  let hook = '';
  const people = { ana: { id: 31337, first_name: 'Ana' }, bruno: { id: 31338, first_name: 'Bruno' } };
  const GROUP = -100777;
  const chatOf = (where: Where) => (where === 'channel' ? GROUP : undefined);
  const posts = () => fake.calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(GROUP));
  return {
    platform: 'telegram',
    env: (): Record<string, string> => ({
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      ...(mode === 'webhook' ? { TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: secret, TELEGRAM_WEBHOOK_PORT: '0', TELEGRAM_WEBHOOK_HOST: '127.0.0.1' } : {}),
    }),
    async connected(service) {
      await eventually(() => fake.calls.some((c) => c.method === 'setMyCommands'), 30_000, 'setMyCommands');
      if (mode !== 'webhook') return;
      await service.waitForLog(/Telegram webhook listening/, 30_000);
      hook = urlFromLog(service, 'Telegram webhook listening');
      fake.deliverTo(hook, secret);
    },
    async command(who, text, where) {
      fake.type(people[who], `/recon ${text}`, chatOf(where));
    },
    async answerCode(who, _account, code) {
      fake.type(people[who], code);
    },
    async sendFile(who, where, text, file) {
      fake.sendDocument(people[who], { ...file, ...(text === null ? {} : { caption: `/recon ${text}` }) }, chatOf(where));
    },
    seen: (who) => fake.sentTo(people[who].id),
    edits: (who) => fake.calls.filter((c) => c.method === 'editMessageText' && String(c.params.chat_id) === String(people[who].id)).map((c) => String(c.params.text)),
    channel: () => fake.sentTo(GROUP),
    async fillForm(who, values) {
      // A DM conversation: one question at a time, each answered by a message.
      const person = people[who];
      const start = fake.sentTo(person.id).length;
      let asked = 0;
      for (const value of Object.values(values)) {
        asked += 1;
        await eventually(() => fake.sentTo(person.id).slice(start).filter((text) => QUESTION.test(text)).length >= asked, 30_000, `question ${asked}`);
        fake.type(person, value);
      }
    },
    async pressFirstChoice(who) {
      const [button] = await eventually(() => (fake.buttonsIn(GROUP).length > 0 ? fake.buttonsIn(GROUP) : undefined), 30_000, 'buttons in the group');
      fake.press(people[who], button!.callback_data, GROUP);
    },
    rateLimitNextChannelPost(seconds) {
      fake.failNext('sendMessage', 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } }, GROUP);
    },
    // A refused call is recorded like a delivered one.
    channelPostTimes: () => posts().map((c) => c.at),
    records: () => JSON.stringify(fake.calls),
    async rejectsForgedRequests() {
      if (mode !== 'webhook') return [];
      const update = JSON.stringify(fake.updateFor(people.bruno, '/recon whoami'));
      const post = (headers: Record<string, string>) => fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: update });
      return [(await post({ 'x-telegram-bot-api-secret-token': 'not-the-secret' })).status, (await post({})).status];
    },
    close: () => fake.close(),
  };
}

/** The URL the service logged with a message (its HTTP endpoint on a port chosen at start). */
function urlFromLog(service: ServiceProcess, message: string): string {
  const lines = service.stderr().split('\n').filter((line) => line.includes(message));
  return (JSON.parse(lines.at(-1) as string) as { url: string }).url;
}

/** Slack over HTTP (signed requests to the service) or Socket Mode (envelopes on the socket the service opened). */
export async function slackDriver(mode: 'http' | 'socket' = 'http'): Promise<ChatDriver> {
  const SECRET = 'e2e-slack-signing-secret';
  const BOT_TOKEN = 'xoxb-e2e-slack-token';
  const fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const FORM = 'application/x-www-form-urlencoded';
  /** One inbound event, by the chosen transport; throws when the app refuses it. */
  async function deliver(kind: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, encoded: string): Promise<void> {
    if (mode === 'socket') {
      await fake.envelope(kind, payload);
      return;
    }
    const res = await postSigned(url, SECRET, encoded, kind === 'events_api' ? 'application/json' : FORM);
    if (res.status !== 200) throw new Error(`Slack ${kind} refused with ${res.status}`);
  }
  const people = { ana: { user: 'UANA', dm: 'DANA' }, bruno: { user: 'UBRUNO', dm: 'DBRUNO' } };
  const CHANNEL = 'CFIN';
  let url = '';
  let responses = 0;
  const askedBy = new Map<number, Who>();
  /** Modals already submitted (their private_metadata): the next form is the latest one not among them. */
  const answered = new Set<string>();
  const postsTo = (channel: string) => fake.calls.filter((c) => c.method === 'chat.postMessage' && c.params.channel === channel);
  const driver: ChatDriver = {
    platform: 'slack',
    env: (): Record<string, string> =>
      mode === 'socket'
        ? { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-e2e-slack-app-token', SLACK_API_URL: fake.apiUrl }
        : { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0', SLACK_HOST: '127.0.0.1' },
    async connected(service) {
      if (mode === 'socket') {
        await service.waitForLog(/Slack connected in Socket Mode/, 30_000);
        return;
      }
      await service.waitForLog(/Slack HTTP endpoint listening/, 30_000);
      url = urlFromLog(service, 'Slack HTTP endpoint listening');
    },
    async command(who, text, where) {
      responses += 1;
      askedBy.set(responses, who);
      const person = people[who];
      const fields = { team: 'T1', user: person.user, userName: who, channel: where === 'dm' ? person.dm : CHANNEL, text, responseUrl: fake.responseUrl(responses) };
      const payload = slashCommandPayload(fields);
      await deliver('slash_commands', payload, new URLSearchParams(payload).toString());
    },
    async answerCode(who, _account, code) {
      // The prompt's button (in the person's DM), whose private form takes the code.
      const value = await eventually(() => {
        const prompt = postsTo(people[who].dm).filter((c) => /^Bank code needed|^The bank rejected the code/.test(String(c.params.text))).at(-1);
        const actions = (prompt?.params.blocks as { type: string; elements?: { value: string }[] }[] | undefined)?.find((b) => b.type === 'actions');
        return actions?.elements?.[0]?.value;
      }, 30_000, 'the button on the code prompt');
      const fields = { team: 'T1', user: people[who].user, channel: people[who].dm, value };
      await deliver('interactive', buttonPressPayload(fields), buttonPress(fields));
      await driver.fillForm(who, { code });
    },
    async sendFile(who, where, text, file) {
      // A slash command carries no file: the file goes as a message whose text is the command.
      const payload = fileMessageEvent({ team: 'T1', user: people[who].user, channel: where === 'dm' ? people[who].dm : CHANNEL, text: text ?? '', files: [fake.upload(file)] });
      await deliver('events_api', payload, JSON.stringify(payload));
    },
    seen: (who) => [
      ...fake.responses.filter((r) => askedBy.get(Number(r.responseTo)) === who).map((r) => String(r.text)),
      ...postsTo(people[who].dm).map((c) => String(c.params.text)),
      ...fake.calls.filter((c) => c.method === 'chat.postEphemeral' && c.params.user === people[who].user).map((c) => String(c.params.text)),
    ],
    edits: (who) => fake.calls.filter((c) => c.method === 'chat.update' && c.params.channel === people[who].dm).map((c) => String(c.params.text)),
    channel: () => postsTo(CHANNEL).map((c) => String(c.params.text)),
    async fillForm(who, values) {
      const privateMetadata = await eventually(
        () => fake.calls.map((c) => (c.method === 'views.open' ? (c.params.view as { private_metadata: string }).private_metadata : undefined)).findLast((id) => id !== undefined && !answered.has(id)),
        30_000,
        'a modal opened',
      );
      answered.add(privateMetadata);
      const fields = { team: 'T1', user: people[who].user, privateMetadata, values };
      await deliver('interactive', viewSubmissionPayload(fields), viewSubmission(fields));
    },
    async pressFirstChoice(who) {
      const value = await eventually(() => {
        const withButtons = postsTo(CHANNEL).filter((c) => (c.params.blocks as { type: string }[] | undefined)?.some((b) => b.type === 'actions')).at(-1);
        const actions = (withButtons?.params.blocks as { type: string; elements?: { value: string }[] }[] | undefined)?.find((b) => b.type === 'actions');
        return actions?.elements?.[0]?.value;
      }, 30_000, 'buttons in the channel');
      const fields = { team: 'T1', user: people[who].user, channel: CHANNEL, value };
      await deliver('interactive', buttonPressPayload(fields), buttonPress(fields));
    },
    rateLimitNextChannelPost: (seconds) => fake.rateLimitNext('chat.postMessage', seconds, CHANNEL),
    channelPostTimes: () => postsTo(CHANNEL).map((c) => c.at),
    records: () => JSON.stringify({ calls: fake.calls, responses: fake.responses }),
    async rejectsForgedRequests() {
      // Socket Mode takes no inbound HTTP: only the socket the service opened with its token.
      if (mode === 'socket') return [];
      const body = slashCommand({ team: 'T1', user: 'UANA', userName: 'ana', channel: 'DANA', text: 'whoami', responseUrl: fake.responseUrl(9999) });
      const forged = await postSigned(url, SECRET, body, FORM, { badSignature: true });
      const stale = await postSigned(url, SECRET, body, FORM, { timestamp: Math.floor(Date.now() / 1000) - 600 });
      return [forged.status, stale.status];
    },
    close: () => fake.close(),
  };
  return driver;
}

/** `/recon` text → Discord's sub-command, group and options, by the same declarations the adapter registers. */
function discordChoice(text: string): { group?: string; sub: string; values: Record<string, string> } {
  const words = text.split(/\s+/).filter(Boolean);
  const commands = allCommands();
  const two = commands.find((c) => c.path.length === 2 && c.path[0] === words[0] && c.path[1] === words[1]);
  const spec = two ?? commands.find((c) => c.path.length === 1 && c.path[0] === words[0]);
  if (!spec) throw new Error(`no command for "${text}"`);
  const grouped = two !== undefined || commands.some((c) => c.path.length === 2 && c.path[0] === words[0]);
  const rest = words.slice(spec.path.length);
  const values: Record<string, string> = {};
  const positional = rest.filter((w) => !w.includes('='));
  const names = spec.positionals ?? [];
  for (const [i, name] of names.entries()) {
    // A variadic last positional takes every remaining word, as Discord's option of that name does.
    if (spec.variadic && i === names.length - 1 && positional.length > i) values[name.toLowerCase()] = positional.slice(i).join(' ');
    else if (positional[i] !== undefined) values[name.toLowerCase()] = positional[i] as string;
  }
  const options = rest.filter((w) => w.includes('='));
  if (options.length > 0) values.options = options.join(' ');
  if (!grouped) return { sub: spec.path[0] as string, values };
  return { group: spec.path[0] as string, sub: (spec.path[1] as string | undefined) ?? 'list', values };
}

export async function discordDriver(): Promise<ChatDriver> {
  const fake = await startFakeDiscord();
  const people = { ana: { id: '400000000000000001', username: 'ana' }, bruno: { id: '400000000000000002', username: 'bruno' } };
  const GUILD = '500000000000000001';
  const CHANNEL = '500000000000000002';
  // The fake opens a DM channel "3" + the person's id without its first digit.
  const dmOf = (who: Who) => `3${people[who].id.slice(1)}`;
  const whereOf = (who: Who, where: Where) => (where === 'dm' ? { dm: dmOf(who) } : { guild: GUILD, channel: CHANNEL });
  const tokens = new Map<string, { who: Who; where: Where }>();
  /** Private forms already answered (their button's custom id): the next form is one not among them. */
  const filled = new Set<string>();
  const postsTo = (channel: string) => fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channel}/messages`);
  // Read as a person sees it: Discord shows escaped markdown without its backslashes.
  const unescape = (text: string) => text.replace(/\\([\\*_`~|[\]>#-])/g, '$1');
  const driver: ChatDriver = {
    platform: 'discord',
    env: () => ({ DISCORD_BOT_TOKEN: 'discord-e2e-token', DISCORD_API: fake.api, DISCORD_GUILD_ID: GUILD }),
    connected: () => eventually(() => fake.calls.some((c) => c.method === 'PUT' && c.path === `/applications/${APP_ID}/guilds/${GUILD}/commands`), 30_000, '/recon registered').then(() => undefined),
    async command(who, text, where) {
      const { token } = fake.command(people[who], discordChoice(text), whereOf(who, where));
      tokens.set(token, { who, where });
    },
    async sendFile(who, where, text, file) {
      const { token } = fake.command(people[who], { ...discordChoice(text ?? 'statement import'), file }, whereOf(who, where));
      tokens.set(token, { who, where });
    },
    async answerCode(who, _account, code) {
      // The prompt's button in the DM; its press offers the private form, whose modal takes the code.
      const customId = await eventually(() => {
        const prompt = postsTo(dmOf(who)).filter((c) => /^Bank code needed|^The bank rejected the code/.test(String(c.body?.content ?? ''))).at(-1);
        return (prompt?.body?.components as { components: { custom_id: string }[] }[] | undefined)?.[0]?.components[0]?.custom_id;
      }, 30_000, 'the button on the code prompt');
      const { token } = fake.press(people[who], customId, whereOf(who, 'dm'));
      tokens.set(token, { who, where: 'dm' });
      await driver.fillForm(who, { code });
    },
    seen: (who) => [
      ...[...tokens].filter(([, t]) => t.who === who).flatMap(([token]) => [...fake.answers(token), ...fake.followUps(token).map((f) => String(f.content ?? ''))]),
      ...postsTo(dmOf(who)).map((c) => String(c.body?.content ?? '')),
    ].map(unescape),
    edits: (who) => fake.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith(`/channels/${dmOf(who)}/messages/`)).map((c) => unescape(String(c.body?.content ?? ''))),
    channel: () => postsTo(CHANNEL).map((c) => unescape(String(c.body?.content ?? ''))),
    async fillForm(who, values) {
      // The form is an ephemeral button; pressing it opens the modal, which is then submitted.
      const customId = await eventually(() => {
        for (const [token, asked] of [...tokens].reverse()) {
          if (asked.who !== who) continue;
          const rows = fake.followUps(token).flatMap((f) => (f.components as { components: { custom_id: string }[] }[] | undefined) ?? []);
          const button = rows.flatMap((r) => r.components).find((c) => c.custom_id.startsWith('form:') && !filled.has(c.custom_id));
          if (button) return button.custom_id;
        }
        return undefined;
      }, 30_000, 'the private form button');
      filled.add(customId);
      const where = [...tokens].reverse().find(([, t]) => t.who === who)![1].where;
      // A form of more than 5 fields comes in parts: each modal takes its own inputs, and a
      // Continue button under the part's receipt opens the next.
      for (let part = 1; ; part++) {
        const press = fake.press(people[who], customId, whereOf(who, where));
        const modal = await eventually(() => fake.calls.find((c) => c.path.startsWith(`/interactions/${press.id}/`) && c.body?.type === 9), 30_000, `the modal shown (part ${part})`);
        const inputs = ((modal.body as { data: { components: { components: { custom_id: string }[] }[] } }).data.components).map((row) => row.components[0]?.custom_id as string);
        const submitted = fake.submitModal(people[who], customId, Object.fromEntries(inputs.filter((name) => values[name] !== undefined).map((name) => [name, values[name] as string])), whereOf(who, where));
        const receipt = await eventually(() => fake.calls.find((c) => c.path.startsWith(`/interactions/${submitted.id}/`)), 30_000, `the receipt of part ${part}`);
        if (!Array.isArray((receipt.body as { data?: { components?: unknown[] } }).data?.components)) return;
      }
    },
    async pressFirstChoice(who) {
      const customId = await eventually(() => {
        const withButtons = postsTo(CHANNEL).filter((c) => Array.isArray(c.body?.components) && (c.body.components as unknown[]).length > 0).at(-1);
        return (withButtons?.body?.components as { components: { custom_id: string }[] }[] | undefined)?.[0]?.components[0]?.custom_id;
      }, 30_000, 'buttons in the channel');
      const { token } = fake.press(people[who], customId, whereOf(who, 'channel'));
      tokens.set(token, { who, where: 'channel' });
    },
    rateLimitNextChannelPost: (seconds) => fake.rateLimitNext(new RegExp(`^/channels/${CHANNEL}/messages$`), seconds),
    channelPostTimes: () => postsTo(CHANNEL).map((c) => c.at),
    records: () => JSON.stringify(fake.calls),
    rejectsForgedRequests: async () => [],
    close: () => fake.close(),
  };
  return driver;
}
