import type { Channel, EventTransport, TransportRecord } from './event-transport';

/**
 * Injected produce failures for tests: `arm(keys, n)` makes the next `n` sends that carry a record
 * of each of those keys fail, before anything of the send is written (a broker that refused the
 * whole request, a producer whose retries ran out). What a publisher does next — send the same
 * batch again, nothing after it first — is what keeps per-key order.
 */
export class ProduceFaults {
  private readonly remaining = new Map<string, number>();
  /** Sends failed on purpose so far. */
  injected = 0;

  arm(keys: readonly string[], failures: number): void {
    for (const k of keys) this.remaining.set(k, failures);
  }

  /** Throws if this send is to fail. */
  check(records: readonly TransportRecord[]): void {
    const hit = [...new Set(records.map((r) => r.key))].filter((k) => (this.remaining.get(k) ?? 0) > 0);
    if (hit.length === 0) return;
    for (const k of hit) this.remaining.set(k, this.remaining.get(k)! - 1);
    this.injected++;
    throw new Error(`injected produce failure for ${hit.join(', ')}`);
  }
}

/** An EventTransport whose publishes fail as `faults` says (subscriptions pass through). */
export function withProduceFaults(inner: EventTransport, faults: ProduceFaults): EventTransport {
  return {
    kind: inner.kind,
    start: () => inner.start(),
    close: () => inner.close(),
    subscribe: (o) => inner.subscribe(o),
    publish: async (channel: Channel, records: readonly TransportRecord[]) => {
      faults.check(records);
      await inner.publish(channel, records);
    },
  };
}
