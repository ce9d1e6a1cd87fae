import { exampleDeviceMessages } from '@hyperfleet/contracts';
import type { TransportRecord } from '@hyperfleet/messaging';
import { bucketIndex, histogramTotal } from './histogram';
import { MinuteRollups, parseRecord, parseSample, type ParsedRecord } from './rollup';
import { asGateway } from '../../test/gateway-records';

const parsed = (r: TransportRecord) => parseRecord(r) as ParsedRecord;
const minute = (iso: string) => Date.parse(iso);

describe('parseRecord: telemetry-channel records as the gateway publishes them', () => {
  const examples = exampleDeviceMessages();

  it('reads a telemetry batch with its epoch and seq', () => {
    const [record] = asGateway('ipc-0042', 'telemetry', examples.telemetry);
    expect(record.event.type).toBe('hf.device.telemetry');
    expect(parsed(record)).toMatchObject({
      kind: 'telemetry',
      deviceId: 'ipc-0042',
      epoch: 7,
      seq: 5,
      droppedSamples: 0,
      invalid: 0,
    });
    expect((parsed(record) as { samples: unknown[] }).samples).toHaveLength(3);
  });

  it('counts a health window in the minute of its midpoint', () => {
    const [record] = asGateway('ipc-0042', 'health', examples.health);
    expect(parsed(record)).toMatchObject({
      kind: 'health',
      epoch: 7,
      seq: 4,
      minute: minute('2025-02-03T08:04:00Z'),
    });
  });

  it('ignores other record types, refuses records it cannot dedupe, drops off-contract samples', () => {
    const [progress] = asGateway('ipc-0042', 'update-progress', examples['update-progress']);
    expect(parseRecord(progress)).toBeNull();
    const [record] = asGateway('ipc-0042', 'telemetry', examples.telemetry);
    const data = record.event.data as Record<string, unknown>;
    expect(
      parseRecord({ key: 'ipc-0042', event: { type: record.event.type, data: { ...data, seq: -1 } } }),
    ).toBe('invalid');
    expect(parseRecord({ key: '', event: record.event })).toBe('no-device');
    expect(parseRecord({ key: 'a/b', event: record.event })).toBe('no-device');
    const samples = [
      ...(data.samples as object[]),
      { at: 'yesterday', vmName: 'X', cpuPercent: 1, memoryUsedBytes: 1 },
    ];
    samples.push({ at: '2025-02-03T08:05:00Z', vmName: 'X', cpuPercent: 101, memoryUsedBytes: 1 });
    const p = parseRecord({
      key: 'ipc-0042',
      event: { type: record.event.type, data: { ...data, samples } },
    });
    expect(p).toMatchObject({ invalid: 2 });
  });
});

describe('MinuteRollups: the per-minute arithmetic', () => {
  const examples = exampleDeviceMessages();

  it('sums, averages and extremes per (device, VM, minute) from the protocol examples', () => {
    const r = new MinuteRollups();
    r.add(parsed(asGateway('ipc-0042', 'telemetry', examples.telemetry)[0]));
    r.add(parsed(asGateway('ipc-0042', 'health', examples.health)[0]));
    const rows = r.list();
    expect(rows.map((x) => [x.vmName, new Date(x.minute).toISOString()])).toEqual([
      ['RT_VM0', '2025-02-03T08:04:00.000Z'], // the health window
      ['RT_VM0', '2025-02-03T08:05:00.000Z'], // the telemetry samples
      ['Service_VM', '2025-02-03T08:05:00.000Z'],
    ]);
    const [health, rt, svm] = rows;
    expect(rt).toMatchObject({
      samples: 2,
      cpuSum: 124.5,
      cpuMax: 63,
      memMax: 734101504,
      latObs: 2,
      latMax: 11,
    });
    expect(rt.latSum).toBeCloseTo(4.1 + 4.3);
    expect(rt.latMin).toBeCloseTo(4.1);
    expect(rt.hist!.counts[bucketIndex(9)]).toBe(1);
    expect(rt.hist!.counts[bucketIndex(11)]).toBe(1);
    expect(health).toMatchObject({ samples: 0, latObs: 60000, latMin: 2, latMax: 11, healthReports: 1 });
    expect(health.latSum).toBeCloseTo(4.2 * 60000);
    expect(histogramTotal(health.hist!)).toBe(60000);
    expect(svm).toMatchObject({ samples: 1, cpuMax: 11.2, latObs: 0, latMax: null, hist: null });
  });

  it('splits samples across minutes and devices, and adds up a minute over several records', () => {
    const r = new MinuteRollups();
    const sample = (at: string, cpu: number, max?: number) =>
      parseSample({
        at,
        vmName: 'RT_VM0',
        cpuPercent: cpu,
        memoryUsedBytes: 1000,
        ...(max === undefined ? {} : { rtLatencyUs: { max } }),
      })!;
    r.addSample('a', sample('2026-01-01T00:00:59.999Z', 10, 20));
    r.addSample('a', sample('2026-01-01T00:01:00.000Z', 30, 60));
    r.addSample('a', sample('2026-01-01T00:01:30.000Z', 50));
    r.addSample('b', sample('2026-01-01T00:01:30.000Z', 70, 3000));
    const [a0, a1, b1] = r.list();
    expect(a0).toMatchObject({ samples: 1, cpuSum: 10, latObs: 1, latSum: 20, latMin: 20, latMax: 20 });
    expect(a1).toMatchObject({ samples: 2, cpuSum: 80, cpuMax: 50, memSum: 2000, latObs: 1, latMax: 60 });
    expect(b1.hist!.overflow).toBe(1);
    expect(r.samplesIn).toBe(4);
  });

  it('a health VM without loops counts the report but no latency', () => {
    const r = new MinuteRollups();
    r.addHealth('a', 0, { vmName: 'RT_VM0', samples: 0, avgLatencyUs: 0, worstCaseLatencyUs: 0 });
    expect(r.list()[0]).toMatchObject({ healthReports: 1, latObs: 0, latMax: null, hist: null });
  });
});
