/**
 * Credential-free download links for devices: `<path>?expires=<unix s>&device=<id>&sig=<base64url>`,
 * where sig = HMAC-SHA256(secret, "<path>\n<expires>\n<device>"). Whoever holds the link may download
 * that one path until it expires; changing any part of it breaks the signature.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SignedUrlParts {
  readonly path: string;
  /** Unix seconds. */
  readonly expires: number;
  readonly deviceId?: string;
}

export type SignedUrlCheck = { ok: true } | { ok: false; code: 'URL_EXPIRED' | 'URL_SIGNATURE_INVALID' };

export class UrlSigner {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error('the URL signing secret must be at least 32 bytes');
  }

  signature(parts: SignedUrlParts): string {
    return createHmac('sha256', this.secret)
      .update(`${parts.path}\n${parts.expires}\n${parts.deviceId ?? ''}`)
      .digest('base64url');
  }

  /** The path with its query: `expires`, optional `device`, and `sig`. */
  sign(parts: SignedUrlParts): string {
    const query = new URLSearchParams({ expires: String(parts.expires) });
    if (parts.deviceId !== undefined) query.set('device', parts.deviceId);
    query.set('sig', this.signature(parts));
    return `${parts.path}?${query.toString()}`;
  }

  /** Signature first (a tampered expiry is a bad signature, not an expired link), then the expiry. */
  check(parts: SignedUrlParts, sig: string, nowSeconds: number): SignedUrlCheck {
    const expected = Buffer.from(this.signature(parts));
    const given = Buffer.from(sig);
    if (
      !Number.isSafeInteger(parts.expires) ||
      given.length !== expected.length ||
      !timingSafeEqual(given, expected)
    ) {
      return { ok: false, code: 'URL_SIGNATURE_INVALID' };
    }
    if (parts.expires < nowSeconds) return { ok: false, code: 'URL_EXPIRED' };
    return { ok: true };
  }
}

/** The configured secret, else one generated once into `<dataDir>/artifact-url-secret` (mode 0600). */
export function loadOrCreateUrlSecret(configured: string | null, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = path.join(dataDir, 'artifact-url-secret');
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  try {
    fs.writeFileSync(file, `${secret.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process of this data dir wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
    }
    throw error;
  }
}
