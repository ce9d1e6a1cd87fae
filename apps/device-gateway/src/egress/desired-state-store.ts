import type { Pool } from 'pg';
import { PROTOCOL_VERSION, type DesiredStateInput } from '@hyperfleet/contracts';
import { compareLogPositions, parseLogPosition } from '@hyperfleet/event-store';

export type DesiredChange = Partial<Pick<DesiredStateInput, 'plan' | 'hypervisor' | 'serviceVm' | 'rtVms'>>;

/**
 * The desired-state document of each device (docs/protocol.md, "Desired state"): changed by domain
 * events, versioned per device, published retained. Applying is idempotent per event position.
 */
export class DesiredStateStore {
  constructor(private readonly pool: Pool) {}

  /** The new document when the change applied, null when it was a redelivery or changed nothing. */
  async apply(
    deviceId: string,
    change: DesiredChange,
    sourcePosition: string,
    at: Date,
  ): Promise<DesiredStateInput | null> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{
        version: string;
        document: DesiredStateInput;
        source_position: string;
      }>(`SELECT version, document, source_position FROM hf.device_desired WHERE device_id = $1 FOR UPDATE`, [
        deviceId,
      ]);
      const current = rows[0];
      if (
        current &&
        compareLogPositions(parseLogPosition(sourcePosition), parseLogPosition(current.source_position)) <= 0
      ) {
        await client.query('ROLLBACK');
        return null;
      }
      const base: DesiredStateInput = current?.document ?? {
        protocolVersion: PROTOCOL_VERSION,
        version: 0,
        issuedAt: at.toISOString(),
        plan: null,
        hypervisor: null,
        serviceVm: null,
        rtVms: [],
      };
      const merged = { ...base, ...change };
      const unchanged =
        current &&
        JSON.stringify({ ...merged, version: 0, issuedAt: '' }) ===
          JSON.stringify({ ...base, version: 0, issuedAt: '' });
      const next: DesiredStateInput = unchanged
        ? base
        : { ...merged, version: Number(current?.version ?? 0) + 1, issuedAt: at.toISOString() };
      await client.query(
        `INSERT INTO hf.device_desired (device_id, version, document, source_position) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id) DO UPDATE SET version = EXCLUDED.version, document = EXCLUDED.document,
           source_position = EXCLUDED.source_position, updated_at = now()`,
        [deviceId, next.version, JSON.stringify(next), sourcePosition],
      );
      await client.query('COMMIT');
      return unchanged ? null : next;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async get(deviceId: string): Promise<DesiredStateInput | null> {
    const { rows } = await this.pool.query<{ document: DesiredStateInput }>(
      `SELECT document FROM hf.device_desired WHERE device_id = $1`,
      [deviceId],
    );
    return rows[0]?.document ?? null;
  }

  async markPublished(deviceId: string, version: number): Promise<void> {
    await this.pool.query(
      `UPDATE hf.device_desired SET published_at = now() WHERE device_id = $1 AND version = $2`,
      [deviceId, version],
    );
  }
}
