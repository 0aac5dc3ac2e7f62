import { expect } from 'chai';
import {
  defaultSettings,
  maskedSettings,
  SECRET_MASK,
  settingFromText,
  validateSettingsPatch,
  type SettingName,
} from '../../src/domain/account-settings.js';
import { UserError } from '../../src/domain/errors.js';

function rejects(patch: Record<string, unknown>, message: RegExp) {
  expect(() => validateSettingsPatch(patch)).to.throw(UserError, message);
}

describe('account settings', () => {
  it('defaults follow SPEC §1', () => {
    expect(defaultSettings()).to.deep.include({
      session_type: 'one-shot',
      login_mode: 'simple',
      polling_method: 'GET',
      auth_type: 'bearer',
      webhook_auth_type: null,
      notification_events: [],
      notify_on_expired: false,
      retry_limit: 3,
      silent_ingestion: false,
      scrape_interval_minutes: 10,
      pending_orders_endpoint: null,
      webhook_url: null,
    });
    expect(defaultSettings()).not.to.have.property('bank_password');
  });

  describe('validation', () => {
    it('accepts a full, valid patch', () => {
      const patch = validateSettingsPatch({
        webhook_url: 'https://erp.example.com/hooks/recon',
        pending_orders_endpoint: 'http://10.0.0.5:8080/pending',
        polling_method: 'POST',
        polling_body: { account: 'main-uyu' },
        webhook_extra_fields: { tenant: 'acme', 'a.b': 1 },
        notification_events: ['login_failed', 'login_failed', 'scrape_failed'],
        retry_limit: 0,
        bank_password: 'hunter2',
      });
      expect(patch.notification_events).to.deep.equal(['login_failed', 'scrape_failed']);
      expect(patch.bank_password).to.equal('hunter2');
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ['an ftp URL', { webhook_url: 'ftp://files.example.com' }, /webhook_url must be an http:\/\/ or https:\/\/ URL/],
      ['text that is no URL', { notification_endpoint_url: 'not a url' }, /notification_endpoint_url must be an http/],
      ['a javascript: URL', { pending_orders_endpoint: 'javascript:alert(1)' }, /pending_orders_endpoint must be an http/],
      ['reserved extra keys', { webhook_extra_fields: { status: 'x', id: 1, tenant: 'ok' } }, /webhook_extra_fields cannot set reserved key\(s\) status, id/],
      ['extras that are not an object', { webhook_extra_fields: [1, 2] }, /webhook_extra_fields must be a JSON object/],
      ['an unknown session type', { session_type: 'forever' }, /session_type must be one-shot or persistent/],
      ['an unknown event', { notification_events: ['matched'] }, /notification_events each event must be one of/],
      ['a negative retry limit', { retry_limit: -1 }, /retry_limit must be 0 or more/],
      ['a fractional interval', { scrape_interval_minutes: 2.5 }, /scrape_interval_minutes must be a whole number/],
      ['an unknown setting', { webhook: 'https://x.example' }, /webhook is not a setting/],
      ['a boolean given as text', { notify_on_expired: 'maybe' }, /notify_on_expired must be true or false/],
    ];
    for (const [what, patch, message] of invalid) {
      it(`refuses ${what}, naming the field`, () => rejects(patch, message));
    }

    it('names every bad field in one sentence', () => {
      rejects({ webhook_url: 'x', retry_limit: 'y' }, /webhook_url .*; retry_limit /);
    });

    describe('JSON settings are bounded in depth and size (one sentence, never a stack overflow)', () => {
      const nested = (depth: number): unknown => {
        let value: unknown = 1;
        for (let i = 0; i < depth; i++) value = { a: value };
        return value;
      };
      const limits = /(webhook_extra_fields|polling_body) must be JSON at most 10 levels deep and at most 16 KB\./;

      for (const name of ['webhook_extra_fields', 'polling_body'] as const) {
        it(`${name}: 2,000 levels (from chat text or typed) is refused with the limits`, () => {
          let text = '1';
          for (let i = 0; i < 2000; i++) text = `{"a":${text}}`;
          rejects({ [name]: settingFromText(name, text) }, limits);
          rejects({ [name]: nested(2000) }, limits);
        });

        it(`${name}: 200,000 levels is refused too (the check itself never recurses)`, () => {
          let deep: unknown = [];
          for (let i = 0; i < 200_000; i++) deep = [deep];
          rejects({ [name]: { x: deep } }, limits);
        });

        it(`${name}: more than 16 KB is refused; 10 levels and 16 KB pass`, () => {
          rejects({ [name]: { blob: 'x'.repeat(17_000) } }, limits);
          expect(validateSettingsPatch({ [name]: nested(10) })[name]).to.deep.equal(nested(10));
          expect(() => validateSettingsPatch({ [name]: nested(11) })).to.throw(UserError, limits);
          expect(validateSettingsPatch({ [name]: { blob: 'x'.repeat(16_000) } })).to.have.property(name);
        });
      }

      it('the refusal is one sentence naming only the field', () => {
        try {
          validateSettingsPatch({ webhook_extra_fields: nested(50) });
          expect.fail('refused');
        } catch (error) {
          expect((error as Error).message).to.equal('Invalid setting: webhook_extra_fields must be JSON at most 10 levels deep and at most 16 KB.');
        }
      });
    });

    it('an empty value resets a setting to its default; the mask keeps a secret', () => {
      const patch = validateSettingsPatch({ session_type: null, webhook_url: '', auth_token: SECRET_MASK, webhook_auth_token: null });
      expect(patch).to.deep.equal({ session_type: 'one-shot', webhook_url: null, webhook_auth_token: null });
    });
  });

  describe('text from chat', () => {
    const cases: [SettingName, string, unknown][] = [
      ['retry_limit', '5', 5],
      ['retry_limit', 'five', 'five'],
      ['notify_on_expired', 'yes', true],
      ['silent_ingestion', 'OFF', false],
      ['notification_events', 'login_failed, scrape_failed', ['login_failed', 'scrape_failed']],
      ['webhook_extra_fields', '{"tenant":"acme"}', { tenant: 'acme' }],
      ['polling_method', 'post', 'POST'],
      ['session_type', 'Persistent', 'persistent'],
      ['webhook_url', ' https://x.example/h ', 'https://x.example/h'],
      ['webhook_url', 'none', null],
      ['auth_token', '', null],
    ];
    for (const [name, text, expected] of cases) {
      it(`${name}=${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
        expect(settingFromText(name, text)).to.deep.equal(expected);
      });
    }

    it('malformed JSON is a plain sentence naming the field', () => {
      expect(() => settingFromText('webhook_extra_fields', '{tenant:')).to.throw(UserError, /webhook_extra_fields must be valid JSON/);
    });
  });

  it('masks set secrets and shows unset ones as null', () => {
    const view = maskedSettings(defaultSettings(), { bank_password: true, auth_token: false, webhook_auth_token: true, notification_auth_token: false });
    expect(view.bank_password).to.equal(SECRET_MASK);
    expect(view.webhook_auth_token).to.equal(SECRET_MASK);
    expect(view.auth_token).to.equal(null);
  });
});
