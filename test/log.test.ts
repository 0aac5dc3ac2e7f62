import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createTelegramAdapter } from '../adapters/telegram/telegram-adapter.js';
import { createLogger, safeUrl, serializeError } from '../src/log.js';
import { startFakeTelegram } from './helpers/fake-telegram.js';
import { capturingLogger } from './helpers/log-capture.js';

const SIGNING_SECRET = 'whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ=';
const TOKEN = '765432:AAE-bot-token-that-must-stay-out-of-logs';

describe('log: secrets never reach a line, whatever carries them', function () {
  this.timeout(60_000);

  it('a failed Telegram send (real grammY, fake Bot API) logs neither the message text nor the bot token', async () => {
    const fake = await startFakeTelegram(TOKEN);
    const capture = capturingLogger();
    const adapter = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'polling', log: capture.log });
    await adapter.start({ onCommand: async () => ({ text: 'unused' }) });
    try {
      fake.failNext('sendMessage', 400, { ok: false, error_code: 400, description: "Bad Request: can't parse entities" });
      const refused = await adapter.send('telegram:1001', { text: `New signing secret (shown once):\n${SIGNING_SECRET}` }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused, 'the send failed').to.be.instanceOf(Error);
      // As the notifier logs a message it could not deliver.
      capture.log.warn({ err: refused, ref: 'telegram:1001' }, 'could not deliver a chat message');
      capture.log.error(refused as Error);

    } finally {
      await adapter.stop();
      await fake.close();
    }
    const text = capture.text();
    expect(text).to.include('could not deliver a chat message');
    expect(text).to.include("can't parse entities");
    expect(text).not.to.include('whsec_');
    expect(text).not.to.include('c2VjcmV0');
    expect(text).not.to.include('AAE-bot-token');
    const line = JSON.parse(capture.lines.find((l) => l.includes('could not deliver')) as string) as { err: Record<string, unknown> };
    expect(Object.keys(line.err).sort()).to.deep.equal(['message', 'name', 'stack', 'status'].sort());
    expect(line.err).to.deep.include({ name: 'GrammyError', status: 400 });
  });

  it('the error serializer keeps name, message, code, status, a URL without path secrets or query, and the cause', () => {
    // Shaped like discord.js's DiscordAPIError: the URL carries an interaction token, the body a secret.
    const discord = Object.assign(new Error('Invalid Form Body'), {
      name: 'DiscordAPIError[50035]',
      code: 50035,
      status: 400,
      method: 'POST',
      url: `https://discord.com/api/v10/interactions/1234567890123456789/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQtdG9rZW4/callback?with_response=true&token=abc`,
      requestBody: { json: { data: { content: SIGNING_SECRET } } },
      rawError: { message: 'Invalid Form Body', content: SIGNING_SECRET },
      cause: Object.assign(new Error(`connect ECONNREFUSED while calling https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1`), { code: 'ECONNREFUSED', config: { headers: { Authorization: 'Bearer xoxb-1' } } }),
    });
    const safe = serializeError(discord) as Record<string, unknown>;
    expect(safe).to.deep.include({ name: 'DiscordAPIError[50035]', message: 'Invalid Form Body', code: 50035, status: 400, url: 'https://discord.com/api/v10/interactions/1234567890123456789/…/callback' });
    expect(safe.cause).to.deep.include({ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED while calling https://hooks.slack.com/services/T000/B000/…' });
    const text = JSON.stringify(safe);
    for (const leaked of ['whsec_', 'aW50ZXJhY3Rpb24', 'token=abc', 'with_response', 'xoxb', 'XXXXXXXX', 'requestBody', 'rawError']) expect(text).not.to.include(leaked);
    expect(String(safe.stack)).to.match(/^ {4}at /);
  });

  it('URLs lose credentials, query, fragment and any path part that may be a secret', () => {
    expect(safeUrl('https://user:pw@api.telegram.org/bot123456:AAE-token/sendMessage?chat_id=1#x')).to.equal('https://api.telegram.org/…/sendMessage');
    expect(safeUrl('https://erp.example.com/hooks/recon')).to.equal('https://erp.example.com/hooks/recon');
    expect(safeUrl('https://erp.example.com/hooks/5f0c2a9e-8d3b-4c1e-9a7f-3b2d1e0f9a8c')).to.equal('https://erp.example.com/hooks/…');
    expect(safeUrl('not a url')).to.equal('(not a URL)');
  });

  it('redacts secret-named fields in any spelling and at any depth, in plain objects and errors alike', () => {
    const capture = capturingLogger();
    capture.log.info(
      {
        bankPassword: 'pw-camel-1',
        bank_password: 'pw-snake-2',
        webhookAuthToken: 'tok-camel-3',
        Authorization: 'Bearer tok-4',
        headers: { 'x-api-key': 'key-5', Cookie: 'c-6' },
        deep: { a: { b: { c: { botToken: 'tok-7', signingSecret: 'sec-8', otpCode: '123456', values: { pw: 'form-9' } } } } },
        list: [{ appToken: 'xapp-10' }],
        err: Object.assign(new Error('boom'), { code: 'E_X', status: 502, accessToken: 'tok-11' }),
        // Counts and names that only contain such words stay.
        tokenCount: 3,
        secretGraceMs: 5,
      },
      'settings changed',
    );
    const text = capture.text();
    for (let i = 1; i <= 11; i++) expect(text, `value ${i}`).not.to.match(new RegExp(`-${i}"`));
    expect(text).not.to.include('123456');
    expect(text).to.include('"tokenCount":3');
    expect(text).to.include('"secretGraceMs":5');
    expect(text).to.include('"code":"E_X"');
  });

  it('a line break in a logged message or value cannot start a forged line, pretty or JSON', () => {
    for (const format of ['json', 'pretty'] as const) {
      let out = '';
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out += chunk.toString();
          callback();
        },
      });
      const log = createLogger({ level: 'info', format }, stream);
      const hostile = 'Ana\n[12:00:00.000] INFO (1): payment confirmed\r\nINFO: forged';
      log.info({ sender: hostile }, `movement from ${hostile}`);
      log.error(new Error(`bank said ${hostile}`));
      const lines = out.split(/\r\n|\n|\r/).filter(Boolean);
      if (format === 'json') expect(lines.map((l) => JSON.parse(l) as unknown)).to.have.length(2);
      else expect(lines.filter((l) => /^\[[\d:.]+\] (INFO|ERROR)/.test(l))).to.have.length(2);
      expect(lines.some((l) => l.startsWith('INFO: forged')), format).to.equal(false);
      expect(out, format).to.include('payment confirmed');
    }
  });
});
