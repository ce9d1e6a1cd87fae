/**
 * Aggregate states this process last appended or loaded, by stream. A command decides on the cached
 * state and appends at its version in one round trip; when another writer moved the stream, the
 * append's version check fails and the command reloads. Least recently used streams go first.
 */
export interface CachedStream {
  readonly version: bigint;
  /** Immutable: deciders' evolve functions return new states. */
  readonly state: unknown;
}

export class StreamCache {
  private readonly entries = new Map<string, CachedStream>();

  constructor(readonly capacity = 100_000) {}

  get(streamId: string): CachedStream | undefined {
    const e = this.entries.get(streamId);
    if (e) {
      this.entries.delete(streamId);
      this.entries.set(streamId, e);
    }
    return e;
  }

  set(streamId: string, entry: CachedStream): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Injection token; DomainModule provides one cache per process. */
export const DOMAIN_STREAM_CACHE = Symbol.for('hyperfleet.domain.StreamCache');
