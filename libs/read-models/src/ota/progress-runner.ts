import type { Pool } from 'pg';
import { z } from 'zod';
import { updateProgressPayloadSchema, type UpdateProgressPayload } from '@hyperfleet/contracts';
import type { Delivery, EventTransport, TransportSubscription } from '@hyperfleet/messaging';

/** The record type the device gateway gives update-progress messages on the telemetry channel. */
export const UPDATE_PROGRESS_RECORD_TYPE = 'hf.device.update-progress';
export const OTA_PROGRESS_GROUP = 'projector.ota-status.progress';

export interface OtaProgressRunnerOptions {
  readonly pool: Pool;
  readonly transport: EventTransport;
  readonly log?: (line: string) => void;
}

/** The record's envelope facts the gateway adds to the payload (apps/device-gateway effects.ts). */
const sequenceSchema = z.object({ epoch: z.int().nonnegative(), seq: z.int().nonnegative() });

export interface ProgressRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly time: string;
  readonly epoch: number;
  readonly seq: number;
  readonly payload: UpdateProgressPayload;
}

/** An update-progress record, or null (with the reason) for anything else on the channel. */
export function parseProgressRecord(d: Delivery): ProgressRecord | { error: string } | null {
  const e = d.event;
  if (e.type !== UPDATE_PROGRESS_RECORD_TYPE) return null;
  const deviceId = e.subject ?? d.key;
  const sequence = sequenceSchema.safeParse(e.data);
  const payload = updateProgressPayloadSchema.safeParse(e.data);
  if (!deviceId || !sequence.success || !payload.success) {
    const issues = [...(sequence.error?.issues ?? []), ...(payload.error?.issues ?? [])];
    return {
      error: `${e.id}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') || 'no device'}`,
    };
  }
  return { id: e.id, deviceId, time: e.time, ...sequence.data, payload: payload.data };
}

/**
 * The OTA-status projection's second input: update-progress records from the telemetry channel (the
 * gateway publishes them there, not as domain events). Consumes the channel in its own group, and
 * applies each batch in one transaction that first records the record's (deviceId, epoch, seq): a
 * redelivered record finds it and changes nothing. A record older than the stage already stored for
 * that artefact (lower epoch/seq) is recorded as seen but does not overwrite it. The transport moves
 * the group on only after the transaction commits.
 */
export class OtaProgressRunner {
  readonly name = 'ota-status.progress';
  private subscription: TransportSubscription | null = null;

  constructor(private readonly o: OtaProgressRunnerOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.o.transport.subscribe({
      group: OTA_PROGRESS_GROUP,
      channel: 'telemetry',
      handle: async (batch) => void (await this.handle(batch)),
      onError: (err) => this.o.log?.(`${this.name}: ${(err as Error).message}`),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    await this.subscription?.waitUntilCaughtUp(timeoutMs);
  }

  /** Applies a batch; returns how many records were new. */
  async handle(batch: readonly Delivery[]): Promise<number> {
    const records: ProgressRecord[] = [];
    for (const d of batch) {
      const r = parseProgressRecord(d);
      if (r === null) continue;
      if ('error' in r) {
        // It passed the gateway's schema, so this is a contract change: skip it, loudly.
        this.o.log?.(`${this.name}: skipped an update-progress record: ${r.error}`);
        continue;
      }
      records.push(r);
    }
    if (records.length === 0) return 0;
    const client = await this.o.pool.connect();
    try {
      await client.query('BEGIN');
      let applied = 0;
      for (const r of records) {
        const seen = await client.query(
          `INSERT INTO rm.ota_progress_seen (device_id, epoch, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [r.deviceId, r.epoch, r.seq],
        );
        if (seen.rowCount !== 1) continue;
        applied++;
        const p = r.payload;
        await client.query(
          `INSERT INTO rm.ota_update_progress AS u (device_id, target_kind, vm_name, version, from_version, stage,
             percent, rollout_id, desired_state_version, error_code, error_message, epoch, seq, record_id,
             reported_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now())
           ON CONFLICT (device_id, target_kind, vm_name) DO UPDATE SET
             version = EXCLUDED.version, from_version = EXCLUDED.from_version, stage = EXCLUDED.stage,
             percent = EXCLUDED.percent, rollout_id = EXCLUDED.rollout_id,
             desired_state_version = EXCLUDED.desired_state_version, error_code = EXCLUDED.error_code,
             error_message = EXCLUDED.error_message, epoch = EXCLUDED.epoch, seq = EXCLUDED.seq,
             record_id = EXCLUDED.record_id, reported_at = EXCLUDED.reported_at, updated_at = now()
           WHERE (u.epoch, u.seq) < (EXCLUDED.epoch, EXCLUDED.seq)`,
          [
            r.deviceId,
            p.target.kind,
            p.target.kind === 'rtvm-image' ? p.target.vmName : '',
            p.target.version,
            p.fromVersion ?? null,
            p.stage,
            p.percent ?? null,
            p.rolloutId,
            p.desiredVersion ?? null,
            p.error?.code ?? null,
            p.error?.message ?? null,
            r.epoch,
            r.seq,
            r.id,
            r.time,
          ],
        );
      }
      await client.query('COMMIT');
      return applied;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
