import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Client } from 'pg';
import { DomainModule, ProvisionDevice } from '@hyperfleet/domain';
import {
  BEHAVIOURS_OFF,
  Fleet,
  deviceIdFor,
  generateDeviceSpec,
  summarize,
  type LatencySummary,
} from '@hyperfleet/fleet-sim';
import {
  EVENT_STORE,
  PlatformModule,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import { DEFAULT_GATEWAY_OPTIONS } from '../apps/device-gateway/src/gateway-options';
import {
  DeviceCredentialStore,
  DeviceIdentityModule,
  generatePassword,
  hashPassword,
} from '../apps/device-gateway/src/identity';
import * as cpu from './ingest/cpu';
import { drive, settle, type DriveResult, type WorkloadKind } from './ingest/driver';
import type { ProfileSummary, SqlStats } from './ingest/instrument';
import {
  hasMosquitto,
  startBenchMosquitto,
  tempDir,
  writeMosquittoFiles,
  freePort,
  type BenchMosquitto,
  BENCH_MOSQUITTO_EXTRA,
} from './ingest/mosquitto';
import { ServerProcess } from './ingest/server-process';
import { bar, benchDatabase, fmt, table } from './support';

/*
 * Ingest, end to end: simulated devices (fleet-sim, one MQTT connection each) publish, the gateway
 * makes the effect durable and replies, the device receives the reply. The same devices and load
 * against a bare subscriber that only answers give the ceiling, on the same broker in the same run.
 * docs/benchmarks.md explains the method and the figures.
 */

type BrokerKind = 'mosquitto' | 'aedes';
type Role = 'gateway' | 'ceiling';

interface ServerStats {
  handled: Record<string, { n: number; meanMs: number; p50Ms: number; p99Ms: number }>;
  eventLoopUtilization: number;
  sql: SqlStats;
  pool: { meanInUse: number; meanWaiting: number; maxWaiting: number } | null;
  sessionPool: { meanInUse: number; meanWaiting: number; maxWaiting: number } | null;
  rssMb: number;
}

interface Measurement {
  broker: BrokerKind;
  role: Role;
  size: number;
  kind: WorkloadKind;
  window: number;
  /** msgs/s of the slowest and the fastest round. */
  range: [number, number];
  result: DriveResult;
  latency: LatencySummary;
  cpu: cpu.CpuUse | null;
  simulatorElu: number;
  server: ServerStats;
  profile?: ProfileSummary;
}

const GATEWAY_USERNAME = 'hyperfleet-gateway';
const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);

function openFileLimit(): number {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

@Module({})
class ProvisioningModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return {
      module: ProvisioningModule,
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        DeviceIdentityModule,
      ],
    };
  }
}

/**
 * Provisions every device the way the API does (ProvisionDevice, then the MQTT credential), so that
 * births are accepted and both brokers authenticate. Returns the passwords and the hashes (for
 * Mosquitto's password file).
 */
async function provision(
  databaseUrl: string,
  fleets: { prefix: string; size: number }[],
): Promise<{ passwords: Map<string, string>; hashes: { deviceId: string; passwordHash: string }[] }> {
  const dataDir = tempDir('hf-bench-prov-');
  const infra = await startInfrastructure(
    loadConfig({ DATABASE_URL: databaseUrl, HF_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }),
    { needsMqtt: false },
  );
  const app = await NestFactory.createApplicationContext(ProvisioningModule.forRoot(infra), {
    logger: ['error', 'warn'],
  });
  try {
    const bus = app.get(CommandBus);
    const credentials = app.get(DeviceCredentialStore);
    const passwords = new Map<string, string>();
    const todo = fleets.flatMap(({ prefix, size }) =>
      Array.from({ length: size }, (_, i) => generateDeviceSpec(SEED, i, deviceIdFor(prefix, i))),
    );
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let spec = todo.pop(); spec; spec = todo.pop()) {
          await bus.execute(
            new ProvisionDevice({
              deviceId: spec.deviceId,
              deviceClass: spec.deviceClass,
              site: spec.site,
              tags: spec.tags,
            }),
          );
          passwords.set(spec.deviceId, (await credentials.issue(spec.deviceId)).password);
          if (++done % 2000 === 0) progress(`    provisioned ${fmt(done)} devices`);
        }
      }),
    );
    progress(`    provisioned ${fmt(done)} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { passwords, hashes: await credentials.activeHashes() };
  } finally {
    await app.close();
    await infra.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const SEED = 7;
/** Whose PostgreSQL CPU is counted: the one this run started, else every postgres process here. */
let pgScope: 'embedded' | 'machine' = 'embedded';
const progress = (line: string) => process.stdout.write(`${line}\n`);
const ms = (v: number | undefined) =>
  v === undefined ? '-' : v < 10 ? `${v.toFixed(1)} ms` : `${fmt(v)} ms`;

export async function ingestBench(seconds: number): Promise<void> {
  const sizes = (env.BENCH_INGEST_DEVICES ?? '1000,10000').split(',').map(Number);
  let brokers = (env.BENCH_INGEST_BROKERS ?? 'mosquitto,aedes').split(',') as BrokerKind[];
  // Both brokers with the gateway's defaults (pools, connections, device concurrency) unless the
  // environment says otherwise (DB_POOL_SIZE, GATEWAY_MQTT_CONNECTIONS, GATEWAY_DEVICE_CONCURRENCY).
  const window = num('BENCH_INGEST_WINDOW', 1000);
  const settings: Record<BrokerKind, { connectRate: number; sizes: number[] }> = {
    mosquitto: { connectRate: num('BENCH_INGEST_CONNECT_RATE', 500), sizes },
    aedes: {
      connectRate: num('BENCH_INGEST_CONNECT_RATE', 500),
      sizes: (env.BENCH_INGEST_AEDES_DEVICES ?? '1000').split(',').map(Number),
    },
  };
  // Rounds per measurement in all, over `passes` turns of ceiling and gateway.
  const passes = Math.max(1, num('BENCH_INGEST_PASSES', 2));
  const roundsPerPass = Math.max(1, Math.ceil(num('BENCH_INGEST_ROUNDS', 4) / passes));
  const rounds = roundsPerPass * passes;
  // Devices between CONNECT and their birth's reply, at most: the gateway takes a few dozen births a
  // second, and a deeper backlog costs it its MQTT connections (docs/benchmarks.md). 0: no limit.
  const maxConnecting = num('BENCH_INGEST_MAX_CONNECTING', 200);
  const connections = num('GATEWAY_MQTT_CONNECTIONS', DEFAULT_GATEWAY_OPTIONS.mqttConnections);
  const telemetryBatch = num('BENCH_INGEST_TELEMETRY_BATCH', 20);
  const warmupMs = Math.min(2000, Math.max(500, seconds * 500));
  const profileDir = env.BENCH_INGEST_PROFILE;
  // Node flags for both servers (gateway and bare subscriber), e.g. to try garbage-collector settings.
  const serverNodeArgs = (env.BENCH_INGEST_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

  if (!hasMosquitto()) {
    progress('  mosquitto is not installed: measuring the embedded aedes broker only');
    brokers = brokers.filter((b) => b !== 'mosquitto');
  }
  const limit = openFileLimit();
  const allSizes = [...new Set(brokers.flatMap((b) => settings[b].sizes))].sort((a, b) => a - b);
  const usable = allSizes.filter((s) => s + 1000 <= limit);
  for (const s of allSizes.filter((x) => !usable.includes(x))) {
    progress(
      `  skipping ${fmt(s)} devices: ulimit -n is ${limit}, the simulator needs one socket per device`,
    );
  }

  progress(
    `  ${os.cpus().length} CPU cores shared by the simulator, the broker, the server and PostgreSQL (and whatever else runs here); ` +
      `best of ${rounds} rounds per measurement, ceiling and gateway taking turns in ${passes} passes`,
  );
  const db = await benchDatabase('ingest');
  const work = tempDir('hf-bench-ingest-');
  const measurements: Measurement[] = [];
  const setupTimes: string[] = [];
  const failures: string[] = [];
  try {
    const fleets = usable.map((size) => ({ size, prefix: `ing${size >= 1000 ? `${size / 1000}k` : size}` }));
    progress(
      `  provisioning ${fmt(fleets.reduce((a, f) => a + f.size, 0))} devices (ProvisionDevice + credential) ...`,
    );
    const { passwords, hashes } = await provision(db.url, fleets);
    const gatewayPassword = generatePassword();
    writeMosquittoFiles(
      work,
      [
        ...hashes.map((h) => ({ username: h.deviceId, passwordHash: h.passwordHash })),
        { username: GATEWAY_USERNAME, passwordHash: await hashPassword(gatewayPassword) },
      ],
      GATEWAY_USERNAME,
    );

    for (const broker of brokers) {
      const { connectRate } = settings[broker];
      for (const { size, prefix } of fleets.filter((f) => settings[broker].sizes.includes(f.size))) {
        const runsOf: Record<Role, Measurement[]> = { ceiling: [], gateway: [] };
        // Ceiling and gateway take turns (passes), so that a slow spell of this machine falls on both.
        for (let pass = 0; pass < passes; pass++)
          for (const role of ['ceiling', 'gateway'] as Role[]) {
            const label = `${broker}, ${fmt(size)} devices, ${role}`;
            const lastPass = pass === passes - 1;
            progress(`  ${label}${passes > 1 ? ` (pass ${pass + 1} of ${passes})` : ''}: starting ...`);
            let logLines = 0;
            // The gateway's own state from an earlier phase (same device ids): each phase starts at epoch 1.
            await resetGatewayState(db.url);
            const mosq =
              broker === 'mosquitto'
                ? await startBenchMosquitto(
                    work,
                    env.BENCH_INGEST_MOSQUITTO_CONF?.replace(/\\n/g, '\n') ?? BENCH_MOSQUITTO_EXTRA,
                  )
                : undefined;
            const server = await ServerProcess.start(
              {
                role,
                broker,
                databaseUrl: db.url,
                mqttUrl: mosq?.gatewayUrl,
                aedesPort: broker === 'aedes' ? await freePort() : undefined,
                gatewayUsername: GATEWAY_USERNAME,
                gatewayPassword,
                connections,
              },
              { MQTT_GATEWAY_PASSWORD: gatewayPassword, MQTT_GATEWAY_USERNAME: GATEWAY_USERNAME },
              (line) => {
                // What the gateway warns about (lost connections, internal errors), a few lines per phase.
                if (++logLines <= 12)
                  progress(`    [${role}] ${line.replace(/^.*?(WARN|ERROR)\s*/, '$1 ').slice(0, 200)}`);
                else if (logLines === 13) progress(`    [${role}] (further log lines not shown)`);
              },
              serverNodeArgs,
            ).catch(async (err) => {
              await mosq?.stop();
              throw err;
            });
            const fleet = new Fleet({
              count: size,
              mqttUrl: mosq?.deviceUrl ?? server.deviceUrl,
              seed: SEED,
              idPrefix: prefix,
              connectRate,
              ...BEHAVIOURS_OFF,
              keepaliveSec: 300,
              // Births queue in the gateway (a few dozen per second): a device waits for its reply
              // instead of publishing again, which would only add work. Measured replies take far less.
              replyTimeoutMs: 600_000,
              validate: false,
              credentialsFor: (id) => passwords.get(id),
            });
            try {
              const t0 = performance.now();
              const ticker = setInterval(() => {
                const st = fleet.counters;
                progress(
                  `    ${((performance.now() - t0) / 1000).toFixed(0)} s: ${fmt(st.devicesConnected)} connected, ${fmt(st.devicesOnline)} online`,
                );
              }, 15_000);
              try {
                await connectPaced(fleet, maxConnecting);
                await fleet.ready(readyTimeoutMs(size, connectRate));
              } catch (err) {
                throw new Error(`${(err as Error).message}\n${explain(fleet, server, mosq)}`);
              } finally {
                clearInterval(ticker);
              }
              await settle(fleet, 120_000);
              const setup = (performance.now() - t0) / 1000;
              if (pass === 0)
                setupTimes.push(
                  `${label}: ${fmt(size)} CONNECTs + births + status online in ${setup.toFixed(1)} s`,
                );
              progress(`    all ${fmt(size)} online after ${setup.toFixed(1)} s`);
              if (mosq?.dropNotices())
                progress(`    the broker dropped messages for ${mosq.dropNotices()} client(s)`);
              const runs = runsOf[role];
              for (let round = 0; round < roundsPerPass; round++)
                for (const kind of ['domain', 'telemetry'] as WorkloadKind[]) {
                  const comps: cpu.Components = {
                    simulator: () => [process.pid],
                    broker: () => (mosq ? [mosq.pid] : []),
                    server: () => [server.pid],
                  };
                  let a: cpu.CpuSample | null = null;
                  let b: cpu.CpuSample | null = null;
                  let eluA = performance.eventLoopUtilization();
                  let simulatorElu = 0;
                  let stats: ServerStats | null = null;
                  let profile: ProfileSummary | undefined;
                  const profiling =
                    profileDir !== undefined && role === 'gateway' && lastPass && round === roundsPerPass - 1;
                  const result = await drive(fleet, kind, {
                    window,
                    warmupMs,
                    measureMs: seconds * 1000,
                    telemetryBatch,
                    onStart: async () => {
                      await server.request('reset');
                      if (profiling) await server.request('profile-start');
                      comps.postgres = () => {
                        const found = cpu.postgresPids();
                        pgScope = found.scope;
                        return found.pids;
                      };
                      if (cpu.available()) a = cpu.sampleCpu(comps);
                      eluA = performance.eventLoopUtilization();
                    },
                    onEnd: async () => {
                      if (cpu.available()) b = cpu.sampleCpu(comps);
                      simulatorElu = performance.eventLoopUtilization(eluA).utilization;
                      stats = await server.request<ServerStats>('stats');
                      if (profiling) {
                        const file =
                          profileDir && profileDir !== '1'
                            ? path.join(profileDir, `${broker}-${size}-${kind}.cpuprofile`)
                            : undefined;
                        profile = await server.request<ProfileSummary>('profile-stop', { file });
                      }
                    },
                  });
                  const m: Measurement = {
                    broker,
                    role,
                    size,
                    kind,
                    window,
                    range: [result.msgsPerSecond, result.msgsPerSecond],
                    result,
                    latency: summarize(result.latency),
                    cpu: a && b ? cpu.cpuBetween(a, b) : null,
                    simulatorElu,
                    server: stats!,
                    profile,
                  };
                  runs.push(m);
                  progress(`    ${kind.padEnd(9)} ${describe(m)}`);
                }
              if (mosq?.dropNotices()) {
                failures.push(
                  `${label}: the broker dropped messages (its queue limit) for ${mosq.dropNotices()} client(s)`,
                );
              }
            } catch (err) {
              failures.push(`${label}: ${(err as Error).message}`);
              progress(`    FAILED: ${(err as Error).message}`);
            } finally {
              const stopping = fleet.stop({ drainTimeoutMs: 0 });
              await server.stop();
              await mosq?.stop();
              await Promise.race([stopping, new Promise((r) => setTimeout(r, 30_000))]);
            }
          }
        // Other people's work on this machine only ever slows a round down: the best round counts.
        for (const role of ['ceiling', 'gateway'] as Role[])
          for (const kind of ['domain', 'telemetry'] as WorkloadKind[]) {
            const mine = runsOf[role].filter((r) => r.kind === kind);
            if (!mine.length) continue;
            const best = mine.reduce((x, y) => (y.result.msgsPerSecond > x.result.msgsPerSecond ? y : x));
            const rates = mine.map((r) => r.result.msgsPerSecond);
            best.range = [Math.min(...rates), Math.max(...rates)];
            best.profile = mine.find((r) => r.profile)?.profile;
            measurements.push(best);
          }
      }
    }
  } finally {
    await db.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  report(measurements, {
    connections,
    seconds,
    rounds,
    passes,
    setupTimes,
  });
  for (const f of failures) progress(`\nFAILED ${f}`);
}

/** Generous: the CONNECTs at their rate, then births through the gateway (a few dozen per second). */
const readyTimeoutMs = (size: number, connectRate: number) =>
  num('BENCH_INGEST_READY_TIMEOUT_MS', (size / connectRate) * 1000 + Math.max(60_000, size * 60));

/** Why a fleet did not come online: its counters and the server's last log lines. */
function explain(fleet: Fleet, server: ServerProcess, mosq?: BenchMosquitto): string {
  const s = fleet.stats();
  return [
    `online ${s.devicesOnline}/${s.devicesTotal}, connected ${s.devicesConnected}, births accepted ${s.birthsAccepted}`,
    `connect errors ${JSON.stringify(s.connectErrorsByReason)}, rejected ${JSON.stringify(s.rejectedByCode)}, timeouts ${s.timedOut}, pending ${s.pending}`,
    ...(mosq?.dropNotices() ? [`the broker dropped messages for ${mosq.dropNotices()} client(s)`] : []),
    `server log: ${server.log().split('\n').slice(-8).join('\n  ')}`,
  ].join('\n    ');
}

/**
 * Starts every device at the fleet's connect rate, but keeps at most `max` of them between CONNECT
 * and the reply to their birth, so that births never queue deeper than the gateway drains them.
 */
async function connectPaced(fleet: Fleet, max: number): Promise<void> {
  if (!(max > 0)) return fleet.start();
  const waiting = fleet.devices();
  const c = fleet.counters;
  while (waiting.length) {
    const started = fleet.options.count - waiting.length;
    const room = max - (started - c.birthsAccepted);
    for (let i = 0; i < room && waiting.length; i++) void waiting.shift()!.start();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function resetGatewayState(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('TRUNCATE hf.device_sessions, hf.device_messages');
  } catch {
    // Not created yet: the gateway's migrations run when it first starts.
  } finally {
    await c.end();
  }
}

function describe(m: Measurement): string {
  const r = m.result;
  const extra = [
    r.rejected ? `rejected ${fmt(r.rejected)} ${JSON.stringify(r.rejectedByCode)}` : '',
    r.timeouts ? `timeouts ${fmt(r.timeouts)}` : '',
    r.dropped ? `dropped ${fmt(r.dropped)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const c = m.cpu;
  const cores = c
    ? ` | CPU sim ${c.cores.simulator.toFixed(2)} broker ${(c.cores.broker ?? 0).toFixed(2)} server ${c.cores.server.toFixed(2)} pg ${(c.cores.postgres ?? 0).toFixed(2)} machine ${c.machineBusyCores.toFixed(2)}/${c.machineCores.toFixed(0)}`
    : '';
  return `${fmt(r.msgsPerSecond)} msgs/s, p50 ${ms(m.latency.p50Ms)}, p99 ${ms(m.latency.p99Ms)}${extra ? `, ${extra}` : ''}${cores}`;
}

function report(
  all: Measurement[],
  o: { connections: number; seconds: number; rounds: number; passes: number; setupTimes: string[] },
): void {
  const find = (broker: BrokerKind, size: number, role: Role, kind: WorkloadKind) =>
    all.find((m) => m.broker === broker && m.size === size && m.role === role && m.kind === kind);
  const target: Record<WorkloadKind, number> = { domain: 0.25, telemetry: 0.6 };
  const spread = (m: Measurement) =>
    o.rounds > 1 ? `${fmt(m.range[0])}–${fmt(m.range[1])}` : fmt(m.result.msgsPerSecond);
  const other = (m: Measurement) =>
    m.cpu ? Math.max(0, m.cpu.machineBusyCores - Object.values(m.cpu.cores).reduce((a, v) => a + v, 0)) : 0;
  const rows: (string | number)[][] = [];
  const bars: string[] = [];
  const verdicts: string[] = [];
  const groups = [...new Set(all.map((m) => `${m.broker}|${m.size}`))].map((g) => g.split('|'));
  for (const [broker, sizeText] of groups as [BrokerKind, string][]) {
    const size = Number(sizeText);
    const devices = fmt(size);
    const row = (m: Measurement, what: string, ratio: string, notes: string) =>
      rows.push([
        broker,
        devices,
        m.window,
        what,
        fmt(m.result.msgsPerSecond),
        ms(m.latency.p50Ms),
        ms(m.latency.p99Ms),
        ratio,
        spread(m),
        other(m).toFixed(2),
        notes,
      ]);
    for (const kind of ['domain', 'telemetry'] as WorkloadKind[]) {
      const g = find(broker, size, 'gateway', kind);
      const c = find(broker, size, 'ceiling', kind);
      if (!g || !c) continue;
      const ratio = g.result.msgsPerSecond / c.result.msgsPerSecond;
      const notes = [
        g.result.rejected
          ? `${fmt(g.result.rejected)} rejected ${JSON.stringify(g.result.rejectedByCode)}`
          : '',
        g.result.timeouts ? `${fmt(g.result.timeouts)} timeouts` : '',
      ]
        .filter(Boolean)
        .join(', ');
      row(g, kind, `${(ratio * 100).toFixed(0)}%`, notes);
      const ok = ratio >= target[kind];
      bars.push(
        `  ${broker.padEnd(9)} ${devices.padStart(6)} ${kind.padEnd(9)} ${bar(ratio)} ${(ratio * 100).toFixed(0).padStart(3)}%  (target ${target[kind] * 100}%: ${ok ? 'met' : 'NOT met'})`,
      );
      verdicts.push(
        `${broker} ${devices} devices ${kind}: ${(ratio * 100).toFixed(0)}% ${ok ? 'MET' : 'NOT MET'}`,
      );
    }
    for (const kind of ['domain', 'telemetry'] as WorkloadKind[]) {
      const c = find(broker, size, 'ceiling', kind);
      if (!c) continue;
      row(
        c,
        `ceiling, ${kind === 'domain' ? 'health+vm-state' : 'telemetry'} payloads`,
        '100%',
        c.result.rejected || c.result.timeouts
          ? `${c.result.rejected} rejected, ${c.result.timeouts} timeouts`
          : '',
      );
    }
  }

  progress(
    `\nIngest end to end: device PUBLISH → effect durable → reply received by the device. Closed loop: "in flight"`,
  );
  progress(
    `messages across the fleet (one per device at most); ${o.seconds} s measured after a warm-up, best of ${o.rounds} rounds (range shown), in ${o.passes} passes of ceiling then gateway.`,
  );
  progress(
    `Ceiling: a bare mqtt.js subscriber (${o.connections} MQTT 5 connections in a shared subscription, like the gateway) that reads`,
  );
  progress(
    'the msgId and publishes a bare reply: the same device-side round trip without processing. aedes: the broker in the',
  );
  progress(
    'server process answering in authorizePublish, like the gateway there. Gateway defaults. Everything shares 2 cores;',
  );
  progress(
    '"other" = cores used by processes that are not part of the benchmark during the measured interval.\n',
  );
  progress(
    table(
      [
        'broker',
        'devices',
        'in flight',
        'messages',
        'msgs/s',
        'p50',
        'p99',
        'ratio',
        'range msgs/s',
        'other',
        'notes',
      ],
      rows,
    ),
  );
  progress('\nGateway as a share of the ceiling (same broker, devices, payloads and window):');
  for (const b of bars) progress(b);

  progress('\nWhere the time goes (the best rounds; cores = CPU seconds per second, of 2):');
  if (pgScope === 'machine')
    progress(
      "  (postgres: every PostgreSQL process on this machine, not only this run's: DATABASE_URL or a shared server)",
    );
  const cpuRows = all.map((m) => {
    const c = m.cpu;
    const x = m.result.msgsPerSecond || 1;
    const handled = Object.values(m.server.handled).reduce(
      (acc, h) => ({ n: acc.n + h.n, sum: acc.sum + h.meanMs * h.n }),
      { n: 0, sum: 0 },
    );
    return [
      `${m.broker} ${fmt(m.size)} ${m.role} ${m.kind}`,
      c ? c.cores.simulator.toFixed(2) : '-',
      `${(m.simulatorElu * 100).toFixed(0)}%`,
      c ? (m.broker === 'mosquitto' ? (c.cores.broker ?? 0).toFixed(2) : 'in server') : '-',
      c ? c.cores.server.toFixed(2) : '-',
      `${(m.server.eventLoopUtilization * 100).toFixed(0)}%`,
      c ? (c.cores.postgres ?? 0).toFixed(2) : '-',
      other(m).toFixed(2),
      c ? ((c.cores.server * 1000) / x).toFixed(2) : '-',
      c ? (((c.cores.postgres ?? 0) * 1000) / x).toFixed(2) : '-',
      handled.n ? `${(handled.sum / handled.n).toFixed(1)} ms` : '-',
      m.server.sql.statements ? (m.server.sql.statements / Math.max(1, handled.n)).toFixed(1) : '-',
      m.server.sql.statements ? `${(m.server.sql.ms / Math.max(1, handled.n)).toFixed(1)} ms` : '-',
      m.server.sessionPool ? m.server.sessionPool.meanWaiting.toFixed(1) : '-',
      m.server.pool ? m.server.pool.meanWaiting.toFixed(1) : '-',
    ];
  });
  progress(
    table(
      [
        'run',
        'sim',
        'sim loop',
        'broker',
        'server',
        'server loop',
        'postgres',
        'other',
        'server CPU ms/msg',
        'pg CPU ms/msg',
        'server time/msg',
        'SQL/msg',
        'SQL time/msg',
        'session waiters',
        'pool waiters',
      ],
      cpuRows,
    ),
  );
  for (const m of all.filter((x) => x.profile)) {
    const p = m.profile!;
    progress(
      `\nCPU profile of the gateway process, ${m.broker} ${fmt(m.size)} ${m.kind} (self time by area):`,
    );
    for (const a of p.byArea.slice(0, 12))
      progress(`  ${a.area.padEnd(40)} ${(a.share * 100).toFixed(1).padStart(5)}%`);
    progress('  hottest Hyperfleet functions (inclusive):');
    for (const f of p.topInclusive.slice(0, 12))
      progress(`  ${f.fn.slice(0, 90).padEnd(90)} ${(f.share * 100).toFixed(1).padStart(5)}%`);
  }
  if (env.BENCH_INGEST_VERBOSE) {
    for (const m of all.filter((x) => x.role === 'gateway')) {
      progress(
        `\nSQL in the measured interval, ${m.broker} ${fmt(m.size)} ${m.kind} (statements, total ms):`,
      );
      const entries = Object.entries(m.server.sql.byLabel).sort((a, b) => b[1].n - a[1].n);
      for (const [k, v] of entries)
        progress(`  ${k.padEnd(40)} ${fmt(v.n).padStart(8)} ${fmt(v.ms).padStart(8)}`);
      for (const [k, h] of Object.entries(m.server.handled))
        progress(`  handled ${k}: ${fmt(h.n)}, mean ${ms(h.meanMs)}, p50 ${ms(h.p50Ms)}, p99 ${ms(h.p99Ms)}`);
    }
  }
  progress(`\nSetup (not measured):\n  ${o.setupTimes.join('\n  ')}`);
  progress(
    `\nTargets: domain messages >= 25% of the ceiling, telemetry >= 60%: ${verdicts.length && verdicts.every((v) => !v.endsWith('NOT MET')) ? 'MET' : 'NOT MET'}`,
  );
  for (const v of verdicts) progress(`  ${v}`);
}
