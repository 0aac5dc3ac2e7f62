import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { commandText, discordDefinition } from '../../adapters/discord/commands.js';
import { createDiscordAdapter } from '../../adapters/discord/discord-adapter.js';
import { allCommands } from '../../commands/index.js';
import type { ChatAdapter } from '../../src/chat/port.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { systemClock } from '../../src/domain/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { APP_ID, startFakeDiscord } from '../helpers/fake-discord.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices } from '../helpers/services.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'statements', 'fixtures');
const MAX_BYTES = 64 * 1024;
type Option = { type: number; name: string; options?: Option[] };

describe('Discord adapter: statement files in the file option (real discord.js, fake gateway, REST and CDN)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('discordfiles');
  const capture = capturingLogger();
  let fake: Awaited<ReturnType<typeof startFakeDiscord>>;
  let adapter: ChatAdapter;
  const ana = { id: '400000000000000011', username: 'ana' };
  const GUILD = '500000000000000011';
  const CHANNEL = '500000000000000012';
  const dm = { dm: '600000000000000011' };
  const camt08 = readFileSync(path.join(fixtures, 'camt053_v08.xml'));
  const camt02 = readFileSync(path.join(fixtures, 'camt053_v02.xml'));

  before(async () => {
    fake = await startFakeDiscord();
    const services = buildServices(test.db, { clock: systemClock, log: capture.log, send: (ref, message) => adapter.send(ref, message), statementSettings: { maxBytes: MAX_BYTES } });
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    adapter = createDiscordAdapter({ token: 'discord-files-token', commands: router.commands, api: fake.api, guildId: GUILD, log: capture.log });
    await adapter.start({ onCommand: (event) => router.handle(event, adapter) });
    await answer(fake.command(ana, { sub: 'setup', values: { name: 'ACME' } }, dm), /Created "ACME"/, 'setup');
    await answer(fake.command(ana, { group: 'account', sub: 'add', values: { name: 'Acme EUR', bank: 'statement' } }, dm), /Account "Acme EUR" added/, 'the statement account');
  });

  after(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  function answer(sent: { token: string }, pattern: RegExp, what: string): Promise<string> {
    return eventually(() => fake.answers(sent.token).find((a) => pattern.test(a.replace(/\\([\\*_`~|[\]>#-])/g, '$1'))), 15_000, what);
  }

  it('statement import and statement preview have an attachment option, and not the console\'s path', () => {
    const registered = fake.calls.find((c) => c.method === 'PUT' && c.path === `/applications/${APP_ID}/guilds/${GUILD}/commands`);
    const [recon] = registered?.body as unknown as Option[];
    const statement = recon!.options!.find((o) => o.name === 'statement');
    for (const sub of ['import', 'preview']) {
      const options = statement!.options!.find((o) => o.name === sub)!.options!;
      expect(options.map((o) => `${o.name}:${o.type}`), sub).to.deep.equal(['account:3', 'file:11', 'options:3']);
    }
    expect(statement!.options!.find((o) => o.name === 'imports')!.options!.map((o) => o.name)).to.deep.equal(['account', 'options']);
    // The option's value (an attachment id) is no word of the command.
    expect(commandText(allCommands(), { group: 'statement', subcommand: 'import', values: new Map([['account', 'Acme EUR'], ['file', '1234']]) })).to.equal('statement import "Acme EUR"');
    expect(discordDefinition(allCommands()).options.length).to.be.at.most(25);
  });

  it('a file in the option is fetched from its attachment URL and imported', async () => {
    const sent = fake.command(ana, { group: 'statement', sub: 'import', values: { account: 'Acme EUR' }, file: { name: 'camt053_v08.xml', bytes: camt08 } }, { guild: GUILD, channel: CHANNEL });
    await answer(sent, /^Statement camt053_v08\.xml imported into "Acme EUR" \(camt, utf-8\): 5 entries read, 5 credits stored/, 'the summary');
    expect(fake.downloads).to.have.length(1);
    expect(fake.downloads[0]!.complete).to.equal(true);
  });

  it('preview with a file, and no account named: the only statement account', async () => {
    const sent = fake.command(ana, { group: 'statement', sub: 'preview', file: { name: 'v02.xml', bytes: camt02 } }, dm);
    await answer(sent, /^Preview of a statement for "Acme EUR" \(camt, utf-8\): 6 entries/, 'the preview');
  });

  it('without a file, the command is answered with how to attach one', async () => {
    const sent = fake.command(ana, { group: 'statement', sub: 'import', values: { account: 'Acme EUR' } }, dm);
    await answer(sent, /^Send the statement file with the command: attach it to the file option of \/recon statement import \(or statement preview\)\.$/, 'the usage');
  });

  it('a file larger than the limit is refused on its size before any download; a size Discord understated is cut off at the limit', async () => {
    const downloads = fake.downloads.length;
    const big = fake.command(ana, { group: 'statement', sub: 'import', values: { account: 'Acme EUR' }, file: { name: 'big.csv', bytes: Buffer.alloc(MAX_BYTES + 1, 0x41) } }, dm);
    await answer(big, /^big\.csv is larger than 64 KB; split it or drop it in the watched folder\.$/, 'the refusal');
    expect(fake.downloads.length).to.equal(downloads);

    const bytes = Buffer.alloc(8 * 1024 * 1024, 0x41);
    const understated = fake.command(ana, { group: 'statement', sub: 'import', values: { account: 'Acme EUR' }, file: { name: 'small.csv', bytes, declaredSize: 100 } }, dm);
    await answer(understated, /^small\.csv is larger than 64 KB/, 'the refusal');
    const download = fake.downloads.at(-1)!;
    expect(download.complete).to.equal(false);
    expect(download.sent).to.be.below(bytes.length);
    // The signed CDN URL and the file names stay out of the log.
    expect(capture.text()).not.to.match(/hm=|attachments\//);
    for (const name of ['camt053_v08.xml', 'v02.xml', 'big.csv', 'small.csv']) expect(capture.text()).not.to.include(name);
  });
});
