import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import {
  LOG_START,
  PostgresCheckpointStore,
  lastCommittedEvent,
  readAllWith,
  type LogPosition,
} from '@hyperfleet/event-store';
import {
  PROJECTIONS,
  rebuildProjection,
  type Projection,
  migrateProjectionDatabase,
} from '@hyperfleet/read-models';
import { appendHistory } from './projections/append';
import { FleetLog } from './projections/fleet-log';
import {
  CpuMeter,
  instrumentSql,
  otherCores,
  sqlCount,
  sqlMs,
  takeSql,
  takeSqlDetail,
  type CpuUse,
  type SqlTotals,
} from './projections/instrument';
import { LoadProcess, measureLag, type LagResult } from './projections/lag';
import { bar, benchDatabase, fmt, table } from './support';

/*
 * Projections: (1) rebuilding each projection from a realistic log of a million events against a
 * consumer that only reads the same log in the same batches and stores a checkpoint per batch; (2)
 * live lag, append commit → projection rows written, under a steady append rate, on the PostgreSQL
 * log and (KAFKA_BROKERS) on Kafka, against a read-only consumer on the same transport.
 * docs/benchmarks.md ("Projections") explains the method and the figures.
 */

const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const progress = (line: string) => process.stdout.write(`${line}\n`);
const SEED = 7;
const READ_ONLY_ID = 'bench:read-only';

interface Run {
  label: string;
  logEvents: number;
  applied: number;
  seconds: number;
  sql: SqlTotals;
  applyMs: number;
  cpu: CpuUse | null;
  /** WAL written meanwhile: the whole server's, so also other work's when the server is shared. */
  walBytes: number;
  /** Size of the projection's tables (with indexes) after the rebuild, and of its dedupe positions. */
  tableBytes: number;
  /** The projection's statements, by what they do to which table. */
  detail: SqlTotals;
  /** A rebuild's baseline: the faster of the read-only runs just before and just after it. */
  baseline?: number;
}

const walLsn = async (pool: Pool) =>
  (await pool.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
const walSince = async (pool: Pool, lsn: string) =>
  Number(
    (await pool.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS d', [lsn]))
      .rows[0].d,
  );

const tableSize = async (pool: Pool, p: Projection) =>
  Number(
    (
      await pool.query<{ b: string }>(
        `SELECT coalesce(sum(pg_total_relation_size(format('rm.%I', t))), 0)
              + (SELECT coalesce(sum(pg_column_size(x.*)), 0) FROM rm.projection_positions x WHERE projection = $2) AS b
           FROM unnest($1::text[]) AS t`,
        [p.tables, p.name],
      )
    ).rows[0].b,
  );

const perSecond = (r: Run) => r.logEvents / r.seconds;

export async function projectionsBench(_seconds: number): Promise<void> {
  const total = num('BENCH_EVENTS', 1_000_000);
  const devices = num('BENCH_PROJ_DEVICES', Math.max(50, Math.round(total / 200)));
  const batchSize = num('BENCH_PROJ_BATCH', 2000);
  const rates = (env.BENCH_PROJ_RATES ?? '250,1000,5000')
    .split(',')
    .map(Number)
    .filter((r) => r > 0);
  const measureSeconds = num('BENCH_PROJ_LAG_SECONDS', 20);
  const warmupSeconds = num('BENCH_PROJ_WARMUP_SECONDS', 5);
  const noop = env.BENCH_PROJ_NOOP !== '0';
  const chosen = env.BENCH_PROJ_REBUILD ? env.BENCH_PROJ_REBUILD.split(',') : PROJECTIONS.map((p) => p.name);
  const brokers = env.KAFKA_BROKERS
    ? env.KAFKA_BROKERS.split(',')
        .map((b) => b.trim())
        .filter(Boolean)
    : null;
  const started = performance.now();

  progress(
    `  ${os.cpus().length} CPU cores shared by this process, the load generator, PostgreSQL${brokers ? ', Kafka' : ''} and anything else running here`,
  );
  instrumentSql();
  const db = await benchDatabase('projections');
  const pool = new Pool({ connectionString: db.url, max: 20 });
  pool.on('error', () => undefined);
  let load: LoadProcess | null = null;
  const fleetFile = path.join(os.tmpdir(), `hf-bench-projections-${process.pid}.json`);
  const runs: Run[] = [];
  const lags: LagResult[] = [];
  let history = { events: 0, appends: 0, seconds: 0, streams: 0, mix: [] as [string, number][] };
  try {
    await migrateProjectionDatabase(pool, db.url);
    const cpu = CpuMeter.start(new URL(db.url).pathname.slice(1), () => (load ? [load.pid] : []));

    // ---- the history
    progress(`  generating ${fmt(total)} events of ${fmt(devices)} devices through hf.append_events ...`);
    let t = performance.now();
    const fleet = FleetLog.create(SEED, devices);
    progress(
      `    ${fmt(devices)} device specs (fleet-sim) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const h = await appendHistory(pool, fleet.history(total), {
      onProgress: (events, s) =>
        progress(`    ${fmt(events)} events, ${s.toFixed(0)} s, ${fmt(events / s)} events/s`),
    });
    t = performance.now();
    await pool.query('VACUUM (ANALYZE) hf.events, hf.streams');
    const { rows: mix } = await pool.query<{ event_type: string; n: string }>(
      'SELECT event_type, count(*) AS n FROM hf.events GROUP BY 1 ORDER BY 2 DESC',
    );
    const { rows: streams } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM hf.streams');
    history = {
      ...h,
      streams: Number(streams[0].n),
      mix: mix.map((r) => [r.event_type, Number(r.n)]),
    };
    progress(
      `    ${fmt(h.events)} events (${fmt(h.appends)} appends, ${fmt(history.streams)} streams) in ${h.seconds.toFixed(1)} s, ` +
        `${fmt(h.events / h.seconds)} events/s; VACUUM ANALYZE ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const logEvents = h.events;

    // ---- rebuilds, each between two read-only baselines (the machine's load drifts)
    const targets: [Projection, string][] = PROJECTIONS.filter((x) => chosen.includes(x.name)).map((p) => [
      p,
      p.name,
    ]);
    if (noop) {
      const floor: Projection = {
        name: 'bench-noop',
        tables: [],
        handles: 'all',
        apply: async () => undefined,
      };
      targets.push([floor, 'no-op projection, every event (framework only)']);
    }
    let baselines = 0;
    const baseline = () =>
      readOnly(pool, batchSize, logEvents, cpu, `read-only consumer (baseline #${++baselines})`);
    let before = await baseline();
    runs.push(before);
    for (const [p, label] of targets) {
      const r = await rebuild(pool, p, batchSize, logEvents, cpu, label);
      const after = await baseline();
      r.baseline = Math.max(perSecond(before), perSecond(after));
      runs.push(r, after);
      before = after;
    }

    // ---- live lag
    const readModelsAt: LogPosition = (await lastCommittedEvent(pool)) ?? LOG_START;
    fs.writeFileSync(fleetFile, JSON.stringify(fleet.snapshot()));
    if (rates.length) load = await LoadProcess.start(db.url, fleetFile);
    const lagOptions = {
      pool,
      load: load!,
      cpu,
      rates,
      warmupSeconds,
      measureSeconds,
      readModelsAt,
      log: progress,
    };
    if (rates.length) lags.push(await measureLag('postgres-log', lagOptions));
    if (brokers && rates.length) lags.push(await measureLag('kafka', { ...lagOptions, brokers }));
    else progress('  KAFKA_BROKERS is not set: live lag on the PostgreSQL log only');
  } finally {
    await load?.exit().catch(() => undefined);
    fs.rmSync(fleetFile, { force: true });
    await pool.end();
    await db.close();
  }
  report({ runs, lags, history, batchSize, total, devices, minutes: (performance.now() - started) / 60_000 });
}

async function readOnly(
  pool: Pool,
  batchSize: number,
  logEvents: number,
  cpu: CpuMeter,
  label: string,
): Promise<Run> {
  progress(`  ${label} ...`);
  const checkpoints = new PostgresCheckpointStore(pool);
  await checkpoints.reset(READ_ONLY_ID);
  const lsn = await walLsn(pool);
  takeSql();
  takeSqlDetail();
  const a = cpu.sample();
  const t0 = performance.now();
  let position = LOG_START;
  let stored: LogPosition | null = null;
  let read = 0;
  for (;;) {
    const batch = await readAllWith(pool, { after: position, batchSize });
    if (batch.events.length) {
      await checkpoints.store(READ_ONLY_ID, stored, batch.position);
      stored = batch.position;
    }
    position = batch.position;
    read += batch.events.length;
    if (!batch.maybeMore) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const r: Run = {
    label,
    logEvents: read,
    applied: 0,
    seconds,
    sql: takeSql(),
    detail: takeSqlDetail(),
    applyMs: 0,
    cpu: cpu.available ? CpuMeter.between(a, cpu.sample()) : null,
    walBytes: await walSince(pool, lsn),
    tableBytes: 0,
  };
  if (read !== logEvents) throw new Error(`the read-only consumer read ${read} events of ${logEvents}`);
  progress(`    ${fmt(read)} events in ${seconds.toFixed(1)} s: ${fmt(perSecond(r))} events/s`);
  return r;
}

async function rebuild(
  pool: Pool,
  p: Projection,
  batchSize: number,
  logEvents: number,
  cpu: CpuMeter,
  label: string,
): Promise<Run> {
  progress(`  rebuilding ${label} ...`);
  let applyMs = 0;
  // The projection as it is, with its apply timed (its SQL is told apart by the SQL counters).
  const timed: Projection = {
    ...p,
    apply: async (events, sql, ctx) => {
      const s = performance.now();
      try {
        await p.apply(events, sql, ctx);
      } finally {
        applyMs += performance.now() - s;
      }
    },
  };
  const lsn = await walLsn(pool);
  takeSql();
  takeSqlDetail();
  const a = cpu.sample();
  let lastLine = performance.now();
  const result = await rebuildProjection(pool, timed, {
    batchSize,
    onProgress: (x) => {
      if (performance.now() - lastLine < 15_000) return;
      lastLine = performance.now();
      progress(`    ${fmt(x.read)}/${fmt(x.total)} handled events read, ${fmt(x.eventsPerSecond)}/s`);
    },
  });
  const r: Run = {
    label,
    logEvents,
    applied: result.applied,
    seconds: result.seconds,
    sql: takeSql(),
    detail: takeSqlDetail(),
    applyMs,
    cpu: cpu.available ? CpuMeter.between(a, cpu.sample()) : null,
    walBytes: await walSince(pool, lsn),
    tableBytes: await tableSize(pool, p),
  };
  progress(
    `    ${fmt(result.applied)} events applied, ${fmt(logEvents)} read in ${result.seconds.toFixed(1)} s: ${fmt(perSecond(r))} log events/s`,
  );
  return r;
}

// ------------------------------------------------------------------------------------------ report

const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? `${v.toFixed(1)} ms` : `${fmt(v)} ms`);
const cores = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2));

function report(o: {
  runs: Run[];
  lags: LagResult[];
  history: { events: number; appends: number; seconds: number; streams: number; mix: [string, number][] };
  batchSize: number;
  total: number;
  devices: number;
  minutes: number;
}): void {
  const { runs, history } = o;
  progress(
    `\nThe log: ${fmt(history.events)} events of ${fmt(o.devices)} simulated devices (fleet-sim boards and RT VMs), ` +
      `${fmt(history.appends)} appends (one per command, exact expected version) on ${fmt(history.streams)} streams,`,
  );
  progress(
    `written in ${history.seconds.toFixed(0)} s (${fmt(history.events / history.seconds)} events/s). Mix: ` +
      history.mix
        .slice(0, 8)
        .map(([t, n]) => `${t} ${((n / history.events) * 100).toFixed(1)}%`)
        .join(', ') +
      `, ${history.mix.length - 8} other types.`,
  );

  // ---- rebuild
  const rebuilds = runs.filter((r) => r.baseline !== undefined);
  const ratioOf = (r: Run) => perSecond(r) / r.baseline!;
  progress(
    `\nRebuild of ${fmt(history.events)} events (rebuildProjection, batches of ${fmt(o.batchSize)}), log events per second.`,
  );
  progress(
    `Baseline: a consumer that reads the same log in the same batches (readAllWith) and stores a checkpoint per batch`,
  );
  progress(
    '(PostgresCheckpointStore), nothing else; measured before and after each rebuild, the faster of the two counts.',
  );
  progress(
    'CPU in cores (CPU seconds per second): this process, PostgreSQL, and "other" (whatever else ran meanwhile).\n',
  );
  progress(
    table(
      [
        'run',
        'events applied',
        'seconds',
        'log events/s',
        'ratio',
        'ms/batch',
        'WAL MB',
        'table MB',
        'node',
        'postgres',
        'other',
        'machine',
      ],
      runs.map((r) => [
        r.label,
        r.applied ? fmt(r.applied) : '-',
        r.seconds.toFixed(1),
        fmt(perSecond(r)),
        r.baseline === undefined ? 'baseline' : `${(ratioOf(r) * 100).toFixed(0)}%`,
        ((r.seconds * 1000) / Math.ceil(r.logEvents / o.batchSize)).toFixed(1),
        (r.walBytes / 2 ** 20).toFixed(0),
        r.tableBytes ? (r.tableBytes / 2 ** 20).toFixed(0) : '-',
        cores(r.cpu?.node),
        cores(r.cpu?.postgres),
        cores(otherCores(r.cpu)),
        r.cpu?.machine != null ? `${r.cpu.machine.toFixed(2)}/${r.cpu.machineCores?.toFixed(0)}` : '-',
      ]),
    ),
  );
  progress('\nRebuild as a share of the read-only baseline (target >= 30%):');
  for (const r of rebuilds) {
    const ratio = ratioOf(r);
    progress(`  ${r.label.slice(0, 34).padEnd(34)} ${bar(ratio)} ${(ratio * 100).toFixed(0).padStart(3)}%`);
  }

  progress(
    '\nWhere the time goes (seconds; the read-only loop is sequential, so its parts add up; a rebuild reads the log while\n' +
      'it fills the shadow, and an order-independent projection fills on two connections, so its parts add up to more):',
  );
  const rows = runs.map((r) => {
    const sqlTotal = Object.values(r.sql).reduce((s, v) => s + v.ms, 0);
    const projSql = sqlMs(r.sql, 'projection');
    const projJs = Math.max(0, r.applyMs - projSql);
    const rest = Math.max(0, r.seconds * 1000 - sqlTotal - projJs);
    const s = (v: number) => (v / 1000).toFixed(1);
    return [
      r.label.slice(0, 40),
      r.seconds.toFixed(1),
      s(sqlMs(r.sql, 'read log')),
      s(sqlMs(r.sql, 'checkpoint')),
      s(sqlMs(r.sql, 'begin/commit')),
      s(sqlMs(r.sql, 'lock')),
      s(sqlMs(r.sql, 'dedupe read', 'dedupe write')),
      s(sqlMs(r.sql, 'status')),
      s(projSql),
      s(projJs),
      s(sqlMs(r.sql, 'setup/swap')),
      s(rest),
      fmt(sqlCount(r.sql)),
    ];
  });
  progress(
    table(
      [
        'run',
        'wall',
        'read log',
        'checkpoint',
        'begin+commit',
        'lock',
        'dedupe positions',
        'status',
        'projection SQL',
        'projection JS',
        'setup+swap',
        'other JS',
        'statements',
      ],
      rows,
    ),
  );
  progress(
    '"read log": the query and pg\'s parsing of its rows; "projection JS": apply() minus its SQL; "other JS": the loop,\n' +
      "fromRecorded and filtering. begin+commit (COMMIT waits for the batch's WAL flush), lock, dedupe positions and status\n" +
      "are the framework's per-batch statements.",
  );
  progress("\nThe projections' own statements (count, total seconds, mean per call):");
  for (const r of rebuilds) {
    const top = Object.entries(r.detail).sort((a, b) => b[1].ms - a[1].ms);
    if (!top.length) continue;
    progress(
      `  ${r.label.slice(0, 24).padEnd(24)} ` +
        top
          .slice(0, 5)
          .map(([k, v]) => `${k} ${fmt(v.n)}× ${(v.ms / 1000).toFixed(1)} s ${(v.ms / v.n).toFixed(1)} ms`)
          .join('; '),
    );
  }

  // ---- lag
  for (const l of o.lags) {
    progress(
      `\nLive lag on ${l.transport === 'kafka' ? 'Kafka (outbox relay → topic → consumer groups)' : 'the PostgreSQL log (subscriptions woken by NOTIFY)'}: ` +
        'append commit → handler done (for a projection: its transaction committed).',
    );
    progress(
      `Steady load (one append per command, from a separate process), ${l.phases[0]?.seconds.toFixed(0)} s measured per phase after a warm-up.`,
    );
    progress(
      'Baseline: a read-only consumer alone on the same transport at the same rate. "calls": handler calls (relay: publishes).',
    );
    for (const rate of [...new Set(l.phases.map((p) => p.rate))]) {
      const alone = l.phases.find((p) => p.rate === rate && !p.projector);
      const withProjector = l.phases.find((p) => p.rate === rate && p.projector);
      if (!alone) continue;
      const baseRow = alone.rows[0];
      const name = (ph: typeof alone, consumer: string) =>
        consumer === 'read-only consumer'
          ? ph === alone
            ? 'read-only consumer (baseline)'
            : 'read-only consumer, beside the projector'
          : consumer === 'outbox relay'
            ? `outbox relay: in Kafka (${ph === alone ? 'baseline' : 'projector'} phase)`
            : consumer;
      const tableRows: (string | number)[][] = [];
      const phases = withProjector ? [alone, withProjector] : [alone];
      for (const ph of phases) {
        for (const r of ph.rows) {
          const component = r.consumer === 'outbox relay';
          tableRows.push([
            name(ph, r.consumer),
            fmt(r.n),
            ms(r.p50),
            ms(r.p90),
            ms(r.p99),
            ms(r.max),
            component ? '-' : `${(r.p50 / baseRow.p50).toFixed(1)}×`,
            component ? '-' : `${(r.p99 / baseRow.p99).toFixed(1)}×`,
            r.callsPerSecond.toFixed(1),
            Number.isNaN(r.recordsPerCall) ? '-' : r.recordsPerCall.toFixed(1),
            ms(r.callP50),
            ms(r.callP99),
          ]);
        }
      }
      progress(`\n${fmt(rate)} events/s:`);
      progress(
        table(
          [
            'consumer',
            'events',
            'p50',
            'p90',
            'p99',
            'max',
            'p50 ratio',
            'p99 ratio',
            'calls/s',
            'records/call',
            'call p50',
            'call p99',
          ],
          tableRows,
        ),
      );
      const all = phases.flatMap((ph) => ph.rows.map((r) => ({ ph, r })));
      const maxP99 = Math.max(...all.map(({ r }) => r.p99).filter((x) => !Number.isNaN(x)));
      progress(`p99 lag at ${fmt(rate)} events/s (bar = share of the largest, ${ms(maxP99)}):`);
      for (const { ph, r } of all) {
        const label = name(ph, r.consumer)
          .replace(' consumer', '')
          .replace(' the projector', '')
          .replace(': in Kafka', '');
        progress(`  ${label.slice(0, 34).padEnd(34)} ${bar(r.p99 / maxP99)} ${ms(r.p99)}`);
      }
    }
    progress(
      '\nLoad and CPU per phase (cores = CPU seconds per second; "other": whatever else ran on the machine):',
    );
    progress(
      table(
        [
          'phase',
          'appended/s',
          'append p50',
          'append p99',
          'node (consumers)',
          'load generator',
          'postgres',
          'kafka',
          'other',
          'machine',
          'statements/s',
        ],
        l.phases.map((ph) => [
          `${fmt(ph.rate)}/s ${ph.label}`,
          fmt(ph.load.achieved),
          ms(ph.load.appendP50Ms),
          ms(ph.load.appendP99Ms),
          cores(ph.cpu?.node),
          cores(ph.cpu?.children),
          cores(ph.cpu?.postgres),
          cores(ph.cpu?.kafka),
          cores(otherCores(ph.cpu)),
          ph.cpu?.machine != null ? `${ph.cpu.machine.toFixed(2)}/${ph.cpu.machineCores?.toFixed(0)}` : '-',
          fmt(sqlCount(ph.sql) / ph.seconds),
        ]),
      ),
    );
    for (const ph of l.phases.filter((p) => p.projector)) {
      progress(
        `  ${fmt(ph.rate)}/s, projector phase, SQL of this process by kind (count/s, mean): ` +
          Object.entries(ph.sql)
            .sort((a, b) => b[1].n - a[1].n)
            .map(([k, v]) => `${k} ${fmt(v.n / ph.seconds)}/s ${(v.ms / v.n).toFixed(1)} ms`)
            .join(', '),
      );
    }
    for (const n of l.notes) progress(`  ${n}`);
  }

  // ---- verdict
  const verdicts = rebuilds
    .filter((r) => !r.label.startsWith('no-op'))
    .map((r) => ({ r, ratio: ratioOf(r) }));
  const ok = verdicts.every((v) => v.ratio >= 0.3);
  progress(
    `\nTarget: every projection's rebuild >= 30% of the read-only baseline: ${verdicts.length === 0 ? 'no rebuild measured (BENCH_PROJ_REBUILD)' : ok ? 'MET' : 'NOT MET'}`,
  );
  for (const v of verdicts) {
    progress(`  ${v.r.label}: ${(v.ratio * 100).toFixed(0)}% ${v.ratio >= 0.3 ? 'MET' : 'NOT MET'}`);
  }
  progress('Live lag has no target in issue 5: reported above against its baseline.');
  progress(`(${o.minutes.toFixed(1)} minutes in all)`);
}
