import { userInfo } from 'node:os';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Identity } from '../../src/domain/identity.js';
import type { ChatAdapter, ChatHandlers, ChatMessage, Form, FormResult } from '../../src/chat/port.js';
import { CONSOLE_PROMPT, renderPlain } from './render.js';

export { CONSOLE_PROMPT };

/**
 * The terminal as a chat platform: one local person, always in private. Used when no chat
 * platform is configured, and by tests that drive the service as a process.
 */
export type ConsoleAdapter = ChatAdapter & {
  readonly identity: Identity;
  /** Resolves when the person typed `exit` or the input ended. */
  readonly closed: Promise<void>;
};

/** The console's one place: the local person's private chat. */
export const CONSOLE_PLACE = 'console:local';

export function consoleIdentity(): Identity {
  const name = (() => {
    try {
      return userInfo().username;
    } catch {
      return 'operator';
    }
  })();
  return { platform: 'console', teamId: 'local', userId: name, displayName: name };
}

export function createConsoleAdapter(options: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; identity?: Identity }): ConsoleAdapter {
  const identity = options.identity ?? consoleIdentity();
  const output = options.output;
  const interactive = (output as NodeJS.WriteStream).isTTY === true;
  let rl: Interface | undefined;
  let muted = false;
  /** The command prompt is on screen, waiting for the person (no command running, no form). */
  let atPrompt = false;
  const queue: string[] = [];
  let waiting: ((line: string | null) => void) | undefined;
  let ended = false;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  function write(text: string) {
    output.write(`${text}\n`);
  }

  /**
   * A message that arrives on its own (progress of a scrape, a code prompt). On a terminal
   * whose prompt is waiting it goes above the prompt, which is drawn again with what the
   * person had typed so far, instead of running on after "recon> " and leaving no prompt.
   */
  function writeAside(text: string) {
    if (!interactive || !atPrompt || !rl) return write(text);
    clearLine(output, 0);
    cursorTo(output, 0);
    write(text);
    rl.prompt(true);
  }

  function nextLine(): Promise<string | null> {
    const line = queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => (waiting = resolve));
  }

  /** Form answers (a password above all) must not be recallable with the Up arrow. */
  function forgetInHistory(line: string | null) {
    const withHistory = rl as unknown as { history?: string[] } | undefined;
    const history = withHistory?.history;
    if (line === null || !history) return;
    for (let i = history.length - 1; i >= 0; i--) if (history[i] === line) history.splice(i, 1);
  }

  function prompt(text: string) {
    if (rl) {
      rl.setPrompt(text);
      rl.prompt();
    } else {
      output.write(text);
    }
  }

  async function loop(handlers: ChatHandlers) {
    prompt(CONSOLE_PROMPT);
    atPrompt = true;
    for (let line = await nextLine(); line !== null; line = await nextLine()) {
      atPrompt = false;
      const text = line.trim();
      if (text === 'exit' || text === 'quit') break;
      if (text !== '') {
        const reply = await handlers.onCommand({
          actor: identity,
          place: { ref: CONSOLE_PLACE, kind: 'dm', private: true },
          text,
          progress: async (message) => write(`… ${renderPlain(message)}`),
        });
        write(renderPlain(reply));
      }
      prompt(CONSOLE_PROMPT);
      atPrompt = true;
    }
    resolveClosed();
  }

  return {
    platform: 'console',
    identity,
    capabilities: { modals: false, buttons: false, deletesUserMessages: false, images: false, format: 'plain' },
    filesHowTo: 'give its path, /recon statement import <account> <path>',
    ackDeadlineMs: 60_000,
    closed,

    async start(handlers) {
      rl = createInterface({ input: options.input, output, terminal: interactive });
      // While a secret is typed, echo nothing but the prompt itself.
      const internals = rl as unknown as { _writeToOutput(text: string): void };
      const original = internals._writeToOutput.bind(rl);
      internals._writeToOutput = (text: string) => {
        if (!muted || text.includes('(hidden)')) original(text);
      };
      rl.on('line', (line) => {
        if (waiting) {
          const resolve = waiting;
          waiting = undefined;
          resolve(line);
        } else queue.push(line);
      });
      rl.on('close', () => {
        ended = true;
        waiting?.(null);
        waiting = undefined;
      });
      rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
      void loop(handlers);
    },

    async stop() {
      rl?.close();
      resolveClosed();
    },

    async send(destination: string, message: ChatMessage) {
      writeAside(`[${destination}] ${renderPlain(message)}`);
      return undefined;
    },

    async askPrivately(_actor: Identity, form: Form): Promise<FormResult> {
      write(`${form.title}${form.intro ? ` — ${form.intro}` : ''} (an empty line cancels)`);
      const values: Record<string, string> = {};
      for (const field of form.fields) {
        prompt(field.secret ? `${field.label} (hidden): ` : `${field.label}: `);
        muted = field.secret && interactive;
        const line = await nextLine();
        muted = false;
        forgetInHistory(line);
        if (field.secret && interactive) output.write('\n');
        if (line === null) return { status: 'cancelled' };
        if (line.trim() === '' && !field.optional) {
          write('Cancelled.');
          return { status: 'cancelled' };
        }
        values[field.name] = line.trim();
      }
      return { status: 'submitted', values };
    },
  };
}
