import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import {
  PostgresCheckpointStore,
  PostgresNotifier,
  lastCommittedEvent,
  type LogPosition,
} from '@hyperfleet/event-store';
import {
  KafkaTransport,
  OutboxRelay,
  PostgresLogTransport,
  topicName,
  CHANNELS,
  type Channel,
  type EventTransport,
  type SubscribeOptions,
  type TransportRecord,
  type TransportSubscription,
} from '@hyperfleet/messaging';
import { PROJECTIONS, wantsFilter } from '@hyperfleet/read-models';
import { ProjectorService } from '@hyperfleet/projector';
import { CpuMeter, takeSql, type CpuUse, type SqlTotals } from './instrument';
import type { LoadStopped } from './load';

/**
 * Live lag: the load generator (load.ts, its own process) appends at a steady rate and stamps each
 * event with the wall-clock time its append committed; consumers run on the real transports
 * (PostgreSQL log: subscriptions with checkpoints, woken by NOTIFY; Kafka: the outbox relay and
 * consumer groups committing offsets), each through a wrapper transport that stamps every event a
 * consumer's handler has finished with. For a projection the handler returns once the projection's
 * transaction has committed, so handled − committed is the time until its rows are written.
 */

export const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const BASELINE_GROUP = 'bench.read-only';
const RELAY = 'outbox relay';
const PROJECTOR_GROUP = (name: string) => `projector.${name}`;

interface Stamps {
  ids: string[];
  at: number[];
  /** Each handler call (each publish, for the relay): when it ended, how long it took, how many records. */
  calls: { end: number[]; ms: number[]; size: number[] };
}

const emptyStamps = (): Stamps => ({ ids: [], at: [], calls: { end: [], ms: [], size: [] } });

/** Delegates to a transport, recording when each device event's handler finished, per group. */
export class StampingTransport implements EventTransport {
  readonly handled = new Map<string, Stamps>();
  private readonly filters = new Map<string, (type: string) => boolean>(
    PROJECTIONS.map((p) => [PROJECTOR_GROUP(p.name), wantsFilter(p)]),
  );

  constructor(readonly inner: EventTransport) {}

  get kind(): 'kafka' | 'postgres-log' {
    return this.inner.kind;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  private stampsOf(group: string): Stamps {
    let s = this.handled.get(group);
    if (!s) this.handled.set(group, (s = emptyStamps()));
    return s;
  }

  /** The outbox relay publishes through here: when its records are in Kafka (acks from all replicas). */
  async publish(channel: Channel, records: readonly TransportRecord[]): Promise<void> {
    const t0 = wall();
    await this.inner.publish(channel, records);
    if (channel !== 'device-events') return;
    const at = wall();
    const s = this.stampsOf(RELAY);
    for (const r of records) {
      s.ids.push(r.event.id);
      s.at.push(at);
    }
    s.calls.end.push(at);
    s.calls.ms.push(at - t0);
    s.calls.size.push(records.length);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  reset(): void {
    for (const [k] of this.handled) this.handled.set(k, emptyStamps());
  }

  subscribe(o: SubscribeOptions): Promise<TransportSubscription> {
    if (o.channel !== 'device-events') return this.inner.subscribe(o);
    // Events a projection does not handle write nothing: they have no lag to measure.
    const wants = this.filters.get(o.group) ?? (() => true);
    return this.inner.subscribe({
      ...o,
      handle: async (batch) => {
        const t0 = wall();
        await o.handle(batch);
        const at = wall();
        const stamps = this.stampsOf(o.group);
        for (const d of batch) {
          if (!wants(d.event.type)) continue;
          stamps.ids.push(d.event.id);
          stamps.at.push(at);
        }
        stamps.calls.end.push(at);
        stamps.calls.ms.push(at - t0);
        stamps.calls.size.push(batch.length);
      },
    });
  }
}

/** The forked load generator. */
export class LoadProcess {
  readonly commits = new Map<string, number>();
  private waiting: ((m: LoadStopped) => void) | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { type: string; ids?: string[]; at?: number[] }) => {
      if (m.type === 'stamps') for (let i = 0; i < m.ids!.length; i++) this.commits.set(m.ids![i], m.at![i]);
      else if (m.type === 'stopped') this.waiting?.(m as unknown as LoadStopped);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(databaseUrl: string, fleetFile: string): Promise<LoadProcess> {
    const child = fork(path.join(__dirname, 'load.js'), [], {
      env: { ...process.env, BENCH_PROJ_DB: databaseUrl, BENCH_PROJ_FLEET: fleetFile },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the load generator exited (${code})`)));
      child.on('message', function ready(m: { type: string; error?: string }) {
        if (m.type === 'ready') {
          child.off('message', ready);
          resolve();
        } else if (m.type === 'failed') reject(new Error(`the load generator failed: ${m.error}`));
      });
    });
    child.removeAllListeners('exit');
    return new LoadProcess(child);
  }

  run(rate: number): void {
    this.child.send({ type: 'run', rate });
  }

  /** The measured interval starts: append latencies and counts from here. */
  mark(): void {
    this.child.send({ type: 'mark' });
  }

  stop(): Promise<LoadStopped> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.child.send({ type: 'stop' });
    });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'exit' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

export interface LagRow {
  consumer: string;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Handler calls (relay: publishes) per second, records per call, and how long a call took. */
  callsPerSecond: number;
  recordsPerCall: number;
  callP50: number;
  callP99: number;
}

export interface LagPhase {
  label: string;
  rate: number;
  projector: boolean;
  rows: LagRow[];
  load: LoadStopped;
  cpu: CpuUse | null;
  sql: SqlTotals;
  seconds: number;
  /** Events each projection applied per second in the measured interval (rm.projection_status). */
  applied: Record<string, number>;
}

export interface LagResult {
  transport: 'postgres-log' | 'kafka';
  phases: LagPhase[];
  notes: string[];
}

function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function lagRow(
  consumer: string,
  s: Stamps | undefined,
  commits: Map<string, number>,
  from: number,
  to: number,
): LagRow {
  const seen = new Set<string>();
  const lags: number[] = [];
  const calls: number[] = [];
  let records = 0;
  if (s) {
    for (let i = 0; i < s.ids.length; i++) {
      const id = s.ids[i];
      const c = commits.get(id);
      if (c === undefined || c < from || c > to || seen.has(id)) continue;
      seen.add(id);
      lags.push(s.at[i] - c);
    }
    for (let i = 0; i < s.calls.end.length; i++) {
      if (s.calls.end[i] < from || s.calls.end[i] > to) continue;
      calls.push(s.calls.ms[i]);
      records += s.calls.size[i];
    }
  }
  lags.sort((a, b) => a - b);
  calls.sort((a, b) => a - b);
  const seconds = (to - from) / 1000;
  return {
    consumer,
    n: lags.length,
    p50: quantile(lags, 0.5),
    p90: quantile(lags, 0.9),
    p99: quantile(lags, 0.99),
    max: lags[lags.length - 1] ?? NaN,
    callsPerSecond: calls.length / seconds,
    recordsPerCall: calls.length ? records / calls.length : NaN,
    callP50: quantile(calls, 0.5),
    callP99: quantile(calls, 0.99),
  };
}

export interface LagOptions {
  pool: Pool;
  load: LoadProcess;
  cpu: CpuMeter;
  rates: number[];
  warmupSeconds: number;
  measureSeconds: number;
  /** Where the read models are: the projector's groups on the PostgreSQL log resume there. */
  readModelsAt: LogPosition;
  brokers?: string[];
  log: (line: string) => void;
}

/**
 * On one transport, at each rate: a read-only consumer alone (the baseline); then the projector
 * (every projection and channel runner: apps/projector's ProjectorService) with the read-only
 * consumer still running beside it, at the same rates.
 */
export async function measureLag(kind: 'postgres-log' | 'kafka', o: LagOptions): Promise<LagResult> {
  const { pool, log } = o;
  const notes: string[] = [];
  const notifier = new PostgresNotifier(pool);
  await notifier.start();
  const checkpoints = new PostgresCheckpointStore(pool);
  const prefix = `hfbench-proj-${Date.now().toString(36)}`;
  let kafkaLines = 0;
  const inner: EventTransport =
    kind === 'kafka'
      ? new KafkaTransport({
          brokers: o.brokers!,
          clientId: 'hf-bench-projections',
          topicPrefix: prefix,
          log: (line) => {
            if (++kafkaLines <= 5) log(`    ${line.slice(0, 200)}`);
          },
        })
      : new PostgresLogTransport({ pool, notifier });
  const transport = new StampingTransport(inner);
  await transport.start();
  let relay: OutboxRelay | null = null;
  const subs: TransportSubscription[] = [];
  let projector: ProjectorService | null = null;
  const phases: LagPhase[] = [];
  try {
    if (kind === 'kafka') {
      // The relay publishes what is appended from now on (its checkpoint at the head), as a relay
      // that has kept up would; the topics are this run's own.
      const head = await lastCommittedEvent(pool);
      if (head) await checkpoints.store('outbox-relay:device-events', null, head);
      relay = new OutboxRelay({ pool, transport, notifier });
      await relay.start();
      const st = await relay.status();
      if (!st.leader)
        throw new Error('the outbox relay did not take the lead (another relay on this database?)');
      if (st.backlog > 1000)
        throw new Error(`the outbox relay starts with a backlog of ${st.backlog} events`);
      notes.push(
        `topics ${topicName('device-events', prefix)} (6 partitions), outbox relay in the projector's process`,
      );
    }
    const baseline = await transport.subscribe({
      group: BASELINE_GROUP,
      channel: 'device-events',
      fromBeginning: kind === 'kafka',
      handle: async () => undefined,
    });
    subs.push(baseline);

    const relayRow = kind === 'kafka' ? [RELAY] : [];
    const phase = async (rate: number, withProjector: boolean, caughtUp: () => Promise<void>) => {
      const label = withProjector ? 'projector + read-only consumer' : 'read-only consumer alone';
      log(
        `  ${kind}, ${rate} events/s: ${label}: ${o.warmupSeconds} s warm-up, ${o.measureSeconds} s measured ...`,
      );
      transport.reset();
      o.load.commits.clear();
      o.load.run(rate);
      await sleep(o.warmupSeconds * 1000);
      const from = wall();
      o.load.mark();
      takeSql();
      const a = o.cpu.sample();
      const statusFrom = await projectionStatus(pool);
      await sleep(o.measureSeconds * 1000);
      const statusTo = await projectionStatus(pool);
      const b = o.cpu.sample();
      const to = wall();
      const sql = takeSql();
      const stopped = await o.load.stop();
      await caughtUp();
      const groups = [
        BASELINE_GROUP,
        ...relayRow,
        ...(withProjector ? PROJECTIONS.map((x) => PROJECTOR_GROUP(x.name)) : []),
      ];
      const rows = groups.map((g) =>
        lagRow(
          g === BASELINE_GROUP ? 'read-only consumer' : g.replace(/^projector\./, ''),
          transport.handled.get(g),
          o.load.commits,
          from,
          to,
        ),
      );
      const seconds = (to - from) / 1000;
      const applied: Record<string, number> = {};
      for (const [name, y] of statusTo) applied[name] = (y - (statusFrom.get(name) ?? y)) / seconds;
      phases.push({
        label,
        rate,
        projector: withProjector,
        rows,
        load: stopped,
        cpu: o.cpu.available ? CpuMeter.between(a, b) : null,
        sql,
        seconds,
        applied,
      });
      log(
        `    appended ${stopped.achieved.toFixed(0)} events/s, append p50 ${stopped.appendP50Ms.toFixed(1)} ms p99 ${stopped.appendP99Ms.toFixed(1)} ms; lag ` +
          rows.map((r) => `${r.consumer} p50 ${r.p50.toFixed(0)} p99 ${r.p99.toFixed(0)} ms`).join(', '),
      );
    };

    for (const rate of o.rates) await phase(rate, false, () => baseline.waitUntilCaughtUp(120_000));

    if (kind === 'postgres-log') {
      // The projector's groups resume where the rebuilds left the read models; the events of the
      // read-only phases are caught up on before the load starts again.
      for (const p of PROJECTIONS) {
        const id = `transport:device-events:${PROJECTOR_GROUP(p.name)}`;
        await checkpoints.reset(id);
        await checkpoints.store(id, null, o.readModelsAt);
      }
    }
    const t0 = performance.now();
    projector = new ProjectorService(pool, transport);
    await projector.onApplicationBootstrap();
    await projector.waitUntilCaughtUp(300_000);
    notes.push(
      `projector started and caught up on the read-only phases' events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const p = projector;
    for (const rate of o.rates) {
      await phase(rate, true, async () => {
        await Promise.all([p.waitUntilCaughtUp(300_000), baseline.waitUntilCaughtUp(300_000)]);
      });
    }
    const parked = await p.deadLetters.counts();
    if (Object.keys(parked).length) notes.push(`parked events: ${JSON.stringify(parked)}`);
  } finally {
    await projector?.onApplicationShutdown().catch(() => undefined);
    for (const s of subs) await s.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await transport.close().catch(() => undefined);
    await notifier.stop().catch(() => undefined);
    if (kind === 'kafka') await dropKafka(o.brokers!, prefix).catch(() => undefined);
  }
  return { transport: kind, phases, notes };
}

async function projectionStatus(pool: Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ projection: string; events_applied: string }>(
    'SELECT projection, events_applied FROM rm.projection_status',
  );
  return new Map(rows.map((r) => [r.projection, Number(r.events_applied)]));
}

/** This run's topics and consumer groups, so the shared broker does not collect them. */
async function dropKafka(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'hf-bench-projections-admin',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(`${prefix}.`));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.deleteTopics({ topics: CHANNELS.map((c) => topicName(c, prefix)) });
  } finally {
    await admin.disconnect();
  }
}
