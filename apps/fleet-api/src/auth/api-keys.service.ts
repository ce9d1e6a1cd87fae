import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import type { CommandActor } from '@hyperfleet/domain';
import { runMigrations, type EventStore, type JsonObject } from '@hyperfleet/event-store';
import { EVENT_STORE, PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ApiError } from '../http/api-error';
import { apiKeyMatches, generateApiKey, hashApiKey, parseApiKey } from './api-key-format';
import { commandActor, ROLES, type Actor, type CredentialScope, type Role } from './auth.types';
import { OPERATOR_AUTH_MIGRATION_SET } from './operator-auth.migrations';

/** How long a verified key is trusted without asking the database again (revocation delay elsewhere). */
export const API_KEY_CACHE_MS = 5_000;
/** last_used_at is written at most this often per key. */
const LAST_USED_EVERY_MS = 60_000;
export const BOOTSTRAP_KEY_NAME = 'bootstrap-admin';
export const ADMIN_KEY_FILE = 'admin-api-key';

const SYSTEM_ACTOR: CommandActor = {
  subject: 'fleet-api',
  credentialKind: 'system',
  credentialId: 'fleet-api',
};

export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly scope: CredentialScope | null;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
}

export interface NewApiKey {
  readonly name: string;
  readonly role: Role;
  readonly scope?: { sites?: string[] | null; deviceClasses?: string[] | null } | null;
  readonly expiresAt?: Date | null;
}

interface ApiKeyRow {
  key_id: string;
  name: string;
  role: Role;
  scope_sites: string[] | null;
  scope_device_classes: string[] | null;
  secret_hash: string;
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** Why a presented API key is refused (401 with this code). */
export type ApiKeyRefusal = 'INVALID_CREDENTIAL' | 'CREDENTIAL_EXPIRED' | 'CREDENTIAL_REVOKED';

const COLUMNS = `key_id, name, role, scope_sites, scope_device_classes, secret_hash, created_at, created_by,
  expires_at, revoked_at, last_used_at`;

/**
 * API keys: create (shown once), list, revoke, and verify on every request. Verified keys are cached
 * for API_KEY_CACHE_MS, so a revocation reaches every API process within seconds (at once in this one).
 * Creating and revoking a key are events in stream `api-key-<id>`, so they are in the audit trail.
 */
@Injectable()
export class ApiKeyService implements OnModuleInit {
  private readonly log = new Logger('Auth');
  private readonly cache = new Map<string, { row: ApiKeyRow; at: number }>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.infra.config.migrateOnStart) await runMigrations(this.pool, OPERATOR_AUTH_MIGRATION_SET);
    await this.bootstrap();
  }

  /**
   * HF_ADMIN_API_KEY set: make sure that key exists as an admin key. Otherwise, when no active admin
   * key exists, create `bootstrap-admin` and write it to `<dataDir>/admin-api-key` (0600). Several API
   * processes starting at once serialise on an advisory lock, so only one key is made.
   */
  async bootstrap(): Promise<void> {
    const fromEnv = this.infra.config.auth.adminApiKey;
    const client = await this.pool.connect();
    let created: { row: ApiKeyRow; key: string } | null = null;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('hyperfleet:operator-auth:bootstrap'))`);
      if (fromEnv) {
        const parsed = parseApiKey(fromEnv);
        if (!parsed) throw new Error('HF_ADMIN_API_KEY is not shaped like an API key');
        const { rows } = await client.query<ApiKeyRow>(
          `SELECT ${COLUMNS} FROM hf.api_keys WHERE key_id = $1`,
          [parsed.keyId],
        );
        const row = rows[0];
        if (!row) {
          const inserted = await client.query<ApiKeyRow>(
            `INSERT INTO hf.api_keys (key_id, name, role, secret_hash, created_by)
             VALUES ($1, 'HF_ADMIN_API_KEY', 'admin', $2, $3) RETURNING ${COLUMNS}`,
            [parsed.keyId, hashApiKey(parsed), SYSTEM_ACTOR.subject],
          );
          created = { row: inserted.rows[0], key: fromEnv };
        } else if (!apiKeyMatches(parsed, row.secret_hash) || row.role !== 'admin') {
          throw new Error(
            `HF_ADMIN_API_KEY: key id ${parsed.keyId} exists with another secret or role; choose another key`,
          );
        } else if (row.revoked_at) {
          this.log.warn(`HF_ADMIN_API_KEY (key ${row.key_id}) was revoked; it stays revoked`);
        }
      } else {
        const { rowCount } = await client.query(
          `SELECT 1 FROM hf.api_keys WHERE role = 'admin' AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
        );
        if (!rowCount) {
          const key = generateApiKey();
          const inserted = await client.query<ApiKeyRow>(
            `INSERT INTO hf.api_keys (key_id, name, role, secret_hash, created_by)
             VALUES ($1, $2, 'admin', $3, $4) RETURNING ${COLUMNS}`,
            [key.keyId, BOOTSTRAP_KEY_NAME, hashApiKey(key), SYSTEM_ACTOR.subject],
          );
          created = { row: inserted.rows[0], key: key.key };
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (!created) return;
    await this.recordCreated(created.row, SYSTEM_ACTOR);
    if (fromEnv) {
      this.log.log(`Admin API key ${created.row.key_id} from HF_ADMIN_API_KEY registered`);
      return;
    }
    const file = path.join(this.infra.config.dataDir, ADMIN_KEY_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${created.key}\n`, { mode: 0o600 });
    fs.chmodSync(file, 0o600); // writeFileSync's mode only applies to a new file
    this.log.log(
      `No admin API key existed: created "${BOOTSTRAP_KEY_NAME}" (${created.row.key_id}), written to ${file} ` +
        '(use it as HF_API_KEY; create named keys with fleetctl keys create, then revoke this one)',
    );
  }

  async create(input: NewApiKey, actor: Actor): Promise<{ key: string; apiKey: ApiKeyView }> {
    const scope = normaliseScope(input.scope);
    assertWithinScope(scope, actor.scope);
    const key = generateApiKey();
    const { rows } = await this.pool.query<ApiKeyRow>(
      `INSERT INTO hf.api_keys (key_id, name, role, scope_sites, scope_device_classes, secret_hash, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [
        key.keyId,
        input.name,
        input.role,
        scope?.sites ?? null,
        scope?.deviceClasses ?? null,
        hashApiKey(key),
        actor.subject,
        input.expiresAt ?? null,
      ],
    );
    await this.recordCreated(rows[0], commandActor(actor));
    return { key: key.key, apiKey: toView(rows[0]) };
  }

  /** Every key; a scoped credential sees only the keys within its own scope. */
  async list(actor?: Actor): Promise<ApiKeyView[]> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM hf.api_keys ORDER BY created_at DESC, key_id`,
    );
    return rows.map(toView).filter((k) => !actor || withinScope(k.scope, actor.scope));
  }

  async get(id: string, actor?: Actor): Promise<ApiKeyView> {
    const view = toView(await this.row(id));
    if (actor && !withinScope(view.scope, actor.scope)) throw apiKeyNotFound(id);
    return view;
  }

  /** Revokes at once in this process; other processes within API_KEY_CACHE_MS. Revoking again changes nothing. */
  async revoke(id: string, actor: Actor): Promise<ApiKeyView> {
    await this.get(id, actor); // outside the revoker's scope a key does not exist
    const { rows } = await this.pool.query<ApiKeyRow>(
      `UPDATE hf.api_keys SET revoked_at = now(), revoked_by = $2
        WHERE key_id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [id, actor.subject],
    );
    this.cache.delete(id);
    if (!rows.length) return toView(await this.row(id));
    const row = rows[0];
    await this.events.append(`api-key-${row.key_id}`, 'any', [
      {
        type: 'ApiKeyRevoked',
        data: { keyId: row.key_id, name: row.name, revokedAt: row.revoked_at!.toISOString() },
        metadata: { actor: commandActor(actor) as unknown as JsonObject },
      },
    ]);
    return toView(row);
  }

  /** The key's row when the key is good, else the reason it is refused. */
  async verify(
    presented: string,
  ): Promise<{ ok: true; view: ApiKeyView } | { ok: false; code: ApiKeyRefusal }> {
    const parsed = parseApiKey(presented);
    if (!parsed) return { ok: false, code: 'INVALID_CREDENTIAL' };
    const now = Date.now();
    let cached = this.cache.get(parsed.keyId);
    if (!cached || now - cached.at > API_KEY_CACHE_MS) {
      const { rows } = await this.pool.query<ApiKeyRow>(
        `SELECT ${COLUMNS} FROM hf.api_keys WHERE key_id = $1`,
        [parsed.keyId],
      );
      if (!rows.length) {
        this.cache.delete(parsed.keyId);
        return { ok: false, code: 'INVALID_CREDENTIAL' };
      }
      cached = { row: rows[0], at: now };
      this.cache.set(parsed.keyId, cached);
      if (this.cache.size > 10_000) this.cache.clear();
    }
    const row = cached.row;
    if (!apiKeyMatches(parsed, row.secret_hash)) return { ok: false, code: 'INVALID_CREDENTIAL' };
    if (row.revoked_at) return { ok: false, code: 'CREDENTIAL_REVOKED' };
    if (row.expires_at && row.expires_at.getTime() <= now) return { ok: false, code: 'CREDENTIAL_EXPIRED' };
    this.touch(row.key_id, now);
    return { ok: true, view: toView(row) };
  }

  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(keyId, now);
    if (this.lastUsedWritten.size > 10_000) this.lastUsedWritten.clear();
    this.pool
      .query(
        `UPDATE hf.api_keys SET last_used_at = now()
          WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [keyId],
      )
      .catch((err: Error) => this.log.warn(`Recording the use of API key ${keyId} failed: ${err.message}`));
  }

  private async row(id: string): Promise<ApiKeyRow> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM hf.api_keys WHERE key_id = $1`,
      [id],
    );
    if (!rows.length) throw apiKeyNotFound(id);
    return rows[0];
  }

  private async recordCreated(row: ApiKeyRow, actor: CommandActor): Promise<void> {
    const view = toView(row);
    await this.events.append(`api-key-${row.key_id}`, 'no-stream', [
      {
        type: 'ApiKeyCreated',
        data: {
          keyId: view.id,
          name: view.name,
          role: view.role,
          scope: view.scope as unknown as JsonObject | null,
          expiresAt: view.expiresAt,
          createdAt: view.createdAt,
        },
        metadata: { actor: actor as unknown as JsonObject },
      },
    ]);
  }
}

function normaliseScope(scope: NewApiKey['scope']): CredentialScope | null {
  if (!scope) return null;
  const sites = scope.sites?.length ? [...new Set(scope.sites)].sort() : null;
  const deviceClasses = scope.deviceClasses?.length ? [...new Set(scope.deviceClasses)].sort() : null;
  return sites || deviceClasses ? { sites, deviceClasses } : null;
}

function apiKeyNotFound(id: string): ApiError {
  return new ApiError(404, 'API_KEY_NOT_FOUND', `There is no API key ${id}.`, { id });
}

/** Whether a key's scope (null: everything) lies within a credential's own scope. */
export function withinScope(key: CredentialScope | null, own: CredentialScope): boolean {
  const exceeds = (want: readonly string[] | null | undefined, have: readonly string[] | null) =>
    have !== null && (!want || want.some((w) => !have.includes(w)));
  return !exceeds(key?.sites, own.sites) && !exceeds(key?.deviceClasses, own.deviceClasses);
}

/** A scoped admin cannot mint a key that sees more than it does. */
function assertWithinScope(requested: CredentialScope | null, own: CredentialScope): void {
  if (!withinScope(requested, own)) {
    throw new ApiError(
      403,
      'SCOPE_EXCEEDED',
      'A scoped credential can only create keys within its own scope (sites and device classes).',
      { scope: { sites: own.sites, deviceClasses: own.deviceClasses } },
    );
  }
}

function toView(r: ApiKeyRow): ApiKeyView {
  const expired = r.expires_at !== null && r.expires_at.getTime() <= Date.now();
  return {
    id: r.key_id,
    name: r.name,
    role: (ROLES as readonly string[]).includes(r.role) ? r.role : 'viewer',
    scope:
      r.scope_sites || r.scope_device_classes
        ? { sites: r.scope_sites, deviceClasses: r.scope_device_classes }
        : null,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    expiresAt: r.expires_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    status: r.revoked_at ? 'revoked' : expired ? 'expired' : 'active',
  };
}
