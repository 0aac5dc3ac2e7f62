import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig, readEnvironment } from '../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has sensible defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.env).to.equal('development');
    expect(config.database.uri).to.equal(undefined);
    expect(config.database.embeddedEngine).to.equal('auto');
    expect(config.database.timeoutMs).to.equal(10_000);
    expect(config.dataDir).to.equal(path.resolve('./data'));
    expect(config.secretKeys).to.equal(undefined);
    expect(config.chat).to.deep.equal({ console: 'auto', retryMs: 5_000, platformsConfigured: [], telegram: undefined, slack: undefined, discord: undefined });
    expect(config.banks.showSandbox).to.equal(true);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a log level that does not exist', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    ['a MongoDB URI of another scheme', { MONGODB_URI: 'postgres://x' }, /^MONGODB_URI: must start with mongodb:\/\//],
    ['a port out of range', { EMBEDDED_DB_PORT: '70000' }, /^EMBEDDED_DB_PORT: /],
    ['a timeout that is not a number', { DB_TIMEOUT_MS: 'soon' }, /^DB_TIMEOUT_MS: expected a whole number/],
    ['a boolean spelled oddly', { SHOW_SANDBOX_BANK: 'maybe' }, /^SHOW_SANDBOX_BANK: expected true or false/],
    ['a secret key without id', { SECRET_KEYS: Buffer.alloc(32).toString('base64') }, /^SECRET_KEYS: each entry must look like/],
    ['a secret key of the wrong size', { SECRET_KEYS: `k1:${Buffer.alloc(16).toString('base64')}` }, /^SECRET_KEYS: key "k1" must be 32 bytes/],
    ['a secret key id used twice', { SECRET_KEYS: `k1:${Buffer.alloc(32).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}` }, /^SECRET_KEYS: key id "k1" appears twice/],
    ['an unknown console mode', { CHAT_CONSOLE: 'sometimes' }, /^CHAT_CONSOLE: /],
    ['a set-up allow-list entry that is no user id', { SETUP_ALLOWED: 'telegram:1,bob' }, /^SETUP_ALLOWED: "bob" is neither anyone, first-owner, none nor a platform user id/],
    ['an unknown sandbox mode', { CHROMIUM_SANDBOX: 'maybe' }, /^CHROMIUM_SANDBOX: /],
  ];
  for (const [what, env, expected] of bad) {
    it(`names the variable for ${what}`, () => {
      const problems = problemsOf(env);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(expected);
    });
  }

  it('SETUP_ALLOWED: anyone in development, the first owner only in production, or what it lists', () => {
    expect(loadConfig({}).setup).to.deep.equal({ anyone: true, firstOwner: false, identities: [] });
    expect(loadConfig({ NODE_ENV: 'production' }).setup).to.deep.equal({ anyone: false, firstOwner: true, identities: [] });
    expect(loadConfig({ NODE_ENV: 'production', SETUP_ALLOWED: 'first-owner, telegram:12345,slack:T01:U02' }).setup).to.deep.equal({ anyone: false, firstOwner: true, identities: ['telegram:12345', 'slack:T01:U02'] });
    expect(loadConfig({ SETUP_ALLOWED: 'none' }).setup).to.deep.equal({ anyone: false, firstOwner: false, identities: [] });
  });

  it("CHROMIUM_SANDBOX: auto unless set", () => {
    expect(loadConfig({}).browser.sandbox).to.equal('auto');
    expect(loadConfig({ CHROMIUM_SANDBOX: 'on' }).browser.sandbox).to.equal('on');
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ LOG_LEVEL: 'x', DB_TIMEOUT_MS: '-1' }).map((p) => p.split(':')[0])).to.have.members(['LOG_LEVEL', 'DB_TIMEOUT_MS']);
  });

  it('never echoes a secret key in its error', () => {
    const key = 'c2VjcmV0LWtleS10aGF0LWlzLXRvby1zaG9ydA==';
    const problems = problemsOf({ SECRET_KEYS: `k1:${key}` });
    expect(problems.join(' ')).not.to.include(key);
  });

  it('parses rotation keys in order: the first encrypts', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    const config = loadConfig({ SECRET_KEYS: `new:${a}, old:${b}` });
    expect(config.secretKeys?.map((k) => k.id)).to.deep.equal(['new', 'old']);
    expect(config.secretKeys?.[1]?.key.equals(Buffer.alloc(32, 2))).to.equal(true);
  });

  it('lists configured chat platforms (the console is for when there are none)', () => {
    expect(loadConfig({ TELEGRAM_BOT_TOKEN: '1:abc', DISCORD_BOT_TOKEN: ' ' }).chat.platformsConfigured).to.deep.equal(['telegram']);
  });

  it('honours a .env file, with real environment variables winning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-env-'));
    writeFileSync(path.join(dir, '.env'), 'LOG_LEVEL=debug\nDATA_DIR=/from/file\n# comment\n');
    const env = readEnvironment(dir, { DATA_DIR: '/from/env' });
    const config = loadConfig(env);
    expect(config.log.level).to.equal('debug');
    expect(config.dataDir).to.equal('/from/env');
  });
});

describe('config: Telegram', () => {
  it('polling by default; webhook mode needs its secret', () => {
    const polling = loadConfig({ TELEGRAM_BOT_TOKEN: '1:abc' });
    expect(polling.chat.telegram).to.deep.include({ token: '1:abc', mode: 'polling', webhook: undefined });
    expect(polling.chat.platformsConfigured).to.deep.equal(['telegram']);
    try {
      loadConfig({ TELEGRAM_BOT_TOKEN: '1:abc', TELEGRAM_MODE: 'webhook' });
      expect.fail('webhook without a secret');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.deep.equal(['TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook (Telegram sends it back on every update)']);
    }
    const hooked = loadConfig({ TELEGRAM_BOT_TOKEN: '1:abc', TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: 's3cret' });
    expect(hooked.chat.telegram?.webhook).to.deep.equal({ secretToken: 's3cret', port: 8443, host: '0.0.0.0', path: '/telegram' });
  });

  it('Slack: HTTP mode needs the signing secret, Socket Mode the app-level token', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).to.deep.equal([
      'SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN in HTTP mode (Basic Information → Signing Secret): every request from Slack is verified with it',
    ]);
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket' })[0]).to.match(/^SLACK_APP_TOKEN: required when SLACK_MODE=socket/);
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xoxb-wrong-kind' })[0]).to.match(/^SLACK_APP_TOKEN: an app-level token starts with xapp-/);
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' }).chat.slack).to.deep.equal({ botToken: 'xoxb-1', apiUrl: undefined, mode: 'http', signingSecret: 'sig', port: 3000, host: '0.0.0.0', path: '/slack/events' });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-1' }).chat.slack).to.deep.equal({ botToken: 'xoxb-1', apiUrl: undefined, mode: 'socket', appToken: 'xapp-1' });
  });
});

describe('config: the HTTP API', () => {
  it('127.0.0.1:3000 by default, CORS off; an unset API_PORT moves aside from Slack\'s HTTP port; a set one that clashes is an error', () => {
    const api = loadConfig({}).api;
    expect(api).to.deep.include({ host: '127.0.0.1', port: 3000, corsOrigins: [], trustProxy: false, bodyLimitBytes: 64 * 1024, requestTimeoutMs: 60_000 });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' }).api.port).to.equal(3001);
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-1' }).api.port).to.equal(3000);
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig', API_PORT: '3000' })).to.deep.equal([
      "API_PORT: the HTTP API and Slack's events (SLACK_PORT) cannot share port 3000; set one of them to another port",
    ]);
    expect(problemsOf({ API_CORS_ORIGINS: 'https://ops.example.com/path' })[0]).to.match(/^API_CORS_ORIGINS: each origin is scheme:\/\/host/);
    expect(loadConfig({ API_CORS_ORIGINS: 'https://ops.example.com, http://localhost:5173' }).api.corsOrigins).to.deep.equal(['https://ops.example.com', 'http://localhost:5173']);
    expect(problemsOf({ API_JWT_SECRET: 'short' })[0]).to.match(/^API_JWT_SECRET: at least 32 characters/);
    expect(loadConfig({ SETUP_ALLOWED: 'api:ana@example.com' }).setup.identities).to.deep.equal(['api:ana@example.com']);
  });
});
