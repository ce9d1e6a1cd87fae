/**
 * `npm run bench -- commands` (issue 9):
 *
 * 1. Operator command → device ack → visible as succeeded in GET /api/v1/commands/{id}, at 1,000
 *    simulated devices (fleet-sim, real MQTT over the all-in-one's aedes broker) and 100 commands/s,
 *    p50/p99, against a baseline measured in the same run: the same devices answering a bare MQTT
 *    publish → cmd-ack round trip (a command straight on the broker, no backend on the path).
 * 2. A bulk command to 10,000 registry devices (provisioned, Service VM booted; no MQTT): the 202,
 *    and every device's command decided by the domain ("fanned out"), in < 5 s.
 *
 * BENCH_COMMAND_DEVICES, BENCH_COMMAND_RATE and BENCH_BULK_DEVICES change the sizes; the operator
 * phase runs max(BENCH_SECONDS, 10) s.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { connect, type MqttClient } from 'mqtt';
import { Client, type Pool } from 'pg';
import { TOPIC_ROOT, buildCommand, encodeCommand } from '@hyperfleet/contracts';
import { DomainModule, ProvisionDevice, ReportServiceVmBooted } from '@hyperfleet/domain';
import { BEHAVIOURS_OFF, Fleet } from '@hyperfleet/fleet-sim';
import {
  EVENT_STORE,
  PG_POOL,
  PlatformModule,
  forEachLimited,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import { hasMosquitto, runAsCurrentUser, spawnMosquitto } from '../libs/testing/src/mosquitto';
import { freePort } from '../libs/testing/src/process';
import { benchDatabase, fmt, table } from './support';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Latencies {
  readonly label: string;
  readonly ms: number[];
  failed: number;
}

function summary(l: Latencies): (string | number)[] {
  const s = [...l.ms].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  return [
    l.label,
    s.length,
    l.failed,
    f(percentile(s, 50)),
    f(percentile(s, 90)),
    f(percentile(s, 99)),
    f(s[s.length - 1] ?? NaN),
  ];
}

/** Fires `rate` operations per second for `seconds` (open loop: a slow answer does not slow the schedule). */
async function openLoop(rate: number, seconds: number, op: (i: number) => Promise<void>): Promise<void> {
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(op(i));
  }
  await Promise.all(running);
}

/** The all-in-one (dist/apps/fleet) as its own process, as `npm start` runs it; the bench talks HTTP. */
interface FleetServer {
  readonly base: string;
  request(method: string, url: string, body?: unknown): Promise<{ status: number; body: Body }>;
  stop(): Promise<void>;
}

// Response bodies are read loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

async function startFleetServer(env: Record<string, string>): Promise<FleetServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-commands-'));
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HTTP_PORT: String(port), HF_DATA_DIR: dataDir };
  delete childEnv.KAFKA_BROKERS;
  Object.assign(childEnv, { LOG_LEVEL: 'warn', DB_POOL_SIZE: '30', ...env });
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '../apps/fleet/src/main.js')], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => void (output = (output + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const keyFile = path.join(dataDir, 'admin-api-key');
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the all-in-one exited (${child.exitCode}):\n${output}`);
    const up = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up && fs.existsSync(keyFile)) break;
    if (Date.now() > deadline) throw new Error(`the all-in-one did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const auth = `Bearer ${fs.readFileSync(keyFile, 'utf8').trim()}`;
  return {
    base,
    async request(method, url, body) {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: {
          authorization: auth,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function operatorPhase(seconds: number): Promise<void> {
  const count = env('BENCH_COMMAND_DEVICES', 1000);
  const rate = env('BENCH_COMMAND_RATE', 100);
  const duration = Math.max(10, seconds);
  const db = await benchDatabase('commands');
  let rig: FleetServer | null = null;
  let fleet: Fleet | null = null;
  let observer: MqttClient | null = null;
  let broker: { url: string; stop(): Promise<void> } | null = null;
  try {
    // A Mosquitto of our own: the baseline's observer sees what devices publish (the embedded aedes
    // hands device messages to the gateway in process, past any subscriber).
    broker = await startPlainMosquitto();
    rig = await startFleetServer({
      DATABASE_URL: db.url,
      MQTT_URL: broker.url,
      GATEWAY_HEARTBEAT_TIMEOUT_MS: '600000',
    });
    fleet = new Fleet({
      count,
      seed: 5,
      idPrefix: 'bench',
      mqttUrl: broker.url,
      ...BEHAVIOURS_OFF,
      commandDelayMs: 0,
      connectRate: 500,
    });
    const specs = fleet.specs();
    let t = performance.now();
    await forEachLimited(specs, 16, async (s) => {
      const r = await rig!.request('POST', '/api/v1/devices', {
        deviceId: s.deviceId,
        deviceClass: s.deviceClass,
        site: s.site,
      });
      if (r.status !== 201)
        throw new Error(`provisioning ${s.deviceId}: ${r.status} ${JSON.stringify(r.body)}`);
    });
    console.log(
      `provisioned ${fmt(count)} devices through POST /api/v1/devices in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    t = performance.now();
    await fleet.start();
    await fleet.ready(180_000);
    console.log(
      `${fmt(count)} simulated devices online (births accepted) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // Devices with a post-launched RTVM (acrnctl manages it): the operator resets it.
    const targets = specs
      .map((s) => ({
        deviceId: s.deviceId,
        vm: s.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM'),
      }))
      .filter((x): x is { deviceId: string; vm: NonNullable<typeof x.vm> } => Boolean(x.vm));

    // --- baseline: a command straight on the broker, the device's cmd-ack back (VM_NOT_FOUND at once).
    observer = connect(broker.url, {
      clientId: `bench-observer-${randomUUID().slice(0, 8)}`,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      observer!.once('connect', () => resolve());
      observer!.once('error', reject);
    });
    const pending = new Map<string, (at: number) => void>();
    observer.on('message', (_topic, payload) => {
      const at = performance.now();
      try {
        const m = JSON.parse(payload.toString()) as { payload?: { commandId?: string; outcome?: string } };
        const id = m.payload?.commandId;
        if (id && m.payload?.outcome !== 'accepted') pending.get(id)?.(at);
      } catch {
        // not ours
      }
    });
    await observer.subscribeAsync(`${TOPIC_ROOT}/+/cmd-ack`, { qos: 1 });
    const bare: Latencies = { label: 'bare MQTT cmd → cmd-ack', ms: [], failed: 0 };
    await openLoop(rate, duration, async (i) => {
      const deviceId = specs[i % specs.length].deviceId;
      const commandId = randomUUID();
      const msg = encodeCommand(
        deviceId,
        'start-vm',
        buildCommand('start-vm', { vmName: 'NO_SUCH_VM' }, { commandId, issuedAt: new Date() }),
      );
      const t0 = performance.now();
      const answered = new Promise<number>((resolve) => pending.set(commandId, resolve));
      await observer!.publishAsync(msg.topic, msg.payload, { qos: 1 });
      const at = await Promise.race([answered, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
      pending.delete(commandId);
      if (at < 0) bare.failed++;
      else bare.ms.push(at - t0);
    });

    // --- the product: POST …:reset, then GET /api/v1/commands/{id}?wait until succeeded.
    const operator: Latencies = { label: 'HTTP command → ack → GET succeeded', ms: [], failed: 0 };
    const failures = new Map<string, number>();
    await openLoop(rate, duration, async (i) => {
      const target = targets[i % targets.length];
      const t0 = performance.now();
      try {
        await operatorCommand(t0, target);
      } catch (err) {
        operator.failed++;
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        failures.set(`transport ${cause}`, (failures.get(`transport ${cause}`) ?? 0) + 1);
      }
    });
    async function operatorCommand(t0: number, target: { deviceId: string; vm: { name: string } }) {
      const r = await rig!.request(
        'POST',
        `/api/v1/devices/${target.deviceId}/rt-vms/${target.vm.name}:reset`,
      );
      if (r.status !== 202) {
        operator.failed++;
        failures.set(String(r.body.code), (failures.get(String(r.body.code)) ?? 0) + 1);
        return;
      }
      const c = await rig!.request('GET', `/api/v1/commands/${r.body.commandId}?wait=30s`);
      if (c.body.status === 'succeeded') operator.ms.push(performance.now() - t0);
      else {
        operator.failed++;
        const why = `${c.body.status}${c.body.reply ? ` ${c.body.reply.code}` : ''}`;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
    }

    console.log(
      `\n${fmt(count)} devices, ${rate} commands/s for ${duration} s (${targets.length} devices with a post-launched RTVM take the resets)\n`,
    );
    console.log(
      table(
        ['path', 'ok', 'failed', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        [summary(bare), summary(operator)],
      ),
    );
    // Where the time goes, from the command rows: the gateway's egress, the device and ingress, the rest.
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const { rows: stages } = await pg.query<{ stage: string; p50: number; p99: number }>(
      `WITH s AS (
         SELECT extract(epoch FROM sent_at - created_at) * 1000 AS queued,
                extract(epoch FROM acknowledged_at - sent_at) * 1000 AS sent,
                extract(epoch FROM completed_at - acknowledged_at) * 1000 AS acknowledged
           FROM hf.commands WHERE status = 'succeeded')
       SELECT 'recorded → sent (domain, egress)' AS stage,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY queued) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY queued) AS p99 FROM s
       UNION ALL
       SELECT 'sent → acknowledged (device, ingress)', percentile_cont(0.5) WITHIN GROUP (ORDER BY sent),
              percentile_cont(0.99) WITHIN GROUP (ORDER BY sent) FROM s
       UNION ALL
       SELECT 'acknowledged → succeeded (reset, vm-state ×2, done)',
              percentile_cont(0.5) WITHIN GROUP (ORDER BY acknowledged),
              percentile_cont(0.99) WITHIN GROUP (ORDER BY acknowledged) FROM s`,
    );
    await pg.end();
    console.log(
      `\n${table(
        ['stage (from hf.commands)', 'p50 ms', 'p99 ms'],
        stages.map((r) => [r.stage, Number(r.p50).toFixed(1), Number(r.p99).toFixed(1)]),
      )}`,
    );
    if (failures.size) console.log(`failures: ${[...failures].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    const b = [...bare.ms].sort((x, y) => x - y);
    const o = [...operator.ms].sort((x, y) => x - y);
    const r50 = percentile(o, 50) / percentile(b, 50);
    const r99 = percentile(o, 99) / percentile(b, 99);
    console.log(
      `ratio to the baseline: p50 ${r50.toFixed(1)}×, p99 ${r99.toFixed(1)}× (target: p99 within 3×) ${r99 <= 3 ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    observer?.end(true);
    await fleet?.stop({ drainTimeoutMs: 2000 }).catch(() => undefined);
    await rig?.stop().catch(() => undefined);
    await broker?.stop();
    await db.close();
  }
}

/** Mosquitto on a free port, anonymous, TCP_NODELAY (else Nagle adds ~40 ms per round trip). */
async function startPlainMosquitto(): Promise<{ url: string; stop(): Promise<void> }> {
  if (!hasMosquitto()) throw new Error('the mosquitto binary is missing (apt-get install mosquitto)');
  const port = await freePort();
  const conf = path.join(os.tmpdir(), `hf-bench-commands-${port}.conf`);
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'max_queued_messages 1000000',
      'log_type error',
      runAsCurrentUser(),
    ].join('\n'),
  );
  const m = await spawnMosquitto(conf, [port]);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await m.stop('SIGKILL');
      fs.rmSync(conf, { force: true });
    },
  };
}

async function bulkPhase(): Promise<void> {
  const count = env('BENCH_BULK_DEVICES', 10_000);
  const db = await benchDatabase('bulk_commands');
  let rig: FleetServer | null = null;
  let domain: INestApplicationContext | null = null;
  let infra: RuntimeInfrastructure | null = null;
  try {
    // The all-in-one as the system under test (no device connects: its broker idles).
    rig = await startFleetServer({ DATABASE_URL: db.url, EMBEDDED_MQTT_PORT: String(await freePort()) });
    // The registry is written through the domain from this process (10,000 POSTs would take minutes).
    infra = await startInfrastructure(loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' }), {
      needsMqtt: false,
    });
    domain = await NestFactory.createApplicationContext(
      {
        module: class RegistryWriter {},
        imports: [
          PlatformModule.forRoot(infra),
          CqrsModule.forRoot(),
          DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        ],
      },
      { logger: ['error'] },
    );
    const bus = domain.get(CommandBus);
    const pool = domain.get<Pool>(PG_POOL);
    const ids = Array.from({ length: count }, (_, i) => `reg-${String(i).padStart(6, '0')}`);
    let t = performance.now();
    await forEachLimited(ids, 24, async (deviceId) => {
      await bus.execute(
        new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'bulk-bench', tags: [] }),
      );
      await bus.execute(new ReportServiceVmBooted({ deviceId, osImageVersion: '2025.01.2' }));
    });
    const busRate = (2 * count * 1000) / (performance.now() - t);
    console.log(
      `\nregistry: ${fmt(count)} devices provisioned, Service VM booted, in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
        `(CommandBus alone: ${fmt(busRate)} domain commands/s, 24 at once)`,
    );
    t = performance.now();
    for (;;) {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM rm.inventory_devices WHERE site = 'bulk-bench' AND provisioned_at IS NOT NULL`,
      );
      if (Number(rows[0].n) >= count) break;
      if (performance.now() - t > 300_000)
        throw new Error(`the inventory has ${rows[0].n} of ${count} devices`);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`inventory caught up in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const t0 = performance.now();
    const r = await rig.request('POST', '/api/v1/bulk-commands', {
      filter: { site: 'bulk-bench' },
      action: 'service-vm.reboot',
      args: { reason: 'bench' },
    });
    const tAccepted = performance.now() - t0;
    if (r.status !== 202) throw new Error(`bulk: ${r.status} ${JSON.stringify(r.body)}`);
    let view = r.body;
    while (view.undecided === undefined || view.undecided > 0) {
      await new Promise((res) => setTimeout(res, 25));
      view = (await rig.request('GET', `/api/v1/bulk-commands/${r.body.batchId}`)).body;
      if (performance.now() - t0 > 120_000) throw new Error(`bulk not fanned out: ${JSON.stringify(view)}`);
    }
    const tFanned = performance.now() - t0;
    const decided = count - view.undecided;
    console.log(
      table(
        ['bulk service-vm.reboot', 'devices', 'ms', 'per s'],
        [
          [
            '202 Accepted (filter resolved, rows recorded)',
            r.body.total,
            tAccepted.toFixed(0),
            fmt((r.body.total / tAccepted) * 1000),
          ],
          [
            'every command decided by the domain',
            decided,
            tFanned.toFixed(0),
            fmt((decided / tFanned) * 1000),
          ],
        ],
      ),
    );
    console.log(
      `dispatcher: ${fmt((decided / tFanned) * 1000)} decisions/s = ${(((decided / tFanned) * 1000) / busRate).toFixed(2)}× the bare CommandBus rate of this run`,
    );
    console.log(
      `counts: ${JSON.stringify(view.counts)}; target < 5 s for ${fmt(count)}: ${tFanned < 5000 ? 'MET' : 'NOT MET'} (${(tFanned / 1000).toFixed(2)} s)`,
    );
  } finally {
    await domain?.close().catch(() => undefined);
    await infra?.stop().catch(() => undefined);
    await rig?.stop().catch(() => undefined);
    await db.close();
  }
}

export async function commandsBench(seconds: number): Promise<void> {
  const phases = (process.env.BENCH_COMMAND_PHASES ?? 'operator,bulk').split(',');
  if (phases.includes('operator')) await operatorPhase(seconds);
  if (phases.includes('bulk')) await bulkPhase();
}
