import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

/** How long a key is remembered. Older rows are ignored (the key is new again) and pruned. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/**
 * An in-flight key older than this is taken over by the next request with the key: its request died
 * with its process (nothing else leaves a key in flight this long; every route answers in seconds).
 */
export const IN_FLIGHT_LEASE_SECONDS = 120;

export interface IdempotencyScope {
  readonly credentialId: string;
  readonly method: string;
  readonly path: string;
  readonly key: string;
}

export interface StoredResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly claim: string }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'in-flight' }
  | { readonly kind: 'mismatch' };

interface KeyRow {
  fingerprint: string;
  status: 'in-flight' | 'completed';
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: Buffer | null;
}

const RETAINED = `created_at >= now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS})`;

/** hf.idempotency_keys: claim a key, then complete it with the response or release it. */
export class IdempotencyStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Claims the key for this request, or says what to do instead. A key that expired, or whose
   * in-flight holder is past its lease, is claimed afresh.
   */
  async claim(scope: IdempotencyScope, fingerprint: string): Promise<ClaimResult> {
    const pk = [scope.credentialId, scope.method, scope.path, scope.key];
    // A row can vanish between the insert and the select (released after a 5xx): then try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim = randomUUID();
      const inserted = await this.pool.query(
        `INSERT INTO hf.idempotency_keys AS k
           (credential_id, method, path, key, fingerprint, status, claim)
         VALUES ($1, $2, $3, $4, $5, 'in-flight', $6)
         ON CONFLICT (credential_id, method, path, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, status = 'in-flight', claim = EXCLUDED.claim,
               response_status = NULL, response_headers = NULL, response_body = NULL,
               created_at = now(), completed_at = NULL
           WHERE NOT (k.${RETAINED})
              OR (k.status = 'in-flight'
                  AND k.created_at < now() - make_interval(secs => ${IN_FLIGHT_LEASE_SECONDS}))
         RETURNING claim`,
        [...pk, fingerprint, claim],
      );
      if (inserted.rowCount) return { kind: 'claimed', claim };
      const { rows } = await this.pool.query<KeyRow>(
        `SELECT fingerprint, status, response_status, response_headers, response_body
           FROM hf.idempotency_keys
          WHERE credential_id = $1 AND method = $2 AND path = $3 AND key = $4 AND ${RETAINED}`,
        pk,
      );
      const row = rows[0];
      if (!row) continue;
      if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (row.status === 'in-flight') return { kind: 'in-flight' };
      return {
        kind: 'replay',
        response: {
          status: row.response_status!,
          headers: row.response_headers ?? {},
          body: row.response_body!,
        },
      };
    }
    return { kind: 'in-flight' };
  }

  async complete(scope: IdempotencyScope, claim: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE hf.idempotency_keys
          SET status = 'completed', response_status = $6, response_headers = $7, response_body = $8,
              completed_at = now()
        WHERE credential_id = $1 AND method = $2 AND path = $3 AND key = $4 AND claim = $5`,
      [
        scope.credentialId,
        scope.method,
        scope.path,
        scope.key,
        claim,
        response.status,
        JSON.stringify(response.headers),
        response.body,
      ],
    );
  }

  /** Forgets an in-flight key (the request failed with a 5xx or was never answered): it may be retried. */
  async release(scope: IdempotencyScope, claim: string): Promise<void> {
    await this.pool.query(
      `DELETE FROM hf.idempotency_keys
        WHERE credential_id = $1 AND method = $2 AND path = $3 AND key = $4 AND claim = $5`,
      [scope.credentialId, scope.method, scope.path, scope.key, claim],
    );
  }

  /** Deletes the keys past retention; returns how many. */
  async prune(): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM hf.idempotency_keys WHERE NOT (${RETAINED})`);
    return rowCount ?? 0;
  }
}
