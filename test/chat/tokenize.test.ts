import { expect } from 'chai';
import { splitOptions, tokenize } from '../../src/chat/tokenize.js';

describe('command tokenizer', () => {
  const cases: [string, string[]][] = [
    ['account add main sandbox', ['account', 'add', 'main', 'sandbox']],
    ['  account   list  ', ['account', 'list']],
    ['account add "Main UYU" sandbox', ['account', 'add', 'Main UYU', 'sandbox']],
    ["account show 'ACME USD'", ['account', 'show', 'ACME USD']],
    ['account set main webhook_extra_fields={"tenant":"acme"}', ['account', 'set', 'main', 'webhook_extra_fields={"tenant":"acme"}']],
    [`account set main webhook_extra_fields='{"tenant":"acme corp"}'`, ['account', 'set', 'main', 'webhook_extra_fields={"tenant":"acme corp"}']],
    ['account delete "" x', ['account', 'delete', '', 'x']],
    ["link O'Brien", ['link', "O'Brien"]],
  ];
  for (const [line, words] of cases) {
    it(JSON.stringify(line), () => expect(tokenize(line)).to.deep.equal({ ok: true, words }));
  }

  it('reports an unclosed quote', () => {
    expect(tokenize('account add "Main')).to.deep.equal({ ok: false, error: 'A quote (") was opened but not closed.' });
  });

  it('splits key=value options from positionals, keeping order and = inside values', () => {
    expect(splitOptions(['main', 'a=1', 'bank_password', 'url=https://x/?q=1'])).to.deep.equal({
      positionals: ['main', 'bank_password'],
      options: { a: '1', url: 'https://x/?q=1' },
    });
  });
});
