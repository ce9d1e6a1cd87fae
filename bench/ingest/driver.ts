import type { AcrnctlState } from '@hyperfleet/contracts';
import { LatencyHistogram, type Fleet, type MessageOutcome, type SimDevice } from '@hyperfleet/fleet-sim';

/**
 * The load: a closed loop with a fixed number of messages in flight across the fleet (`window`).
 * A message goes out from the next device that has nothing in flight, so every device keeps the
 * protocol's stop-and-wait, and the offered load adapts to what the system answers. Each message is
 * timed on the device, from its PUBLISH to its reply (fleet-sim's latency).
 *
 * - domain: health and vm-state in turn per device. A health message becomes ReportRtVmLatency per
 *   running RTVM and ReportDeviceModelHealth (plus its histogram on the telemetry channel); a vm-state
 *   flips the device's first RTVM between stopped and started (ReportRtVmState, an event every time).
 * - telemetry: batches of `telemetryBatch` samples.
 */
export type WorkloadKind = 'domain' | 'telemetry';

export interface DriveOptions {
  window: number;
  warmupMs: number;
  measureMs: number;
  telemetryBatch: number;
  /** Called when the measured interval starts and ends (CPU samples, server counters). */
  onStart?: () => Promise<void>;
  onEnd?: () => Promise<void>;
}

export interface DriveResult {
  seconds: number;
  accepted: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  timeouts: number;
  dropped: number;
  byKind: Record<string, number>;
  latency: LatencyHistogram;
  msgsPerSecond: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function drive(fleet: Fleet, kind: WorkloadKind, o: DriveOptions): Promise<DriveResult> {
  const devices = fleet.devices();
  const n = devices.length;
  const busy = new Uint8Array(n);
  const turn = new Uint32Array(n);
  const rtVm = devices.map((d) => d.spec.vms.find((v) => v.vmType === 'RTVM')?.name ?? null);
  let cursor = 0;
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let t0 = 0;
  let t1 = 0;
  const r: DriveResult = {
    seconds: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    timeouts: 0,
    dropped: 0,
    byKind: {},
    latency: new LatencyHistogram(),
    msgsPerSecond: 0,
  };

  const pick = (): number => {
    for (let k = 0; k < n; k++) {
      const i = cursor;
      cursor = (cursor + 1) % n;
      if (!busy[i] && devices[i].online) return i;
    }
    return -1;
  };

  const send = (d: SimDevice, i: number): Promise<MessageOutcome> => {
    if (kind === 'telemetry') return d.sendTelemetry(undefined, o.telemetryBatch);
    const vm = rtVm[i];
    if (turn[i]++ % 2 === 0 || !vm) return d.sendHealth();
    const next: AcrnctlState = d.vmState(vm) === 'stopped' ? 'started' : 'stopped';
    return d.sendVmState(vm, next);
  };

  const worker = async () => {
    while (phase !== 'done') {
      const i = pick();
      if (i < 0) {
        await sleep(2);
        continue;
      }
      busy[i] = 1;
      const outcome = await send(devices[i], i);
      busy[i] = 0;
      const at = performance.now();
      if (phase !== 'measure' || at < t0) continue;
      if (t1 && at > t1) continue;
      if (outcome.status === 'accepted' || outcome.status === 'rejected') {
        r.latency.record(outcome.latencyMs);
        r.byKind[outcome.kind] = (r.byKind[outcome.kind] ?? 0) + 1;
        if (outcome.status === 'accepted') r.accepted++;
        else {
          r.rejected++;
          const code = outcome.code ?? 'UNKNOWN';
          r.rejectedByCode[code] = (r.rejectedByCode[code] ?? 0) + 1;
        }
      } else if (outcome.status === 'timeout') r.timeouts++;
      else r.dropped++;
    }
  };

  const workers = Array.from({ length: Math.min(o.window, n) }, worker);
  await sleep(o.warmupMs);
  await o.onStart?.();
  t0 = performance.now();
  phase = 'measure';
  await sleep(o.measureMs);
  t1 = performance.now();
  await o.onEnd?.();
  phase = 'done';
  // Let what is in flight finish (bounded), so that the next measurement starts on a quiet system.
  await Promise.race([Promise.all(workers), sleep(30_000)]);
  r.seconds = (t1 - t0) / 1000;
  r.msgsPerSecond = r.accepted / r.seconds;
  return r;
}

/** Resolves when no device message waits for a reply (e.g. after the births), or after `timeoutMs`. */
export async function settle(fleet: Fleet, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fleet.counters.pending === 0) return true;
    await sleep(100);
  }
  return false;
}
