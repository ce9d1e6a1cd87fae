/**
 * A projection turns events into read-model rows. It is pure SQL against the transaction it is
 * given, and it names its tables through `ctx.table()`, so the same code fills the live tables and,
 * during a rebuild, their shadow copies.
 */
export interface Sql {
  query<R = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** An event as a projection sees it, whether it came from Kafka, the PostgreSQL log or a rebuild. */
export interface ProjectedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly streamPosition: number;
  /** `<transactionId>/<globalPosition>` in the event store. */
  readonly logPosition: string;
  /** When the event was recorded (ISO-8601). */
  readonly time: string;
  readonly data: Record<string, unknown>;
  /** The partition key: the device id for device streams. */
  readonly key: string;
}

export interface ProjectionContext {
  /** The physical, quoted name of one of the projection's tables (live or shadow). */
  table(name: string): string;
}

export interface Projection {
  /** Stable name: the consumer group, the checkpoint key and the CLI's argument. */
  readonly name: string;
  /** The tables it owns (schema `rm`, unqualified); a rebuild shadows exactly these. */
  readonly tables: readonly string[];
  /** Event types it reads ('all': every event); others are skipped without a transaction. */
  readonly handles: readonly string[] | 'all';
  apply(events: readonly ProjectedEvent[], sql: Sql, ctx: ProjectionContext): Promise<void>;
  /**
   * Each event writes only rows of its own, whatever came before it: a rebuild may then apply
   * batches concurrently and out of order.
   */
  readonly independentEvents?: boolean;
}

export const READ_MODEL_SCHEMA = 'rm';

export function liveContext(): ProjectionContext {
  return { table: (name) => `${READ_MODEL_SCHEMA}."${name}"` };
}

export function shadowContext(): ProjectionContext {
  return { table: (name) => `${READ_MODEL_SCHEMA}."${name}${SHADOW_SUFFIX}"` };
}

export const SHADOW_SUFFIX = '__rebuild';

export function wantsFilter(p: Projection): (type: string) => boolean {
  if (p.handles === 'all') return () => true;
  const set = new Set(p.handles);
  return (type) => set.has(type);
}
