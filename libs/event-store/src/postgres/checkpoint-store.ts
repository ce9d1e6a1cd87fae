import type { Pool, PoolClient } from 'pg';
import { CheckpointConflictError } from '../errors';
import type { LogPosition } from '../types';

type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * Where subscriptions remember how far they got. `store` is compare-and-set, and accepts the
 * caller's transaction so a projection can commit its read-model writes and its checkpoint together.
 */
export class PostgresCheckpointStore {
  constructor(private readonly pool: Pool) {}

  async load(subscriptionId: string, db: Queryable = this.pool): Promise<LogPosition | null> {
    const { rows } = await db.query<{ transaction_id: string; global_position: string }>(
      'SELECT transaction_id, global_position FROM hf.checkpoints WHERE subscription_id = $1',
      [subscriptionId],
    );
    return rows.length
      ? { transactionId: BigInt(rows[0].transaction_id), globalPosition: BigInt(rows[0].global_position) }
      : null;
  }

  /** Moves the checkpoint from `expected` (null: none yet) to `next`, or throws CheckpointConflictError. */
  async store(
    subscriptionId: string,
    expected: LogPosition | null,
    next: LogPosition,
    db: Queryable = this.pool,
  ): Promise<void> {
    const res =
      expected === null
        ? await db.query(
            `INSERT INTO hf.checkpoints (subscription_id, transaction_id, global_position) VALUES ($1, $2, $3)
             ON CONFLICT (subscription_id) DO NOTHING`,
            [subscriptionId, next.transactionId.toString(), next.globalPosition.toString()],
          )
        : await db.query(
            `UPDATE hf.checkpoints SET transaction_id = $2, global_position = $3, updated_at = now()
              WHERE subscription_id = $1 AND transaction_id = $4 AND global_position = $5`,
            [
              subscriptionId,
              next.transactionId.toString(),
              next.globalPosition.toString(),
              expected.transactionId.toString(),
              expected.globalPosition.toString(),
            ],
          );
    if (res.rowCount !== 1) throw new CheckpointConflictError(subscriptionId);
  }

  async reset(subscriptionId: string, db: Queryable = this.pool): Promise<void> {
    await db.query('DELETE FROM hf.checkpoints WHERE subscription_id = $1', [subscriptionId]);
  }
}
