import { DEVICE_ID_PATTERN, VM_NAME_PATTERN } from '@hyperfleet/contracts';
import { addObservation, addSourceHistogram, emptyHistogram, type LatencyHistogram } from './histogram';

/**
 * The per-minute arithmetic of the telemetry rollups, pure: records in, one accumulator per
 * (device, VM, minute) out. The SQL upsert adds accumulators to stored rows with the same rules
 * (sums add, maxima take the greater, minima the lesser, histograms add element-wise), so applying
 * two batches one after the other equals applying their union.
 *
 * What counts as a latency observation: a cyclictest loop of a health report (its `samples`, avg and
 * histogram) and a telemetry sample's `rtLatencyUs` (its interval maximum in the histogram and for
 * min/max; its `avg`, else the maximum, for the mean). With health reports present the loops dominate
 * the mean and the histogram, as they should; without them the figures still say something.
 */

export const TELEMETRY_EVENT_TYPE = 'hf.device.telemetry';
export const HEALTH_EVENT_TYPE = 'hf.device.health';

export interface MinuteAccumulator {
  readonly deviceId: string;
  readonly vmName: string;
  /** Start of the minute, epoch milliseconds (UTC). */
  readonly minute: number;
  /** Telemetry samples (CPU and memory). */
  samples: number;
  cpuSum: number;
  cpuMax: number | null;
  memSum: number;
  memMax: number | null;
  /** Latency observations (cyclictest loops + telemetry samples with RT latency). */
  latObs: number;
  latSum: number;
  latMin: number | null;
  latMax: number | null;
  /** null until something lands in it (non-RT VMs keep none). */
  hist: LatencyHistogram | null;
  healthReports: number;
}

export interface RtVmHealthIn {
  readonly vmName: string;
  readonly samples: number;
  readonly minLatencyUs?: number;
  readonly avgLatencyUs: number;
  readonly worstCaseLatencyUs: number;
  readonly histogram?: {
    readonly bucketWidthUs: number;
    readonly counts: number[];
    readonly overflow: number;
  };
}

/** A telemetry sample after validation, its minute worked out once. */
export interface ParsedSample {
  /** Start of the sample's minute, epoch ms. */
  readonly minute: number;
  readonly vmName: string;
  readonly cpuPercent: number;
  readonly memoryUsedBytes: number;
  /** RT latency over the sample interval, when the VM reports it. */
  readonly latMax: number | null;
  readonly latAvg: number | null;
}

/** A telemetry-channel record after validation: what the rollups read from it. */
export type ParsedRecord =
  | {
      readonly kind: 'telemetry';
      readonly deviceId: string;
      readonly epoch: number;
      readonly seq: number;
      readonly samples: ParsedSample[];
      readonly droppedSamples: number;
      /** Samples of the batch left out for being off-contract. */
      readonly invalid: number;
    }
  | {
      readonly kind: 'health';
      readonly deviceId: string;
      readonly epoch: number;
      readonly seq: number;
      /** The minute a window is counted in: the one holding its midpoint. */
      readonly minute: number;
      readonly rtVms: RtVmHealthIn[];
      readonly invalid: number;
    };

export const MINUTE_MS = 60_000;
export const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

// Timestamps outside this range are off-contract for a fleet (and would not fit every SQL type).
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(2200, 0, 1);
const MAX_MEMORY = 2 ** 53 - 1;
const MAX_LATENCY_US = 1e12;
// Cyclictest loops per report (a day at one loop per µs is 8.64e10): bounded so no sum can leave bigint.
const MAX_COUNT = 1e12;

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const nonNeg = (v: unknown, max = Number.MAX_VALUE): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
const nonNegInt = (v: unknown, max = MAX_MEMORY): v is number => nonNeg(v, max) && Number.isInteger(v);
const count = (v: unknown): v is number => nonNegInt(v, MAX_COUNT);
// Names go into text columns: the contracts' patterns keep out NUL and anything else SQL would refuse.
export const isDeviceId = (v: unknown): v is string => typeof v === 'string' && DEVICE_ID_PATTERN.test(v);
const vmName = (v: unknown): v is string => typeof v === 'string' && VM_NAME_PATTERN.test(v);
/** An ISO-8601 time in a range SQL takes (2000–2200), as epoch ms; else null. */
export const parseTime = (v: unknown): number | null => {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return t >= MIN_TIME && t < MAX_TIME ? t : null;
};

/** The sample in the rollups' terms, or null when it is off-contract. */
export function parseSample(s: unknown): ParsedSample | null {
  if (!isObj(s) || !vmName(s.vmName)) return null;
  if (!nonNeg(s.cpuPercent, 100) || !nonNegInt(s.memoryUsedBytes)) return null;
  const at = parseTime(s.at);
  if (at === null) return null;
  let latMax: number | null = null;
  let latAvg: number | null = null;
  const l = s.rtLatencyUs;
  if (l !== undefined) {
    if (!isObj(l) || !nonNeg(l.max, MAX_LATENCY_US)) return null;
    if (l.avg !== undefined && !nonNeg(l.avg, MAX_LATENCY_US)) return null;
    latMax = l.max;
    latAvg = l.avg === undefined ? null : (l.avg as number);
  }
  return {
    minute: floorMinute(at),
    vmName: s.vmName,
    cpuPercent: s.cpuPercent,
    memoryUsedBytes: s.memoryUsedBytes,
    latMax,
    latAvg,
  };
}

function validRtVm(v: unknown): v is RtVmHealthIn {
  if (!isObj(v) || !vmName(v.vmName)) return false;
  if (!count(v.samples) || !nonNeg(v.avgLatencyUs, MAX_LATENCY_US)) return false;
  if (!nonNeg(v.worstCaseLatencyUs, MAX_LATENCY_US)) return false;
  if (v.minLatencyUs !== undefined && !nonNeg(v.minLatencyUs, MAX_LATENCY_US)) return false;
  if (v.histogram === undefined) return true;
  const h = v.histogram;
  return (
    isObj(h) &&
    nonNegInt(h.bucketWidthUs) &&
    (h.bucketWidthUs as number) > 0 &&
    Array.isArray(h.counts) &&
    h.counts.length <= 100_000 &&
    h.counts.every(count) &&
    count(h.overflow)
  );
}

/**
 * Reads a telemetry-channel record as the gateway publishes it (CloudEvent type `hf.device.telemetry`
 * or `hf.device.health`, data = the payload plus `epoch` and `seq`). Other types (update progress)
 * are not the rollups' business: null. A record whose key is not a device id is `'no-device'`
 * (nowhere to count it); one without a usable epoch or seq cannot be deduplicated and is refused
 * (`'invalid'`, counted on the device); off-contract samples or VMs inside a good record are left out
 * and counted. Everything that reaches SQL is checked here, so no record can make a batch fail for
 * good and stop the runner.
 */
export function parseRecord(r: {
  key: string;
  event: { type: string; data: unknown };
}): ParsedRecord | 'invalid' | 'no-device' | null {
  const { type, data } = r.event;
  if (type !== TELEMETRY_EVENT_TYPE && type !== HEALTH_EVENT_TYPE) return null;
  if (!isDeviceId(r.key)) return 'no-device';
  if (!isObj(data)) return 'invalid';
  const { epoch, seq } = data;
  if (!nonNegInt(epoch) || !nonNegInt(seq)) return 'invalid';
  if (type === TELEMETRY_EVENT_TYPE) {
    if (!Array.isArray(data.samples)) return 'invalid';
    const samples: ParsedSample[] = [];
    for (const raw of data.samples) {
      const sample = parseSample(raw);
      if (sample) samples.push(sample);
    }
    return {
      kind: 'telemetry',
      deviceId: r.key,
      epoch,
      seq,
      samples,
      droppedSamples: count(data.droppedSamples) ? data.droppedSamples : 0,
      invalid: data.samples.length - samples.length,
    };
  }
  const start = parseTime(data.windowStart);
  const end = parseTime(data.windowEnd);
  if (start === null || end === null || !Array.isArray(data.rtVms)) return 'invalid';
  const rtVms = data.rtVms.filter(validRtVm);
  return {
    kind: 'health',
    deviceId: r.key,
    epoch,
    seq,
    minute: floorMinute(start + Math.max(0, end - start) / 2),
    rtVms,
    invalid: data.rtVms.length - rtVms.length,
  };
}

/** Accumulators of one batch, keyed by device, VM and minute. */
export class MinuteRollups {
  private readonly rows = new Map<string, MinuteAccumulator>();
  /** Telemetry samples taken in (for throughput figures). */
  samplesIn = 0;

  private row(deviceId: string, vmName: string, minute: number): MinuteAccumulator {
    const key = `${deviceId}\u0000${vmName}\u0000${minute}`;
    let r = this.rows.get(key);
    if (!r) {
      r = {
        deviceId,
        vmName,
        minute,
        samples: 0,
        cpuSum: 0,
        cpuMax: null,
        memSum: 0,
        memMax: null,
        latObs: 0,
        latSum: 0,
        latMin: null,
        latMax: null,
        hist: null,
        healthReports: 0,
      };
      this.rows.set(key, r);
    }
    return r;
  }

  add(record: ParsedRecord): void {
    if (record.kind === 'telemetry') {
      for (const s of record.samples) this.addSample(record.deviceId, s);
    } else {
      for (const vm of record.rtVms) this.addHealth(record.deviceId, record.minute, vm);
    }
  }

  addSample(deviceId: string, s: ParsedSample): void {
    const r = this.row(deviceId, s.vmName, s.minute);
    this.samplesIn++;
    r.samples++;
    r.cpuSum += s.cpuPercent;
    r.cpuMax = r.cpuMax === null ? s.cpuPercent : Math.max(r.cpuMax, s.cpuPercent);
    r.memSum += s.memoryUsedBytes;
    r.memMax = r.memMax === null ? s.memoryUsedBytes : Math.max(r.memMax, s.memoryUsedBytes);
    if (s.latMax !== null) {
      const mean = s.latAvg ?? s.latMax;
      observe(r, 1, mean, Math.min(mean, s.latMax), s.latMax);
      addObservation((r.hist ??= emptyHistogram()), s.latMax);
    }
  }

  addHealth(deviceId: string, minute: number, vm: RtVmHealthIn): void {
    const r = this.row(deviceId, vm.vmName, minute);
    r.healthReports++;
    if (vm.samples === 0) return;
    observe(r, vm.samples, vm.avgLatencyUs, vm.minLatencyUs ?? null, vm.worstCaseLatencyUs);
    if (vm.histogram) addSourceHistogram((r.hist ??= emptyHistogram()), vm.histogram);
  }

  /** The accumulators, sorted by key (the upsert takes row locks in this order: no deadlocks). */
  list(): MinuteAccumulator[] {
    return [...this.rows.values()].sort(
      (a, b) => cmp(a.deviceId, b.deviceId) || cmp(a.vmName, b.vmName) || a.minute - b.minute,
    );
  }

  get size(): number {
    return this.rows.size;
  }
}

function observe(r: MinuteAccumulator, n: number, mean: number, min: number | null, max: number): void {
  r.latObs += n;
  r.latSum += mean * n;
  if (min !== null) r.latMin = r.latMin === null ? min : Math.min(r.latMin, min);
  r.latMax = r.latMax === null ? max : Math.max(r.latMax, max);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What a minute row (or a sum of them) says, as the API shows it. */
export interface RollupFigures {
  readonly samples: number;
  readonly cpuPercent: { readonly avg: number | null; readonly max: number | null };
  readonly memoryBytes: { readonly avg: number | null; readonly max: number | null };
  readonly latencyUs: {
    readonly observations: number;
    readonly min: number | null;
    readonly avg: number | null;
    readonly max: number | null;
    readonly p99: number | null;
    /** Observations at or above the histogram's last edge. */
    readonly overflow: number;
  };
  readonly healthReports: number;
}
