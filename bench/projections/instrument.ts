import * as fs from 'node:fs';
import { timeEveryQuery } from '../sql-timing';

/**
 * What the projections benchmark measures besides wall time, without touching the code measured:
 * every SQL statement of this process (pg's Client.prototype.query, wrapped; the time from sending
 * it to its rows being parsed), grouped by what it is for, and CPU seconds of this process, of the
 * PostgreSQL server and of the whole machine (Linux /proc).
 */

export type SqlKind =
  | 'read log'
  | 'checkpoint'
  | 'begin/commit'
  | 'lock'
  | 'dedupe read'
  | 'dedupe write'
  | 'status'
  | 'setup/swap'
  | 'projection';

const KINDS: [RegExp, SqlKind][] = [
  [/FROM hf\.events\s+WHERE \(transaction_id, global_position\) >/, 'read log'],
  [/hf\.checkpoints/, 'checkpoint'],
  [/^\s*(BEGIN|COMMIT|ROLLBACK)\b/i, 'begin/commit'],
  [/pg_advisory_xact_lock/, 'lock'],
  [/^\s*SELECT stream_id, position FROM rm\.projection_positions/, 'dedupe read'],
  [/^\s*INSERT INTO rm\.projection_positions/, 'dedupe write'],
  [/^\s*INSERT INTO rm\.projection_status/, 'status'],
  [
    /^\s*(CREATE|DROP|ALTER)\b|count\(\*\) AS n FROM hf\.events|^\s*(DELETE FROM|UPDATE) rm\.projection_(positions|status)/,
    'setup/swap',
  ],
];

export function sqlKind(text: string): SqlKind {
  for (const [re, kind] of KINDS) if (re.test(text)) return kind;
  return 'projection';
}

export type SqlTotals = Record<string, { n: number; ms: number }>;

let totals: SqlTotals = {};
let details: SqlTotals = {};

/** A projection's statement by what it does to which of its tables: `UPDATE inventory_device_vms`. */
export function statementLabel(text: string): string {
  const verb = (/^\s*(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
  const table = /rm\."([^"]+)"/.exec(text)?.[1]?.replace(/__rebuild$/, '') ?? '?';
  return `${verb} ${table}`;
}

/** Times every statement of every pg client in this process, by kind. */
export function instrumentSql(): void {
  timeEveryQuery((text, ms) => {
    const kind = sqlKind(text);
    const e = (totals[kind] ??= { n: 0, ms: 0 });
    e.n++;
    e.ms += ms;
    if (kind === 'projection') {
      const d = (details[statementLabel(text)] ??= { n: 0, ms: 0 });
      d.n++;
      d.ms += ms;
    }
  });
}

/** The totals since the last call. */
export function takeSql(): SqlTotals {
  const t = totals;
  totals = {};
  return t;
}

/** The projections' own statements since the last call, by statementLabel. */
export function takeSqlDetail(): SqlTotals {
  const t = details;
  details = {};
  return t;
}

export const sqlMs = (t: SqlTotals, ...kinds: SqlKind[]) => kinds.reduce((s, k) => s + (t[k]?.ms ?? 0), 0);
export const sqlCount = (t: SqlTotals) => Object.values(t).reduce((s, v) => s + v.n, 0);

// ------------------------------------------------------------------------------------------- CPU

const TICKS = 100; // USER_HZ

/** CPU seconds of a process; with `reaped`, also those of its children that exited and were waited for. */
function cpuSecondsOf(pid: number, reaped = false): number | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]);
    return (reaped ? own + Number(f[13]) + Number(f[14]) : own) / TICKS;
  } catch {
    return null;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function machine(): { busy: number; total: number } {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - v[3] - (v[4] ?? 0)) / TICKS, total: total / TICKS };
}

export interface CpuSample {
  at: number;
  node: number;
  children: number;
  postgres: number | null;
  kafka: number | null;
  machine: { busy: number; total: number } | null;
}

export interface CpuUse {
  seconds: number;
  /** Cores used on average: this process, its children (the load generator), PostgreSQL, the machine. */
  node: number;
  children: number;
  postgres: number | null;
  /** A Kafka broker running on this machine (kafka.Kafka), if any. */
  kafka: number | null;
  machine: number | null;
  machineCores: number | null;
}

/** Cores used by what is not part of the benchmark (nor Kafka, nor PostgreSQL). */
export const otherCores = (c: CpuUse | null): number | null =>
  c && c.machine !== null
    ? Math.max(0, c.machine - c.node - c.children - (c.postgres ?? 0) - (c.kafka ?? 0))
    : null;

/**
 * CPU of this process, of processes it forked, of the PostgreSQL backends serving the benchmark's
 * database (when the server runs on this machine), of a Kafka broker running here, and of the machine.
 */
export class CpuMeter {
  /** CPU seconds of each backend of our database seen so far (the last value for those that exited). */
  private readonly backends = new Map<number, number>();

  private constructor(
    private readonly database: string,
    readonly childPids: () => number[],
  ) {
    if (this.available) {
      this.track();
      setInterval(() => this.track(), 250).unref();
    }
  }

  /**
   * `database`: the benchmark's own database. PostgreSQL CPU is that of the backends serving it
   * (their process titles name it), so a server shared with other work is told apart; the server's
   * background processes (WAL writer, checkpointer, autovacuum) count as "other".
   */
  static start(database: string, childPids: () => number[] = () => []): CpuMeter {
    return new CpuMeter(database, childPids);
  }

  get available(): boolean {
    return fs.existsSync('/proc/self/stat');
  }

  /** CPU of backends whose pid was reused by a new process. */
  private retired = 0;

  private track(): void {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const pid = Number(d);
      const known = this.backends.get(pid);
      if (known === undefined) {
        const cmd = cmdlineOf(pid);
        if (!cmd.startsWith('postgres: ') || !cmd.includes(` ${this.database} `)) continue;
      }
      const cpu = cpuSecondsOf(pid);
      if (cpu === null) continue;
      if (known !== undefined && cpu < known) this.retired += known;
      this.backends.set(pid, cpu);
    }
  }

  /**
   * Differences between two samples are what the backends used in between: a backend that exits
   * keeps its last value (at most 250 ms old), one that starts counts from zero.
   */
  private postgresSeconds(): number {
    this.track();
    let sum = this.retired;
    for (const cpu of this.backends.values()) sum += cpu;
    return sum;
  }

  private kafkaSeconds(): number | null {
    let sum: number | null = null;
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      if (!cmdlineOf(Number(d)).includes('kafka.Kafka')) continue;
      sum = (sum ?? 0) + (cpuSecondsOf(Number(d)) ?? 0);
    }
    return sum;
  }

  sample(): CpuSample {
    const u = process.cpuUsage();
    const proc = this.available;
    return {
      at: performance.now(),
      node: (u.user + u.system) / 1e6,
      children: proc ? this.childPids().reduce((s, p) => s + (cpuSecondsOf(p) ?? 0), 0) : 0,
      postgres: proc ? this.postgresSeconds() : null,
      kafka: proc ? this.kafkaSeconds() : null,
      machine: proc ? machine() : null,
    };
  }

  static between(a: CpuSample, b: CpuSample): CpuUse {
    const seconds = (b.at - a.at) / 1000;
    const per = (x: number) => Math.max(0, x) / seconds;
    const total = a.machine && b.machine ? b.machine.total - a.machine.total : null;
    return {
      seconds,
      node: per(b.node - a.node),
      children: per(b.children - a.children),
      postgres: a.postgres !== null && b.postgres !== null ? per(b.postgres - a.postgres) : null,
      kafka: a.kafka !== null && b.kafka !== null ? per(b.kafka - a.kafka) : null,
      machine: a.machine && b.machine ? per(b.machine.busy - a.machine.busy) : null,
      machineCores: total !== null ? total / seconds : null,
    };
  }
}
