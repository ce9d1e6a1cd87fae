import { Session } from 'node:inspector';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LatencyHistogram } from '@hyperfleet/fleet-sim';
import { timeEveryQuery } from '../sql-timing';

/**
 * Measurements taken inside the server process without touching its code: every SQL statement
 * (pg's Client.prototype.query, wrapped), the time spent per message in a wrapped handler, event
 * loop utilisation, and a CPU profile of a chosen interval (the inspector's sampling profiler).
 */

export interface SqlStats {
  statements: number;
  ms: number;
  byLabel: Record<string, { n: number; ms: number }>;
}

const sql: SqlStats = { statements: 0, ms: 0, byLabel: {} };

function label(text: string): string {
  const verb = (/^\s*(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
  const table = /(?:\bFROM|\bINTO|^\s*UPDATE)\s+([\w.]+)/i.exec(text)?.[1];
  return table ? `${verb} ${table}` : verb;
}

/** Counts and times every statement of every pg client in this process. */
export function instrumentSql(): void {
  timeEveryQuery((text, ms) => {
    sql.statements++;
    sql.ms += ms;
    const e = (sql.byLabel[label(text)] ??= { n: 0, ms: 0 });
    e.n++;
    e.ms += ms;
  });
}

export function sqlSnapshot(): SqlStats {
  return { statements: sql.statements, ms: sql.ms, byLabel: structuredClone(sql.byLabel) };
}

export function sqlDelta(a: SqlStats, b: SqlStats): SqlStats {
  const byLabel: SqlStats['byLabel'] = {};
  for (const [k, v] of Object.entries(b.byLabel)) {
    const n = v.n - (a.byLabel[k]?.n ?? 0);
    if (n > 0) byLabel[k] = { n, ms: v.ms - (a.byLabel[k]?.ms ?? 0) };
  }
  return { statements: b.statements - a.statements, ms: b.ms - a.ms, byLabel };
}

/** Time per call of an async function, by a key (the message kind). */
export class CallTimer {
  private hist = new Map<string, LatencyHistogram>();

  async time<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      let h = this.hist.get(key);
      if (!h) this.hist.set(key, (h = new LatencyHistogram()));
      h.record(performance.now() - t0);
    }
  }

  reset(): void {
    this.hist.clear();
  }

  summary(): Record<string, { n: number; meanMs: number; p50Ms: number; p99Ms: number }> {
    const out: Record<string, { n: number; meanMs: number; p50Ms: number; p99Ms: number }> = {};
    for (const [k, h] of this.hist) {
      out[k] = {
        n: h.count,
        meanMs: h.mean() ?? 0,
        p50Ms: h.quantile(0.5) ?? 0,
        p99Ms: h.quantile(0.99) ?? 0,
      };
    }
    return out;
  }
}

// ------------------------------------------------------------------------------------------ profile

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by where the code lives: an npm package, a Hyperfleet lib/app, node internals, GC. */
  byArea: { area: string; ms: number; share: number }[];
  /** Self time of the hottest functions. */
  topSelf: { fn: string; ms: number; share: number }[];
  /** Time including callees, for Hyperfleet's own functions. */
  topInclusive: { fn: string; ms: number; share: number }[];
}

let session: Session | null = null;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

export async function startProfile(): Promise<void> {
  if (!session) {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
  }
  await post('Profiler.start');
}

export async function stopProfile(saveAs?: string): Promise<ProfileSummary> {
  const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop');
  if (saveAs) {
    fs.mkdirSync(path.dirname(saveAs), { recursive: true });
    fs.writeFileSync(saveAs, JSON.stringify(profile));
  }
  return summarizeProfile(profile);
}

function area(url: string, fn: string): string {
  if (!url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return 'idle';
    if (fn === '(program)') return 'V8/native (program)';
    return `native ${fn || '(anonymous)'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `npm ${nm[1]}`;
  const hf = /\/dist\/((?:libs|apps)\/[^/]+)\//.exec(url);
  if (hf) return `hyperfleet ${hf[1]}`;
  if (url.includes('/dist/bench/')) return 'bench instrumentation';
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node ${m?.[1] ?? url}`;
  }
  return url;
}

function shortUrl(url: string): string {
  const i = url.search(/node_modules\/|\/dist\//);
  return i >= 0 ? url.slice(i).replace(/^\/dist\//, '') : url;
}

export function summarizeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    fns.set(key(n), (fns.get(key(n)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (!/\/dist\/(libs|apps)\//.test(node.callFrame.url)) continue;
      const k = key(node);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => ({ ms, share: ms / totalMs, k }));
  return {
    totalMs,
    byArea: top(areas, 20).map(({ k, ms, share }) => ({ area: k, ms, share })),
    topSelf: top(fns, 25).map(({ k, ms, share }) => ({ fn: k, ms, share })),
    topInclusive: top(inclusive, 25).map(({ k, ms, share }) => ({ fn: k, ms, share })),
  };
}
