import type { LatencyHistogram } from '@hyperfleet/contracts';
import type { Rng } from './prng';

/**
 * cyclictest-like latency of an RT VM: a window of wake-up latencies with a minimum, an average, a worst
 * case, the jitter (max − min) and a histogram (`cyclictest -h`: counts[i] samples in [i·w, (i+1)·w) µs).
 * A `factor` above 1 scales everything: a regressed kernel or hypervisor.
 */

export interface LatencyShape {
  minUs: number;
  avgUs: number;
  worstUs: number;
}

export interface LatencyWindow {
  samples: number;
  minLatencyUs: number;
  avgLatencyUs: number;
  worstCaseLatencyUs: number;
  jitterUs: number;
  histogram: LatencyHistogram;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Draws `count` latencies: an exponential body above the minimum, and now and then a spike. */
export function drawLatencies(rng: Rng, shape: LatencyShape, factor: number, count: number): number[] {
  const body = Math.max(0.1, shape.avgUs - shape.minUs);
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    let v = shape.minUs + rng.exponential(body);
    if (rng.chance(0.01)) v = rng.range(shape.avgUs, shape.worstUs);
    values.push(Math.min(v, shape.worstUs) * factor);
  }
  // The worst case of a window is usually near the VM's usual worst case.
  if (count > 0 && rng.chance(0.6)) values[0] = shape.worstUs * rng.range(0.75, 1) * factor;
  return values;
}

/**
 * A window of `samples` cyclictest loops (one per millisecond with `-i 1000`), summarised from a few
 * hundred drawn values so that a window costs the same whatever its length.
 */
export function latencyWindow(
  rng: Rng,
  shape: LatencyShape,
  factor: number,
  samples: number,
  options: { bucketWidthUs?: number; maxBuckets?: number; draws?: number } = {},
): LatencyWindow {
  const width = options.bucketWidthUs ?? 1;
  const maxBuckets = options.maxBuckets ?? 256;
  const draws = Math.max(1, Math.min(samples, options.draws ?? 256));
  const values = drawLatencies(rng, shape, factor, draws);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const avg = values.reduce((s, v) => s + v, 0) / values.length;
  const buckets = Math.min(maxBuckets, Math.floor(max / width) + 1);
  const raw = new Array<number>(buckets).fill(0);
  let rawOverflow = 0;
  for (const v of values) {
    const i = Math.floor(v / width);
    if (i < buckets) raw[i]++;
    else rawOverflow++;
  }
  // Scale the drawn counts to the window's sample count, keeping the total exact.
  const scale = samples / draws;
  const counts = raw.map((c) => Math.round(c * scale));
  let overflow = Math.round(rawOverflow * scale);
  const diff = samples - counts.reduce((s, c) => s + c, 0) - overflow;
  if (diff !== 0) {
    let top = 0;
    counts.forEach((c, i) => (c > counts[top] ? (top = i) : undefined));
    if (counts.length > 0 && counts[top] + diff >= 0) counts[top] += diff;
    else overflow = Math.max(0, overflow + diff);
  }
  const minUs = round1(min);
  const worstUs = Math.max(round1(max), minUs);
  const avgUs = Math.min(worstUs, Math.max(minUs, round1(avg)));
  return {
    samples,
    minLatencyUs: minUs,
    avgLatencyUs: avgUs,
    worstCaseLatencyUs: worstUs,
    jitterUs: round1(worstUs - minUs),
    histogram: { bucketWidthUs: width, counts, overflow },
  };
}

/** One telemetry sample's RT latency over its interval: `{ max, avg }`. */
export function latencySample(rng: Rng, shape: LatencyShape, factor: number): { max: number; avg: number } {
  const values = drawLatencies(rng, shape, factor, 16);
  const max = round1(Math.max(...values));
  const avg = Math.min(max, round1(values.reduce((s, v) => s + v, 0) / values.length));
  return { max, avg };
}
