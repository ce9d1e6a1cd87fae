/**
 * API keys: `hf_<keyId>_<secret>`. The key id is public (it names the key in lists, logs and the audit
 * trail); the secret is 256 random bits, shown once and stored only as a hash. A hash without a salt
 * or a slow KDF is enough here: the secret is random, not a password a person chose.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PATTERN = /^hf_([a-z0-9]{8,32})_([A-Za-z0-9_-]{43,200})$/;

export interface ParsedApiKey {
  readonly keyId: string;
  readonly secret: string;
}

/** A fresh key: a 64-bit id and a 256-bit secret (base64url, 43 characters). */
export function generateApiKey(): ParsedApiKey & { readonly key: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secret, key: `hf_${keyId}_${secret}` };
}

/** null when the string is not shaped like an API key. */
export function parseApiKey(key: string): ParsedApiKey | null {
  const m = API_KEY_PATTERN.exec(key);
  return m ? { keyId: m[1], secret: m[2] } : null;
}

/** sha256 of the whole key (the id too, so a hash only ever verifies under its own id), hex. */
export function hashApiKey(key: ParsedApiKey): string {
  return createHash('sha256').update(`hf_${key.keyId}_${key.secret}`).digest('hex');
}

/** Constant-time comparison of the presented key's hash with the stored one. */
export function apiKeyMatches(key: ParsedApiKey, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What a bearer credential is, by its shape: an API key (`hf_` prefix), a JWT (three dot-separated parts). */
export function credentialShape(credential: string): 'api-key' | 'jwt' | 'unknown' {
  if (credential.startsWith('hf_')) return 'api-key';
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential)) return 'jwt';
  return 'unknown';
}

/** The credential of an `Authorization: Bearer <credential>` header; null when there is none. */
export function bearerCredential(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value.trim());
  return m ? m[1] : null;
}

/** X-Request-Id as the client sent it when well-formed, else null (a new one is generated). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
