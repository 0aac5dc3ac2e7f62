import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSecretBox, generateKey, isSealed, loadOrCreateLocalKeys, SecretBoxError } from '../../src/store/secret-box.js';

const oldKey = { id: 'old', key: Buffer.alloc(32, 7) };
const newKey = { id: 'new', key: Buffer.alloc(32, 9) };

function flipCharAt(sealed: string, partIndex: number): string {
  const parts = sealed.split(':');
  const part = parts[partIndex] as string;
  const bytes = Buffer.from(part, 'base64url');
  bytes[0] = (bytes[0] as number) ^ 1;
  parts[partIndex] = bytes.toString('base64url');
  return parts.join(':');
}

describe('secret box', () => {
  const box = createSecretBox([oldKey]);

  it('round-trips text, including non-ASCII, without leaving it readable', () => {
    const secret = 'contraseña-Ñandú-🔐';
    const sealed = box.seal(secret, 'account:1:bank_password');
    expect(isSealed(sealed)).to.equal(true);
    expect(sealed).not.to.include(secret);
    expect(box.open(sealed, 'account:1:bank_password')).to.equal(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('same', 'c')).not.to.equal(box.seal('same', 'c'));
  });

  // parts: enc, v1, keyId, iv, tag, ciphertext
  for (const [name, index] of [['iv', 3], ['tag', 4], ['ciphertext', 5]] as const) {
    it(`detects a tampered ${name}`, () => {
      const sealed = box.seal('hunter2', 'ctx');
      expect(() => box.open(flipCharAt(sealed, index), 'ctx')).to.throw(SecretBoxError, /failed authentication/);
    });
  }

  it('refuses a truncated authentication tag (GCM would check only the bytes given: 4 of 16)', () => {
    const sealed = box.seal('hunter2', 'ctx');
    const parts = sealed.split(':');
    for (const length of [4, 8, 12, 15]) {
      const cut = [...parts];
      cut[4] = Buffer.from(parts[4] as string, 'base64url').subarray(0, length).toString('base64url');
      expect(() => box.open(cut.join(':'), 'ctx'), `${length}-byte tag`).to.throw(SecretBoxError, /malformed/);
    }
  });

  it('refuses an IV of any length but 12 bytes, even when the rest is authentic', () => {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-gcm', oldKey.key, iv);
    cipher.setAAD(Buffer.from('ctx', 'utf8'));
    const ciphertext = Buffer.concat([cipher.update('hunter2', 'utf8'), cipher.final()]);
    const forged = `enc:v1:old:${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${ciphertext.toString('base64url')}`;
    expect(() => box.open(forged, 'ctx')).to.throw(SecretBoxError, /malformed/);
  });

  it('refuses a value sealed for another place (context is authenticated)', () => {
    const sealed = box.seal('hunter2', 'account:A:bank_password');
    expect(() => box.open(sealed, 'account:B:bank_password')).to.throw(SecretBoxError);
  });

  it('refuses malformed values', () => {
    expect(() => box.open('plain text', 'c')).to.throw(SecretBoxError, /not a sealed value/);
    expect(() => box.open('enc:v1:old:abc', 'c')).to.throw(SecretBoxError, /malformed/);
  });

  it('rotates: old ciphertexts open with the new key list, and are flagged for re-sealing', () => {
    const sealedOld = box.seal('hunter2', 'ctx');
    const rotated = createSecretBox([newKey, oldKey]);
    expect(rotated.currentKeyId).to.equal('new');
    expect(rotated.open(sealedOld, 'ctx')).to.equal('hunter2');
    expect(rotated.needsRotation(sealedOld)).to.equal(true);
    const resealed = rotated.seal(rotated.open(sealedOld, 'ctx'), 'ctx');
    expect(rotated.needsRotation(resealed)).to.equal(false);
    expect(createSecretBox([newKey]).open(resealed, 'ctx')).to.equal('hunter2');
  });

  it('names a missing key id, never the value', () => {
    const sealed = box.seal('hunter2', 'ctx');
    expect(() => createSecretBox([newKey]).open(sealed, 'ctx')).to.throw(SecretBoxError, /no key with id "old"/);
  });

  it('needs at least one key', () => {
    expect(() => createSecretBox([])).to.throw(SecretBoxError);
  });

  it('creates a local key file readable only by its owner, and reads the same keys back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-keys-'));
    const first = loadOrCreateLocalKeys(dir);
    expect(first.created).to.equal(true);
    expect(statSync(first.file).mode & 0o777).to.equal(0o600);
    const second = loadOrCreateLocalKeys(dir);
    expect(second.created).to.equal(false);
    expect(second.keys[0]?.key.equals(first.keys[0]?.key as Buffer)).to.equal(true);
    const sealed = createSecretBox(first.keys).seal('x', 'c');
    expect(createSecretBox(second.keys).open(sealed, 'c')).to.equal('x');
  });

  it('generates 32-byte keys', () => {
    expect(generateKey().key).to.have.length(32);
  });
});
