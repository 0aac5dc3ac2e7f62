import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../src/paths.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { unusedPort } from '../helpers/ports.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

/**
 * The README's quick start, typed into the real service as it is written there: every command
 * of its transcripts, and every line it shows after each one, in order (dates, times, the port,
 * the signing secret and action ids aside). A change to what the console prints, or to the
 * README, that makes the two differ fails here.
 *
 * The database is the test server rather than the embedded one: the embedded database's
 * start-up lines are checked by test/e2e/embedded-database.test.ts.
 */

const PROMPT = 'recon> ';
/** The form's questions, printed without a line break over pipes (no echo of the answer). */
const QUESTIONS = ['Bank username: ', 'Bank password (hidden): '];
/** The README says so in words ("the password (`demo`) is not shown as you type it"). */
const PASSWORD = 'demo';

type Step = { command: string; inputs: string[]; expected: string[] };

function quickStart(): { text: string; startup: string[]; steps: Step[] } {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  expect(start, 'a "Quick start" section in README.md').to.be.greaterThan(-1);
  const text = readme.slice(start, readme.indexOf('\n## ', start + 1));
  // The transcripts: code blocks without a language (the commands to run are ```sh).
  const lines: string[] = [];
  let block: 'transcript' | 'other' | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) block = block ? undefined : line === '```' ? 'transcript' : 'other';
    else if (block === 'transcript' && line !== '') lines.push(line);
  }
  const first = lines.findIndex((line) => line.startsWith(PROMPT));
  expect(first, 'a transcript with "recon> " lines').to.be.greaterThan(0);
  const steps: Step[] = [];
  for (const line of lines.slice(first)) {
    const question = QUESTIONS.find((q) => line.startsWith(q.trimEnd()));
    if (line.startsWith(PROMPT)) steps.push({ command: line.slice(PROMPT.length), inputs: [], expected: [] });
    else if (question) steps.at(-1)?.inputs.push(question.includes('(hidden)') ? PASSWORD : line.slice(question.length).trim());
    else steps.at(-1)?.expected.push(line);
  }
  return { text, startup: lines.slice(0, first), steps };
}

/** What differs from one run to the next. */
function normal(line: string): string {
  return line
    .trimEnd()
    .replace(/whsec_\S+/g, 'whsec_<secret>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\d{4}-\d{2}-\d{2}/g, '<day>')
    .replace(/\b\d{2}:\d{2}\b/g, '<time>')
    .replace(/^ {2}\[[\w-]+\] /, '  [<action>] ');
}

/** Complete lines printed since `from`, without the prompts and questions (over pipes they share a line with what follows). */
function printedSince(service: ServiceProcess, from: number): string[] {
  let text = service.stdout().slice(from);
  for (const marker of [PROMPT, ...QUESTIONS]) text = text.split(marker).join('');
  const lines = text.split('\n');
  lines.pop(); // not finished yet
  return lines.map(normal).filter((line) => line.trim() !== '');
}

describe('the README quick start, typed into the service as written', function () {
  // The service as a process, and two sessions in real Chromium on a loaded 2-core machine; each wait has its own deadline.
  this.timeout(240_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-quick-start-'));
  const env: Record<string, string> = { DATA_DIR: dataDir };
  let service: ServiceProcess | undefined;

  before(async () => {
    env.MONGODB_URI = freshDatabaseUri('quickstart');
    // Its own port: 4010 may be held by another run on this machine (the README's line then names it).
    env.SANDBOX_BANK_PORT = String(await unusedPort());
  });
  afterEach(() => {
    if (service && service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  });

  it('prints what the README shows, command by command', async () => {
    const { text, startup, steps } = quickStart();
    expect(steps.map((step) => step.command)).to.include.members(['/recon account add "Main UYU" sandbox', 'exit']);
    const phone = /http:\/\/127\.0\.0\.1:4010(\/sandbox\/users\/demo-otp\/otp)/.exec(text)?.[1];
    expect(phone, 'the README names the URL of the code "on the phone"').to.be.a('string');

    service = startServiceProcess(env);
    const ready = await service.waitForOutput(new RegExp(PROMPT), { timeoutMs: 120_000 });
    const shown = service.stdout().slice(0, ready.end - PROMPT.length).split('\n').filter((line) => line !== '' && !line.startsWith('Connecting to MongoDB'));
    // The embedded database's lines and the log file's (a terminal only) are not printed with MONGODB_URI over pipes.
    expect(shown.map(normal)).to.deep.equal(startup.filter((line) => !/^(Embedded database: |Reconbanker is starting; logs go to )/.test(line)).map(normal));
    const sandbox = /^Sandbox bank: (http:\/\/127\.0\.0\.1:\d+) /m.exec(service.stdout())?.[1];
    expect(sandbox).to.equal(`http://127.0.0.1:${env.SANDBOX_BANK_PORT}`);

    let previous: { from: number; step: Step } | undefined;
    for (const step of steps) {
      // Nothing came after the lines the README shows for the step before.
      if (previous) expect(printedSince(service, previous.from), `after "${previous.step.command}"`).to.deep.equal(previous.step.expected.map(normal));
      let command = step.command;
      const otp = /^\/recon otp ("[^"]+") \d+$/.exec(command);
      if (otp) {
        const { code } = (await (await fetch(`${sandbox}${phone}`)).json()) as { code: string | null };
        expect(code, 'the code "on the phone"').to.match(/^\d{6}$/);
        command = `/recon otp ${otp[1]} ${code}`;
      }
      const from = service.stdout().length;
      service.type(command);
      for (const input of step.inputs) service.type(input);
      if (command === 'exit') break;
      const expected = step.expected.map(normal);
      const current = service;
      await eventually(() => printedSince(current, from).length >= expected.length, 90_000, `the ${expected.length} line(s) after "${command}"`).catch(() => undefined);
      expect(printedSince(service, from), `after "${command}"`).to.deep.equal(expected);
      previous = { from, step };
    }
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('finds the same sandbox bank after a restart (its users and movements were kept)', async () => {
    service = startServiceProcess(env);
    await service.waitForLog(/"restored":true,"msg":"sandbox bank started/, 120_000);
    service.type('exit');
    expect((await service.exited).code).to.equal(0);
  });
});
