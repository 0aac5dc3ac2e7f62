import { expect } from 'chai';
import { commandText, discordDefinition } from '../../adapters/discord/commands.js';
import { allCommands } from '../../commands/index.js';

describe('Discord /recon from the command declarations (pure)', () => {
  const commands = allCommands();

  it('every declared command is reachable, within Discord limits', () => {
    const definition = discordDefinition(commands);
    const names = definition.options.flatMap((o) => (o.type === 2 ? (o.options ?? []).map((s) => `${o.name} ${s.name}`) : [o.name]));
    for (const spec of commands) {
      const expected = spec.path.length === 1 && definition.options.some((o) => o.type === 2 && o.name === spec.path[0]) ? `${spec.path[0]} list` : spec.path.join(' ');
      expect(names, spec.path.join(' ')).to.include(expected);
    }
    expect(definition.options.length).to.be.at.most(25);
    for (const option of definition.options) {
      expect(option.name).to.match(/^[a-z0-9_-]{1,32}$/);
      expect(option.description.length).to.be.within(1, 100);
    }
  });

  it('turns the chosen options back into the text the router reads', () => {
    expect(commandText(commands, { group: 'pending', subcommand: 'list', values: new Map([['account', 'Main UYU'], ['options', 'status=ambiguous limit=5']]) })).to.equal('pending "Main UYU" status=ambiguous limit=5');
    expect(commandText(commands, { group: 'pending', subcommand: 'resolve', values: new Map([['account', 'Main'], ['request', 'A-1'], ['transaction', '1a2b3c4d']]) })).to.equal('pending resolve Main A-1 1a2b3c4d');
    // The variadic last option holds several words: each is a word of the command.
    expect(commandText(commands, { group: 'account', subcommand: 'set', values: new Map([['account', 'Main UYU'], ['ask', 'bank_username webhook_url']]) })).to.equal('account set "Main UYU" bank_username webhook_url');
    expect(commandText(commands, { group: null, subcommand: 'otp', values: new Map([['code', '123456'], ['account', 'Main']]) })).to.equal('otp Main 123456');
  });
});
