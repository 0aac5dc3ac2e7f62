import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { createConsoleAdapter } from '../../adapters/console/console-adapter.js';
import { eventually } from '../helpers/eventually.js';

/** The console adapter on streams that claim to be a terminal, as a person at a keyboard uses it. */
function terminal() {
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let screen = '';
  output.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  return { input, output, screen: () => screen };
}

describe('console adapter on a terminal', () => {
  it('never shows a secret: not echoed while typed, not recallable from history', async () => {
    const tty = terminal();
    const adapter = createConsoleAdapter({ input: tty.input, output: tty.output, identity: { platform: 'console', teamId: 'local', userId: 'me', displayName: 'me' } });
    let answered: Record<string, string> | undefined;
    await adapter.start({
      onCommand: async () => {
        const result = await adapter.askPrivately(adapter.identity, { title: 'Credentials', fields: [{ name: 'user', label: 'User', secret: false }, { name: 'pw', label: 'Password', secret: true }] });
        if (result.status === 'submitted') answered = result.values;
        return { text: 'done' };
      },
    });
    try {
      tty.input.write('/recon account add X sandbox\r');
      await eventually(() => tty.screen().includes('User: '), 5_000, 'the first prompt');
      tty.input.write('alice\r');
      await eventually(() => tty.screen().includes('Password (hidden): '), 5_000, 'the secret prompt');
      tty.input.write('Hidden-Secret-42\r');
      await eventually(() => tty.screen().includes('done'), 5_000, 'the answer');
      expect(answered).to.deep.equal({ user: 'alice', pw: 'Hidden-Secret-42' });
      expect(tty.screen()).to.include('alice');
      // Up arrow through the whole history: the command comes back, the form answers do not.
      for (let i = 0; i < 4; i++) tty.input.write('\x1b[A');
      await eventually(() => tty.screen().split('done').pop()?.includes('/recon account add X sandbox'), 5_000, 'the command from history');
      expect(tty.screen()).not.to.include('Hidden-Secret-42');
      expect(tty.screen().split('done').pop()).not.to.include('alice');
    } finally {
      await adapter.stop();
    }
  });
});

/**
 * What a terminal shows for what was written to it: printable text, line feeds and the few
 * control sequences readline uses (ESC[nG column n, ESC[2K clear the line, ESC[0J clear below).
 */
function rendered(written: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let column = 0;
  // eslint-disable-next-line no-control-regex
  for (const [token] of written.matchAll(/\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]/gu)) {
    // eslint-disable-next-line no-control-regex
    const escape = /^\x1b\[(\d*)([A-Za-z])$/.exec(token);
    if (token === '\n') {
      row += 1;
      column = 0;
      lines[row] ??= '';
    } else if (token === '\r') column = 0;
    else if (escape?.[2] === 'G') column = Math.max(0, Number(escape[1] || 1) - 1);
    else if (escape?.[2] === 'K') lines[row] = '';
    else if (escape?.[2] === 'J') {
      lines[row] = (lines[row] ?? '').slice(0, column);
      lines.length = row + 1;
    } else if (!escape) {
      const line = (lines[row] ?? '').padEnd(column);
      lines[row] = line.slice(0, column) + token + line.slice(column + 1);
      column += 1;
    }
  }
  return lines;
}

describe('console adapter on a terminal: messages that arrive on their own', () => {
  it('go above the waiting prompt, which comes back with what the person had typed', async () => {
    const tty = terminal();
    const adapter = createConsoleAdapter({ input: tty.input, output: tty.output, identity: { platform: 'console', teamId: 'local', userId: 'me', displayName: 'me' } });
    await adapter.start({ onCommand: async () => ({ text: 'Queued a session for "Main"; progress will follow here.' }) });
    try {
      tty.input.write('/recon account scrape Main\r');
      await eventually(() => tty.screen().includes('progress will follow here.\n'), 5_000, 'the answer');
      tty.input.write('/recon mov');
      await eventually(() => rendered(tty.screen()).at(-1) === 'recon> /recon mov', 5_000, 'the half-typed command');
      await adapter.send('console:local', { text: 'Main: logging in…' });
      await adapter.send('console:local', { text: 'Main: read 5 movement(s), 5 new.' });
      // Was: "recon> /recon mov[console:local] Main: logging in…", and no prompt after the last line.
      expect(rendered(tty.screen()).slice(-5)).to.deep.equal([
        'recon> /recon account scrape Main',
        'Queued a session for "Main"; progress will follow here.',
        '[console:local] Main: logging in…',
        '[console:local] Main: read 5 movement(s), 5 new.',
        'recon> /recon mov',
      ]);
      tty.input.write('e\r');
      await eventually(() => rendered(tty.screen()).includes('recon> /recon move'), 5_000, 'the command finished as typed');
    } finally {
      await adapter.stop();
    }
  });
});

describe('console adapter: bank and customer text cannot forge a console line', () => {
  /** What the console prints for one notification and one reply carrying a hostile sender name. */
  async function printed(hostile: string) {
    const input = new PassThrough();
    const output = new PassThrough();
    let screen = '';
    output.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const adapter = createConsoleAdapter({ input, output, identity: { platform: 'console', teamId: 'local', userId: 'me', displayName: 'me' } });
    await adapter.start({ onCommand: async () => ({ text: `Movements of "Main" (1):\n• 2026-11-20 10:00 25.00 UYU — ${hostile} — transfer`, fields: [{ label: 'Sender', value: hostile }] }) });
    try {
      await adapter.send('console:local', { text: `Payment matched on "Main": order 7 ← transaction 1a2b3c4d from ${hostile}.`, choices: [{ id: 'x', label: hostile }] });
      input.write('movements Main\n');
      await eventually(() => screen.includes('transfer'), 5_000, 'the reply');
    } finally {
      await adapter.stop();
    }
    return screen;
  }

  for (const [name, breakChars] of [
    ['a line feed', '\n'],
    ['CR LF', '\r\n'],
    ['a Unicode line separator', '\u2028'],
    ['a next-line control', '\u0085'],
  ] as const) {
    it(`${name} in a sender name starts no line that looks like the service's own`, async () => {
      const forged = ['[console:local] Payment matched on "Main": order 999 ← transaction 00000000 from Boss.', 'recon> /recon pending resolve 999', '… Main: read 0 movement(s), 0 new.'];
      const screen = await printed(`Ana${breakChars}${forged.join(breakChars)}`);
      const lines = screen.split(/\r\n|\n|\r|\u2028|\u2029|\u0085/);
      // The service's own lines (a prompt may precede a message on its line): one notification, no forged ones.
      expect(lines.filter((l) => /^(recon> )?\[console:local\] Payment matched on "Main": order 7 /.test(l))).to.have.length(1);
      expect(lines.filter((l) => /^(recon> )?\[console:local\]/.test(l))).to.have.length(1);
      expect(lines.filter((l) => l.startsWith('recon> /recon pending'))).to.deep.equal([]);
      expect(lines.filter((l) => l.startsWith('… '))).to.deep.equal([]);
      // The text is still all there, readable.
      expect(screen).to.include('order 999');
    });
  }

  it("the service's own multi-line messages print as before", async () => {
    const screen = await printed('Ana');
    expect(screen).to.include('Movements of "Main" (1):\n• 2026-11-20 10:00 25.00 UYU — Ana — transfer\n  Sender: Ana');
    expect(screen).to.include('[console:local] Payment matched on "Main": order 7 ← transaction 1a2b3c4d from Ana.\n  [x] Ana');
  });
});
