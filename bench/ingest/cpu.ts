import * as fs from 'node:fs';

/**
 * CPU time per component from /proc (Linux): the simulator (this process), the broker, the server
 * (gateway or ceiling) and PostgreSQL, and the whole machine, so that "other" shows what else ran.
 */
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function readStat(pid: number): { ppid: number; comm: string; cpuSeconds: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // After "pid (comm) ": state=0 ppid=1 … utime=11 stime=12
    return { ppid: Number(f[1]), comm, cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

export const available = (): boolean => fs.existsSync('/proc/self/stat');

function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** The pids of `root` and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** PostgreSQL processes started by this benchmark (embedded), else every postgres process on the machine. */
export function postgresPids(): { pids: number[]; scope: 'embedded' | 'machine' } {
  const mine = processTree(process.pid).filter((p) => readStat(p)?.comm === 'postgres');
  if (mine.length) return { pids: mine, scope: 'embedded' };
  return { pids: allPids().filter((p) => readStat(p)?.comm === 'postgres'), scope: 'machine' };
}

export function machineCpu(): { busySeconds: number; totalSeconds: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busySeconds: (total - idle) / TICKS_PER_SECOND, totalSeconds: total / TICKS_PER_SECOND };
}

export type Components = Record<string, () => number[]>;

export interface CpuSample {
  at: number;
  /** CPU seconds so far of every process of each component, by pid. */
  perComponent: Record<string, Map<number, number>>;
  machine: { busySeconds: number; totalSeconds: number };
}

/** Component pids are looked up at every sample: PostgreSQL backends come and go with pool connections. */
export function sampleCpu(components: Components): CpuSample {
  const perComponent: Record<string, Map<number, number>> = {};
  for (const [name, pids] of Object.entries(components)) {
    const m = new Map<number, number>();
    for (const p of pids()) {
      const cpuSeconds = readStat(p)?.cpuSeconds;
      if (cpuSeconds !== undefined) m.set(p, cpuSeconds);
    }
    perComponent[name] = m;
  }
  return { at: performance.now(), perComponent, machine: machineCpu() };
}

export interface CpuUse {
  /** Cores used on average by each component over the interval. */
  cores: Record<string, number>;
  /** Cores used by everything on the machine, and how many there are. */
  machineBusyCores: number;
  machineCores: number;
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const cores: Record<string, number> = {};
  for (const [name, now] of Object.entries(b.perComponent)) {
    const before = a.perComponent[name] ?? new Map<number, number>();
    let used = 0;
    // A process that started during the interval counts whole; one that ended is lost (rare, small).
    for (const [pid, sec] of now) used += sec - (before.get(pid) ?? 0);
    cores[name] = Math.max(0, used / seconds);
  }
  const total = b.machine.totalSeconds - a.machine.totalSeconds;
  const busy = b.machine.busySeconds - a.machine.busySeconds;
  const machineCores = total / seconds;
  return { cores, machineBusyCores: busy / seconds, machineCores };
}
