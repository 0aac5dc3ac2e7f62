import { expect } from 'chai';
import { SECRET_MASK } from '../../src/domain/account-settings.js';
import { NotFoundError, UserError } from '../../src/domain/errors.js';
import type { Services } from '../../src/services.js';
import { rotateSealedValues } from '../../src/store/sealed-fields.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { useTestDatabase } from '../helpers/database.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { manualClock } from '../helpers/clock.js';
import { buildServices, TEST_KEY } from '../helpers/services.js';
import { LABELS_TTL_MS } from '../../src/accounts/account-service.js';

async function expectUserError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(UserError);
    expect((error as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected a UserError matching ${message}`);
}

describe('account service (real database)', () => {
  const test = useTestDatabase('accounts');
  const capture = capturingLogger();
  let services: Services;
  let userId: string;
  let otherUserId: string;

  before(async () => {
    services = buildServices(test.db, { log: capture.log });
    userId = (await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'a', displayName: 'A' }, 'A')).userId;
    otherUserId = (await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'b', displayName: 'B' }, 'B')).userId;
  });

  it('creates an account with the documented defaults', async () => {
    const account = await services.accounts.create(userId, { name: 'Main UYU', bank: 'SANDBOX' });
    expect(account).to.deep.include({ name: 'Main UYU', bank: 'sandbox', status: 'active', scrapeBlockedAt: null, scrapeBlockedReason: null });
    expect(account.settings).to.deep.include({ session_type: 'one-shot', login_mode: 'simple', retry_limit: 3, bank_password: null });
  });

  it('keeps names unique per user, ignoring case and spacing', async () => {
    await services.accounts.create(userId, { name: 'Dup', bank: 'sandbox' });
    await expectUserError(services.accounts.create(userId, { name: ' dup ', bank: 'sandbox' }), /already exists/);
    // Another user may use the same name.
    await services.accounts.create(otherUserId, { name: 'Dup', bank: 'sandbox' });
  });

  it('refuses an unknown bank, listing the known ones', async () => {
    await expectUserError(services.accounts.create(userId, { name: 'X', bank: 'itau' }), /Unknown bank "itau" \(available: sandbox, statement\)/);
  });

  it('refuses a bad name with a plain sentence', async () => {
    await expectUserError(services.accounts.create(userId, { name: '../etc', bank: 'sandbox' }), /Invalid name: name may use letters/);
    await expectUserError(services.accounts.create(userId, { name: 'x'.repeat(65), bank: 'sandbox' }), /at most 64/);
  });

  it('seals secrets in the database, masks them in every read, and opens them for a session', async () => {
    const account = await services.accounts.create(userId, { name: 'Secrets', bank: 'sandbox' });
    const password = 'pw-Ünïque-29481';
    const token = 'tok-Ünïque-77310';
    const { account: view, changed } = await services.accounts.configure(userId, 'secrets', {
      bank_username: 'juan',
      bank_password: password,
      webhook_auth_token: token,
      webhook_url: 'https://erp.example.com/hook',
    });
    expect(changed).to.have.members(['bank_username', 'bank_password', 'webhook_auth_token', 'webhook_url']);
    expect(view.settings).to.deep.include({ bank_username: 'juan', bank_password: SECRET_MASK, webhook_auth_token: SECRET_MASK, auth_token: null });

    const raw = JSON.stringify(await test.db.models.Account.findById(account.id).lean());
    expect(raw).not.to.include(password);
    expect(raw).not.to.include(token);
    expect(await services.accounts.revealSecret(account.id, 'bank_password')).to.equal(password);
    expect(capture.text()).not.to.include(password);
    expect(capture.text()).not.to.include(token);
  });

  it('writing the mask back keeps the stored secret; an empty value clears it', async () => {
    const account = await services.accounts.create(userId, { name: 'Mask', bank: 'sandbox' });
    await services.accounts.configure(userId, 'Mask', { auth_token: 'first' });
    const { changed } = await services.accounts.configure(userId, 'Mask', { auth_token: SECRET_MASK });
    expect(changed).to.deep.equal([]);
    expect(await services.accounts.revealSecret(account.id, 'auth_token')).to.equal('first');
    await services.accounts.configure(userId, 'Mask', { auth_token: null });
    expect(await services.accounts.revealSecret(account.id, 'auth_token')).to.equal(null);
  });

  it('stores JSON settings whose keys MongoDB would misread', async () => {
    await services.accounts.create(userId, { name: 'Json', bank: 'sandbox' });
    const extras = { 'a.b': 1, $c: { d: [1, 'x'] } };
    const { account } = await services.accounts.configure(userId, 'json', { webhook_extra_fields: extras, polling_body: { 'x.y': true } });
    expect(account.settings.webhook_extra_fields).to.deep.equal(extras);
    expect(account.settings.polling_body).to.deep.equal({ 'x.y': true });
  });

  it('refuses invalid settings without changing anything', async () => {
    await services.accounts.create(userId, { name: 'Strict', bank: 'sandbox' });
    await expectUserError(services.accounts.configure(userId, 'Strict', { webhook_url: 'https://ok.example', webhook_extra_fields: { name: 'x' } }), /reserved key\(s\) name/);
    const view = await services.accounts.show(userId, 'Strict');
    expect(view.settings.webhook_url).to.equal(null);
  });

  it('pauses and resumes', async () => {
    await services.accounts.create(userId, { name: 'Pausable', bank: 'sandbox' });
    expect((await services.accounts.setStatus(userId, 'pausable', 'inactive')).status).to.equal('inactive');
    expect((await services.accounts.setStatus(userId, 'pausable', 'active')).status).to.equal('active');
  });

  it('deletes only with the name repeated', async () => {
    await services.accounts.create(userId, { name: 'Doomed', bank: 'sandbox' });
    await expectUserError(services.accounts.remove(userId, 'Doomed', undefined), /repeat the account's name: "Doomed"/);
    await expectUserError(services.accounts.remove(userId, 'Doomed', 'doome'), /does not match.*nothing was deleted/);
    expect((await services.accounts.show(userId, 'Doomed')).name).to.equal('Doomed');
    await services.accounts.remove(userId, 'Doomed', 'doomed');
    await expectUserError(services.accounts.show(userId, 'Doomed'), /No account named "Doomed"/);
  });

  it("never shows one user another user's account", async () => {
    const mine = await services.accounts.create(userId, { name: 'Private', bank: 'sandbox' });
    try {
      await services.accounts.show(otherUserId, mine.id);
      expect.fail('must not be visible');
    } catch (error) {
      expect(error).to.be.instanceOf(NotFoundError);
    }
    expect((await services.accounts.list(otherUserId)).map((a) => a.name)).not.to.include('Private');
  });

  it('labels (reused for the listing pages): per user; an account created or deleted here shows at once; one made by another process within the reuse time', async () => {
    const clock = manualClock();
    const own = buildServices(test.db, { clock });
    const names = async (user: string) => (await own.accounts.labels(user)).map((a) => a.name);
    const before = await names(userId);
    const created = await own.accounts.create(userId, { name: 'Labelled', bank: 'sandbox' });
    expect(await own.accounts.labels(userId)).to.deep.include({ id: created.id, name: 'Labelled', bank: 'sandbox' });
    expect(await names(otherUserId), "another user's labels").not.to.include('Labelled');
    await own.accounts.remove(userId, 'Labelled', 'Labelled');
    expect(await names(userId)).to.deep.equal(before);
    // Another process (its own services) adds one: this one's labels are reused until they are LABELS_TTL_MS old.
    const elsewhere = await buildServices(test.db, { clock }).accounts.create(userId, { name: 'Made elsewhere', bank: 'sandbox' });
    expect(await names(userId), 'reused').not.to.include('Made elsewhere');
    clock.advance(LABELS_TTL_MS);
    expect(await names(userId)).to.include('Made elsewhere');
    expect(await names(otherUserId)).not.to.include('Made elsewhere');
    await own.accounts.remove(userId, elsewhere.id, 'Made elsewhere');
    expect(await names(userId)).not.to.include('Made elsewhere');
  });

  it('finds an account by id or by name, index-served, and never by another user', async () => {
    const mine = await services.accounts.create(userId, { name: 'By Ref', bank: 'sandbox' });
    expect((await services.accounts.show(userId, mine.id.toUpperCase())).id).to.equal(mine.id);
    expect((await services.accounts.show(userId, ' by ref ')).id).to.equal(mine.id);
    for (const ref of [mine.id, 'By Ref']) {
      try {
        await services.accounts.show(otherUserId, ref);
        expect.fail('must not be visible');
      } catch (error) {
        expect(error).to.be.instanceOf(NotFoundError);
      }
    }
  });

  it('rotates every secret to the newest key, and old keys can then be dropped', async () => {
    const account = await services.accounts.create(userId, { name: 'Rotate', bank: 'sandbox' });
    await services.accounts.configure(userId, 'Rotate', { bank_password: 'rot-pw', notification_auth_token: 'rot-tok' });
    const newKey = { id: 'next', key: Buffer.alloc(32, 3) };
    const rotating = createSecretBox([newKey, TEST_KEY]);
    const result = await rotateSealedValues(test.db.models, rotating);
    expect(result.rotated).to.be.at.least(2);
    const again = await rotateSealedValues(test.db.models, rotating);
    expect(again.rotated).to.equal(0);
    const onlyNew = buildServices(test.db, { secrets: createSecretBox([newKey]) });
    expect(await onlyNew.accounts.revealSecret(account.id, 'bank_password')).to.equal('rot-pw');
    expect(await onlyNew.accounts.revealSecret(account.id, 'notification_auth_token')).to.equal('rot-tok');
  });
});

describe('first session after credentials are saved (real database)', () => {
  const test = useTestDatabase('firstsession');

  it('is due FIRST_SESSION_DELAY_SECONDS after the credentials are saved, so the account can be finished first', async () => {
    const { manualClock } = await import('../helpers/clock.js');
    const clock = manualClock(new Date('2026-12-01T10:00:00Z'));
    const services = buildServices(test.db, { clock, sessionSettings: { firstSessionDelayMs: 60_000 } });
    const { userId } = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'c', displayName: 'C' }, 'C');
    const account = await services.accounts.create(userId, { name: 'Later', bank: 'sandbox' });
    await services.accounts.configure(userId, account.id, { bank_username: 'ana', bank_password: 'pw-first-session' });
    const doc = await test.db.models.Account.findById(account.id).lean();
    expect(doc?.scrape?.nextRunAt?.toISOString()).to.equal('2026-12-01T10:01:00.000Z');
  });
});
