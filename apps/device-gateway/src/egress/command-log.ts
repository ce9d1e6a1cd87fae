import type { Pool } from 'pg';
import type { DeviceMessageMap } from '@hyperfleet/contracts';

type CmdAck = DeviceMessageMap['cmd-ack']['payload'];

export interface CommandRecord {
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly args: object;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

/** Commands sent to agents and their lifecycle: issued → accepted → done | failed, or expired. */
export class CommandLog {
  constructor(private readonly pool: Pool) {}

  async issued(c: CommandRecord): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO hf.device_commands (command_id, device_id, name, args, issued_at, expires_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'issued') ON CONFLICT (command_id) DO NOTHING`,
      [c.commandId, c.deviceId, c.name, JSON.stringify(c.args), c.issuedAt, c.expiresAt],
    );
    return res.rowCount === 1;
  }

  /** Applies an agent's acknowledgement; an ack never moves a finished command back. */
  async ack(deviceId: string, ack: CmdAck): Promise<'applied' | 'unknown-command' | 'ignored'> {
    const allowedFrom = ack.outcome === 'accepted' ? ['issued'] : ['issued', 'accepted'];
    const res = await this.pool.query(
      `UPDATE hf.device_commands SET status = $3, error = $4, updated_at = now()
        WHERE command_id = $1 AND device_id = $2 AND status = ANY($5::text[])`,
      [ack.commandId, deviceId, ack.outcome, ack.error ? JSON.stringify(ack.error) : null, allowedFrom],
    );
    if (res.rowCount === 1) return 'applied';
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM hf.device_commands WHERE command_id = $1 AND device_id = $2`,
      [ack.commandId, deviceId],
    );
    return rowCount ? 'ignored' : 'unknown-command';
  }

  async expireDue(now = new Date()): Promise<{ commandId: string; deviceId: string; name: string }[]> {
    const { rows } = await this.pool.query<{ command_id: string; device_id: string; name: string }>(
      `UPDATE hf.device_commands SET status = 'expired', updated_at = now()
        WHERE status IN ('issued', 'accepted') AND expires_at < $1
        RETURNING command_id, device_id, name`,
      [now],
    );
    return rows.map((r) => ({ commandId: r.command_id, deviceId: r.device_id, name: r.name }));
  }

  async get(commandId: string): Promise<{ status: string; error: unknown } | null> {
    const { rows } = await this.pool.query<{ status: string; error: unknown }>(
      `SELECT status, error FROM hf.device_commands WHERE command_id = $1`,
      [commandId],
    );
    return rows[0] ?? null;
  }
}
