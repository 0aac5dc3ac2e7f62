import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { repeatLimiter } from '../src/log-limit.js';
import { createLogger } from '../src/log.js';

function loggerWith(limit: Parameters<typeof repeatLimiter>[0]) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ hooks: { logMethod: repeatLimiter(limit) } }, stream), lines };
}

describe('log: repeated lines are limited (issue 13 item 12: 770 lines a minute while the database was away)', () => {
  it('lets a repeated line through perWindow times, says so on the last, then counts the rest into the next window', () => {
    let now = 0;
    const { log, lines } = loggerWith({ perWindow: 3, windowMs: 60_000, now: () => now });
    const failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:38269'), { name: 'MongoNetworkError' });
    for (let tick = 0; tick < 200; tick++) {
      log.error({ component: 'jobs', err: failure }, 'job scheduler error');
      now += 300;
    }
    // 200 ticks over 60 s: three lines in the first window, the rest counted.
    const inFirstWindow = lines.filter((line) => line.msg === 'job scheduler error');
    expect(inFirstWindow).to.have.length(3);
    expect(inFirstWindow[2]).to.have.property('repeating').that.matches(/held back/);
    expect((inFirstWindow[0]?.err as { message: string }).message).to.equal('connect ECONNREFUSED 127.0.0.1:38269');

    log.error({ component: 'jobs', err: failure }, 'job scheduler error');
    expect(lines.at(-1)).to.include({ msg: 'job scheduler error', repeatsHeldBack: 197 });
  });

  it('keeps apart lines that differ in message, level or error', () => {
    const { log, lines } = loggerWith({ perWindow: 2, windowMs: 60_000, now: () => 0 });
    for (let i = 0; i < 5; i++) {
      log.warn('a');
      log.error('a');
      log.warn({ err: new Error('one') }, 'b');
      log.warn({ err: new Error('two') }, 'b');
    }
    expect(lines.filter((line) => line.msg === 'a' && line.level === 40)).to.have.length(2);
    expect(lines.filter((line) => line.msg === 'a' && line.level === 50)).to.have.length(2);
    expect(lines.filter((line) => line.msg === 'b')).to.have.length(4);
  });

  it('never holds back ordinary activity (below warn), nor the same message from another component', () => {
    const { log, lines } = loggerWith({ perWindow: 2, windowMs: 60_000, now: () => 0 });
    for (let i = 0; i < 30; i++) {
      log.info({ command: `account list ${i}` }, 'command handled');
      log.warn({ component: 'jobs' }, 'tick failed');
      log.warn({ component: 'webhooks' }, 'tick failed');
    }
    expect(lines.filter((line) => line.msg === 'command handled')).to.have.length(30);
    expect(lines.filter((line) => line.msg === 'tick failed' && line.component === 'jobs')).to.have.length(2);
    expect(lines.filter((line) => line.msg === 'tick failed' && line.component === 'webhooks')).to.have.length(2);
  });

  it('is part of the product logger, with redaction kept', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const log = createLogger({ level: 'info', format: 'json' }, stream);
    for (let i = 0; i < 50; i++) log.warn({ password: 'hunter2-limit' }, 'database connection lost; the driver keeps retrying');
    expect(lines).to.have.length(10);
    expect(lines.join('')).not.to.include('hunter2-limit');
  });
});
