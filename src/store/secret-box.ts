import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SecretKey } from '../config.js';

/**
 * AES-256-GCM for credentials and tokens at rest.
 *
 * A sealed value is `enc:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts). The key id lets
 * old ciphertexts open after a rotation; `context` (for instance `account:<id>:bank_password`)
 * is bound as additional authenticated data, so a ciphertext copied to another account or field
 * does not open.
 */
export type SecretBox = {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
  /** True when the value was sealed with a key other than the current one. */
  needsRotation(sealed: string): boolean;
  readonly currentKeyId: string;
};

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

const PREFIX = 'enc:v1:';
/**
 * Pinned, not taken from the value: GCM checks only as many tag bytes as it is given (Node
 * accepts a 4-byte tag, a 1 in 2^32 forgery), and any IV length but 12 changes how the
 * counter is derived.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function createSecretBox(keys: SecretKey[]): SecretBox {
  const current = keys[0];
  if (!current) throw new SecretBoxError('at least one encryption key is required');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  function parse(sealed: string) {
    if (!isSealed(sealed)) throw new SecretBoxError('not a sealed value');
    const [keyId, iv, tag, ciphertext, ...rest] = sealed.slice(PREFIX.length).split(':');
    if (!keyId || iv === undefined || tag === undefined || ciphertext === undefined || rest.length > 0) {
      throw new SecretBoxError('malformed sealed value');
    }
    const parts = { keyId, iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url') };
    if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES) throw new SecretBoxError('malformed sealed value');
    return parts;
  }

  return {
    currentKeyId: current.id,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${PREFIX}${current.id}:${iv.toString('base64url')}:${tag.toString('base64url')}:${ciphertext.toString('base64url')}`;
    },
    open(sealed, context) {
      const parts = parse(sealed);
      const key = byId.get(parts.keyId);
      if (!key) throw new SecretBoxError(`no key with id "${parts.keyId}" is configured (SECRET_KEYS)`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(parts.tag);
        return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // GCM reports tampering, a wrong key and a wrong context alike; say so without detail.
        throw new SecretBoxError('sealed value failed authentication (tampered, or sealed for another place)');
      }
    },
    needsRotation(sealed) {
      return parse(sealed).keyId !== current.id;
    },
  };
}

export function generateKey(): SecretKey {
  return { id: `k${Date.now().toString(36)}`, key: randomBytes(32) };
}

export function formatKeys(keys: SecretKey[]): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

/**
 * Development/embedded mode only: keys kept in `<dataDir>/secret-keys` (0600), created on first
 * use. Returns the keys and whether the file was just created, so start-up can say where it is.
 */
export function loadOrCreateLocalKeys(dataDir: string): { keys: SecretKey[]; file: string; created: boolean } {
  const file = path.join(dataDir, 'secret-keys');
  if (existsSync(file)) {
    const keys = readFileSync(file, 'utf8')
      .split(/[,\n]/)
      .map((e) => e.trim())
      .filter(Boolean)
      .map((entry) => {
        const i = entry.indexOf(':');
        return { id: entry.slice(0, i), key: Buffer.from(entry.slice(i + 1), 'base64') };
      });
    if (keys.length === 0 || keys.some((k) => k.key.length !== 32)) {
      throw new SecretBoxError(`${file} is not a valid key file (expected <key-id>:<base64 32-byte key> lines)`);
    }
    return { keys, file, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const keys = [generateKey()];
  writeFileSync(file, `${formatKeys(keys)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { keys, file, created: true };
}
