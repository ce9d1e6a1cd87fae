import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { deviceIdProblem } from '@hyperfleet/contracts';
import { DEFAULT_PASSWORD_ITERATIONS, generatePassword, hashPassword, verifyPassword } from './password-hash';

/** Why a credential operation was refused, with the HTTP status the API answers it with. */
export const CREDENTIAL_ERROR_STATUS = {
  CREDENTIAL_ALREADY_ISSUED: 409,
  CREDENTIAL_NOT_FOUND: 404,
  INVALID_DEVICE_ID: 422,
  DEVICE_ID_RESERVED: 422,
} as const;
export type CredentialErrorCode = keyof typeof CREDENTIAL_ERROR_STATUS;

export class CredentialError extends Error {
  readonly httpStatus: number;

  constructor(
    readonly code: CredentialErrorCode,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'CredentialError';
    this.httpStatus = CREDENTIAL_ERROR_STATUS[code];
  }

  toJSON(): { code: CredentialErrorCode; message: string; details: Record<string, string> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** A password as handed out: shown once, never stored. The MQTT username is the device id. */
export interface IssuedCredential {
  readonly deviceId: string;
  readonly username: string;
  readonly password: string;
  /** When this password was made: the issue, or the rotation. */
  readonly issuedAt: Date;
}

export interface CredentialStatus {
  readonly deviceId: string;
  readonly issuedAt: Date;
  readonly rotatedAt: Date | null;
  readonly revokedAt: Date | null;
  readonly active: boolean;
}

export type VerifyResult =
  | { readonly ok: true; readonly cached: boolean }
  | { readonly ok: false; readonly reason: 'unknown-device' | 'revoked' | 'wrong-password' };

/** What the broker hooks need: one question, one answer. */
export interface CredentialVerifier {
  verify(deviceId: string, password: string): Promise<VerifyResult>;
}

export interface DeviceCredentialStoreOptions {
  /** PBKDF2 iterations of new hashes (default DEFAULT_PASSWORD_ITERATIONS). */
  readonly iterations?: number;
  /** Devices whose last successful verification is remembered (default 50 000). 0 disables the cache. */
  readonly cacheSize?: number;
  /** Usernames that are never a device: the gateway's service account. */
  readonly reservedUsernames?: readonly string[];
}

interface CredentialRow {
  device_id: string;
  password_hash: string;
  issued_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

/**
 * Device credentials in PostgreSQL (`hf.device_credentials`, migration set `identity`).
 *
 * Verification reads the row every time, so a rotation or a revocation takes effect at the next
 * CONNECT, in every process. What it saves is the PBKDF2: a device that proved its password is
 * remembered as (stored hash, HMAC of the password under a per-process random key), so its next
 * reconnect costs a keyed SHA-256 instead of a key derivation. The entry is only good while the stored
 * hash is the one it was made against, and the cache never holds a password.
 */
export class DeviceCredentialStore implements CredentialVerifier {
  private readonly iterations: number;
  private readonly cacheSize: number;
  private readonly reserved: ReadonlySet<string>;
  private readonly cacheKey = randomBytes(32);
  private readonly cache = new Map<string, { hash: string; tag: Buffer }>();
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly pool: Pool,
    options: DeviceCredentialStoreOptions = {},
  ) {
    this.iterations = options.iterations ?? DEFAULT_PASSWORD_ITERATIONS;
    this.cacheSize = options.cacheSize ?? 50_000;
    this.reserved = new Set(options.reservedUsernames ?? []);
  }

  /** Refuses ids that can never be an MQTT identity here (INVALID_DEVICE_ID, DEVICE_ID_RESERVED). */
  checkDeviceId(deviceId: string): void {
    const problem = deviceIdProblem(deviceId);
    if (problem)
      throw new CredentialError('INVALID_DEVICE_ID', `Invalid device id: ${problem}.`, { deviceId });
    if (this.reserved.has(deviceId)) {
      throw new CredentialError(
        'DEVICE_ID_RESERVED',
        `"${deviceId}" is the MQTT username of the gateway's service account and cannot be a device id.`,
        { deviceId },
      );
    }
  }

  /** The first credential of a device. A second call is CREDENTIAL_ALREADY_ISSUED: rotate instead. */
  async issue(deviceId: string): Promise<IssuedCredential> {
    this.checkDeviceId(deviceId);
    const password = generatePassword();
    const hash = await hashPassword(password, this.iterations);
    const { rows } = await this.pool.query<{ issued_at: Date }>(
      `INSERT INTO hf.device_credentials (device_id, password_hash) VALUES ($1, $2)
       ON CONFLICT (device_id) DO NOTHING RETURNING issued_at`,
      [deviceId, hash],
    );
    if (rows.length === 0) {
      throw new CredentialError(
        'CREDENTIAL_ALREADY_ISSUED',
        `Device ${deviceId} already has an MQTT credential; rotate it to get a new password.`,
        { deviceId },
      );
    }
    return { deviceId, username: deviceId, password, issuedAt: rows[0].issued_at };
  }

  /**
   * A new password for a device that has a credential; the old one stops working at once. Rotating a
   * revoked credential re-activates it (the operator's explicit way back).
   */
  async rotate(deviceId: string): Promise<IssuedCredential> {
    const password = generatePassword();
    const hash = await hashPassword(password, this.iterations);
    const { rows } = await this.pool.query<{ rotated_at: Date }>(
      `UPDATE hf.device_credentials SET password_hash = $2, rotated_at = clock_timestamp(), revoked_at = NULL
       WHERE device_id = $1 RETURNING rotated_at`,
      [deviceId, hash],
    );
    if (rows.length === 0) throw notFound(deviceId);
    this.cache.delete(deviceId);
    return { deviceId, username: deviceId, password, issuedAt: rows[0].rotated_at };
  }

  /** The device can no longer connect. Revoking twice keeps the first revocation time. */
  async revoke(deviceId: string): Promise<CredentialStatus> {
    const { rows } = await this.pool.query<CredentialRow>(
      `UPDATE hf.device_credentials SET revoked_at = COALESCE(revoked_at, clock_timestamp())
       WHERE device_id = $1 RETURNING *`,
      [deviceId],
    );
    if (rows.length === 0) throw notFound(deviceId);
    this.cache.delete(deviceId);
    return toStatus(rows[0]);
  }

  /** The credential's dates, or null when the device has none. Never the hash. */
  async status(deviceId: string): Promise<CredentialStatus | null> {
    const { rows } = await this.pool.query<CredentialRow>(
      'SELECT * FROM hf.device_credentials WHERE device_id = $1',
      [deviceId],
    );
    return rows.length ? toStatus(rows[0]) : null;
  }

  /** Every device that may connect, with its hash: what a broker password file holds. */
  async activeHashes(): Promise<{ deviceId: string; passwordHash: string }[]> {
    const { rows } = await this.pool.query<{ device_id: string; password_hash: string }>(
      'SELECT device_id, password_hash FROM hf.device_credentials WHERE revoked_at IS NULL ORDER BY device_id',
    );
    return rows.map((r) => ({ deviceId: r.device_id, passwordHash: r.password_hash }));
  }

  async verify(deviceId: string, password: string): Promise<VerifyResult> {
    const { rows } = await this.pool.query<{ password_hash: string; revoked_at: Date | null }>(
      'SELECT password_hash, revoked_at FROM hf.device_credentials WHERE device_id = $1',
      [deviceId],
    );
    const row = rows[0];
    if (!row) {
      // The same work as a real check, so response times do not tell which device ids exist.
      await verifyPassword(password, await this.dummy());
      return { ok: false, reason: 'unknown-device' };
    }
    if (row.revoked_at) return { ok: false, reason: 'revoked' };

    const tag = createHmac('sha256', this.cacheKey).update(password).digest();
    const hit = this.cache.get(deviceId);
    if (hit && hit.hash === row.password_hash && timingSafeEqual(hit.tag, tag)) {
      this.cache.delete(deviceId); // least recently used goes first
      this.cache.set(deviceId, hit);
      return { ok: true, cached: true };
    }
    if (!(await verifyPassword(password, row.password_hash))) return { ok: false, reason: 'wrong-password' };
    this.remember(deviceId, { hash: row.password_hash, tag });
    return { ok: true, cached: false };
  }

  /** Forgets every remembered verification (tests, or after a bulk change made elsewhere). */
  clearCache(): void {
    this.cache.clear();
  }

  get cachedDevices(): number {
    return this.cache.size;
  }

  private remember(deviceId: string, entry: { hash: string; tag: Buffer }): void {
    if (this.cacheSize <= 0) return;
    this.cache.delete(deviceId);
    this.cache.set(deviceId, entry);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(generatePassword(), this.iterations);
    return this.dummyHash;
  }
}

function notFound(deviceId: string): CredentialError {
  return new CredentialError(
    'CREDENTIAL_NOT_FOUND',
    `Device ${deviceId} has no MQTT credential (provision it first: POST /api/v1/devices).`,
    { deviceId },
  );
}

function toStatus(r: CredentialRow): CredentialStatus {
  return {
    deviceId: r.device_id,
    issuedAt: r.issued_at,
    rotatedAt: r.rotated_at,
    revokedAt: r.revoked_at,
    active: r.revoked_at === null,
  };
}
