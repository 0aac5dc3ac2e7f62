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
