/**
 * The contract every EventTransport adapter passes, run by postgres-log-transport.int-spec.ts and
 * kafka-transport.int-spec.ts against real PostgreSQL and a real Kafka broker.
 */
import { randomUUID } from 'node:crypto';
import type { PostgresEventStore } from '@hyperfleet/event-store';
import type { CloudEvent, Delivery, EventTransport, TransportRecord } from './event-transport';
import type { ProduceFaults } from './produce-faults';

export interface ContractFixture {
  readonly transport: EventTransport;
  readonly store: PostgresEventStore;
  /** Makes appended events reach the device-events channel (the outbox relay on Kafka). */
  flushDeviceEvents(): Promise<void>;
  /**
   * Commits telemetry the way the gateway does (hf.telemetry_log, in a transaction of its own);
   * on PostgreSQL a failed write is retried whole, as a device redelivers an unacknowledged message.
   */
  writeTelemetry(records: readonly TransportRecord[]): Promise<void>;
  /** Makes committed telemetry reach the telemetry channel (the telemetry relay on Kafka). */
  flushTelemetry(): Promise<void>;
  /**
   * Where produces can fail on purpose: Kafka, the relays' publishes (both channels); PostgreSQL,
   * the telemetry write (device events have no produce step there: the log is the channel).
   */
  readonly faults: ProduceFaults;
}

const telemetry = (key: string, seq: number, run: string): TransportRecord => ({
  key,
  event: {
    specversion: '1.0',
    id: randomUUID(),
    source: `urn:hyperfleet:device:${key}`,
    type: 'hf.telemetry.sample',
    subject: key,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { seq, run, cpu: 12.5 },
  } satisfies CloudEvent,
});

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

function perKeyInOrder(received: Delivery[], run: string): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const d of received) {
    if (d.event.data.run !== run) continue;
    byKey.set(d.key, [...(byKey.get(d.key) ?? []), d.event.data.seq as number]);
  }
  return byKey;
}

export function transportContract(name: string, fixture: () => ContractFixture): void {
  describe(`${name}: EventTransport contract`, () => {
    it('telemetry: every group gets every record once, in order per key', async () => {
      const { transport } = fixture();
      const run = randomUUID();
      const keys = ['dev-a', 'dev-b', 'dev-c', 'dev-d', 'dev-e'];
      const got: Record<string, Delivery[]> = { g1: [], g2: [] };
      const subs = await Promise.all(
        Object.keys(got).map((g) =>
          transport.subscribe({
            group: `${g}-${run}`,
            channel: 'telemetry',
            handle: async (batch) => void got[g].push(...batch),
          }),
        ),
      );
      const perKey = 60;
      for (let i = 0; i < perKey; i += 20) {
        const batch: TransportRecord[] = [];
        for (let j = i; j < i + 20; j++) for (const k of keys) batch.push(telemetry(k, j, run));
        await transport.publish('telemetry', batch);
      }
      await Promise.all(subs.map((s) => s.waitUntilCaughtUp(30_000)));
      await Promise.all(subs.map((s) => s.stop()));
      for (const g of Object.keys(got)) {
        const mine = got[g].filter((d) => d.event.data.run === run);
        expect(mine).toHaveLength(keys.length * perKey);
        expect(new Set(mine.map((d) => d.event.id)).size).toBe(keys.length * perKey);
        for (const [, seqs] of perKeyInOrder(mine, run)) {
          expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i));
        }
        expect(mine[0].channel).toBe('telemetry');
        expect(mine[0].event.specversion).toBe('1.0');
      }
    });

    it('telemetry: a record that carries its JSON is written from that text, not serialised again', async () => {
      const { transport } = fixture();
      const run = randomUUID();
      const record = telemetry('dev-json', 0, run);
      // The text differs from `event` on purpose (a producer promises they agree): what arrives shows
      // which of the two the transport wrote.
      const text = JSON.stringify({ ...record.event, data: { ...record.event.data, from: 'json' } });
      const got: Delivery[] = [];
      const sub = await transport.subscribe({
        group: `json-${run}`,
        channel: 'telemetry',
        handle: async (batch) => void got.push(...batch),
      });
      await transport.publish('telemetry', [{ ...record, json: text }, telemetry('dev-json', 1, run)]);
      await sub.waitUntilCaughtUp(30_000);
      await until('both records', () => got.filter((d) => d.event.data.run === run).length === 2);
      await sub.stop();
      const mine = got.filter((d) => d.event.data.run === run);
      expect(mine.map((d) => d.event.data)).toEqual([
        { seq: 0, run, cpu: 12.5, from: 'json' },
        { seq: 1, run, cpu: 12.5 },
      ]);
    });

    it('device-events: appended events arrive as CloudEvents keyed by device, in stream order', async () => {
      const { transport, store, flushDeviceEvents } = fixture();
      const run = randomUUID().slice(0, 8);
      const devices = [`veh-${run}-1`, `ipc-${run}-2`];
      for (const d of devices) {
        await store.append(
          `hypervisor-${d}`,
          'no-stream',
          [1, 2, 3].map((n) => ({
            type: 'RtVmLatencyReported',
            data: { n, run },
            metadata: { deviceId: d },
          })),
        );
        await store.append(`hypervisor-${d}`, 3, [
          {
            type: 'DeviceWentOffline',
            data: { n: 4, run },
            metadata: { deviceId: d },
            correlationId: `c-${run}`,
          },
        ]);
      }
      await flushDeviceEvents();
      const got: Delivery[] = [];
      const sub = await transport.subscribe({
        group: `projection-${run}`,
        channel: 'device-events',
        handle: async (batch) => void got.push(...batch),
      });
      await sub.waitUntilCaughtUp(30_000);
      await sub.stop();
      for (const d of devices) {
        const mine = got.filter((x) => x.key === d);
        expect(mine.map((x) => x.event.data.n)).toEqual([1, 2, 3, 4]);
        expect(mine.map((x) => x.event.hfstreamposition)).toEqual(['1', '2', '3', '4']);
        expect(mine[3].event).toMatchObject({
          specversion: '1.0',
          type: 'DeviceWentOffline',
          subject: `hypervisor-${d}`,
          hfstream: `hypervisor-${d}`,
          hfcorrelationid: `c-${run}`,
          datacontenttype: 'application/json',
        });
        expect(mine[3].event.hflogposition).toMatch(/^\d+\/\d+$/);
      }
    });

    it('a group resumes after its last handled batch when it comes back', async () => {
      const { transport } = fixture();
      const run = randomUUID();
      const group = `resume-${run}`;
      const first: Delivery[] = [];
      const sub1 = await transport.subscribe({
        group,
        channel: 'telemetry',
        handle: async (b) => void first.push(...b),
      });
      await transport.publish(
        'telemetry',
        [0, 1, 2].map((i) => telemetry('dev-r', i, run)),
      );
      await sub1.waitUntilCaughtUp(30_000);
      await sub1.stop();
      await transport.publish(
        'telemetry',
        [3, 4].map((i) => telemetry('dev-r', i, run)),
      );
      const second: Delivery[] = [];
      const sub2 = await transport.subscribe({
        group,
        channel: 'telemetry',
        handle: async (b) => void second.push(...b),
      });
      await sub2.waitUntilCaughtUp(30_000);
      await sub2.stop();
      expect(first.filter((d) => d.event.data.run === run).map((d) => d.event.data.seq)).toEqual([0, 1, 2]);
      expect(second.filter((d) => d.event.data.run === run).map((d) => d.event.data.seq)).toEqual([3, 4]);
    });

    it('a batch whose handler fails is delivered again, and nothing after it is skipped', async () => {
      const { transport } = fixture();
      const run = randomUUID();
      let failures = 0;
      const handled: number[] = [];
      const sub = await transport.subscribe({
        group: `retry-${run}`,
        channel: 'telemetry',
        onError: () => undefined,
        handle: async (batch) => {
          const mine = batch.filter((d) => d.event.data.run === run);
          if (mine.length && failures < 2) {
            failures++;
            throw new Error('read model unavailable');
          }
          handled.push(...mine.map((d) => d.event.data.seq as number));
        },
      });
      await transport.publish(
        'telemetry',
        [0, 1, 2, 3].map((i) => telemetry('dev-f', i, run)),
      );
      await until('the retried batch', () => handled.length >= 4);
      await sub.stop();
      expect(failures).toBe(2);
      expect([...new Set(handled)]).toEqual([0, 1, 2, 3]);
    });

    it('per-key order holds under injected produce failures: failed sends are retried, nothing overtakes them', async () => {
      const { transport, store, faults, writeTelemetry, flushTelemetry, flushDeviceEvents } = fixture();
      const run = randomUUID();
      const keys = ['dev-fa', 'dev-fb', 'dev-fc', 'dev-fd'];
      const failing = ['dev-fb', 'dev-fd'];
      const before = faults.injected;
      faults.arm(failing, 3);
      const perKey = 40;
      for (let i = 0; i < perKey; i += 10) {
        const batch: TransportRecord[] = [];
        for (let j = i; j < i + 10; j++) for (const k of keys) batch.push(telemetry(k, j, run));
        await writeTelemetry(batch);
      }
      // Device events of a device whose sends fail (on Kafka; the PostgreSQL log has no send).
      const device = `veh-${run.slice(0, 8)}-f`;
      faults.arm([device], 2);
      for (let n = 1; n <= 6; n++) {
        await store.append(`hypervisor-${device}`, n === 1 ? 'no-stream' : n - 1, [
          { type: 'RtVmLatencyReported', data: { n, run }, metadata: { deviceId: device } },
        ]);
      }
      await flushTelemetry();
      await flushDeviceEvents();
      expect(faults.injected - before).toBeGreaterThanOrEqual(failing.length);
      faults.arm([...failing, device], 0);

      const got: Delivery[] = [];
      const events: Delivery[] = [];
      const subs = [
        await transport.subscribe({
          group: `faults-${run}`,
          channel: 'telemetry',
          handle: async (b) => void got.push(...b),
        }),
        await transport.subscribe({
          group: `faults-events-${run}`,
          channel: 'device-events',
          handle: async (b) => void events.push(...b),
        }),
      ];
      await Promise.all(subs.map((s) => s.waitUntilCaughtUp(60_000)));
      await Promise.all(subs.map((s) => s.stop()));
      const mine = got.filter((d) => d.event.data.run === run);
      // Once each, in order, for every key: the failing ones and the ones sent beside them.
      expect(new Set(mine.map((d) => d.event.id)).size).toBe(mine.length);
      for (const [key, seqs] of perKeyInOrder(mine, run)) {
        expect([key, seqs]).toEqual([key, Array.from({ length: perKey }, (_, i) => i)]);
      }
      expect(perKeyInOrder(mine, run).size).toBe(keys.length);
      const deviceEvents = events.filter((d) => d.key === device);
      expect(deviceEvents.map((d) => d.event.data.n)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('a new group with fromBeginning: false starts at the head', async () => {
      const { transport } = fixture();
      const run = randomUUID();
      await transport.publish('telemetry', [telemetry('dev-h', 0, run)]);
      const got: Delivery[] = [];
      const sub = await transport.subscribe({
        group: `head-${run}`,
        channel: 'telemetry',
        fromBeginning: false,
        handle: async (b) => void got.push(...b),
      });
      await transport.publish('telemetry', [telemetry('dev-h', 1, run)]);
      await until('the record published after subscribing', () => got.some((d) => d.event.data.run === run));
      await sub.stop();
      expect(got.filter((d) => d.event.data.run === run).map((d) => d.event.data.seq)).toEqual([1]);
    });
  });
}
