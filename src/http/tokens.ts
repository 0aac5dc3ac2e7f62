import { hkdfSync, webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/**
 * Signed tokens of the HTTP API (HS256 JWT): logins (audience `api`, 7 days) and anything a
 * plugin needs to hand out (the realtime ticket, audience `realtime`, 30 seconds). A token of
 * one audience never passes for another. Several keys may verify (the newest signs), so a
 * key can be replaced without logging everybody out at once.
 */

export const LOGIN_TTL_SECONDS = 7 * 24 * 3600;
const ISSUER = 'reconbanker';

export type TokenClaims = JWTPayload & { sub: string };

export type TokenSigner = {
  sign(claims: Record<string, unknown> & { sub: string }, options: { audience: string; ttlSeconds: number }): Promise<string>;
  /** The claims, or null when the token is malformed, forged, expired or for another audience. */
  verify(token: string, audience: string): Promise<TokenClaims | null>;
};

/** Signing keys from a configured secret, or derived (HKDF) from the service's encryption keys. */
export function tokenKeys(input: { secret?: string | undefined; encryptionKeys: Buffer[] }): Uint8Array[] {
  if (input.secret) return [new TextEncoder().encode(input.secret)];
  if (input.encryptionKeys.length === 0) throw new Error('no key to sign API tokens with');
  return input.encryptionKeys.map((key) => new Uint8Array(hkdfSync('sha256', key, 'reconbanker', 'http-api-tokens', 32)));
}

export function createTokenSigner(keys: Uint8Array[]): TokenSigner {
  const [current] = keys;
  if (!current) throw new Error('no key to sign API tokens with');
  // Imported once: given raw bytes, jose imports the key again for every token it checks.
  const verifyKeys = Promise.all(keys.map((key) => webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])));
  verifyKeys.catch(() => undefined);
  return {
    async sign(claims, options) {
      const { sub, ...rest } = claims;
      return new SignJWT(rest).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuer(ISSUER).setAudience(options.audience).setIssuedAt().setExpirationTime(`${options.ttlSeconds}s`).sign(current);
    },
    async verify(token, audience) {
      if (token.length > 4096) return null;
      for (const key of await verifyKeys) {
        try {
          const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience });
          return typeof payload.sub === 'string' ? (payload as TokenClaims) : null;
        } catch (error) {
          // A bad signature may be another key's; anything else (expired, wrong audience, garbage) is final.
          if (!(error instanceof errors.JWSSignatureVerificationFailed)) return null;
        }
      }
      return null;
    },
  };
}
