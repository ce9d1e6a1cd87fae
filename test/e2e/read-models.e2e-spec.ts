/**
 * Issue 5's end-to-end guarantees for the read models:
 * - one scripted scenario through the real gateway and the operator HTTP API, run once on Kafka and
 *   once on the PostgreSQL log, produces the same read models;
 * - a projector process killed mid-batch and restarted double-counts nothing.
 * Operators act through the doors they have (HTTP, authenticated with the bootstrap admin key), never
 * the CommandBus; devices are test agents on their own MQTT connections.
 */
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { buildPlan, postLaunchedVm, serviceVm } from '@hyperfleet/acrn';
import { commandTopic } from '@hyperfleet/contracts';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, runMigrations } from '@hyperfleet/event-store';
import { OUTBOX_RELAY } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import type { OutboxRelay } from '@hyperfleet/messaging';
import {
  AppProcess,
  createTestDatabase,
  describeKafka,
  freePort,
  type TestDatabase,
} from '@hyperfleet/testing';
import { TestAgent } from '../../apps/device-gateway/test/harness';
import { startCommandsRig, type CommandsRig } from '../../apps/fleet-api/src/commands/commands-rig';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/**
 * The same facts on every run: device messages carry fixed message ids and times; the operator's
 * requests are the same requests in the same order (the API picks their command ids and times).
 */
async function scenario(rig: CommandsRig): Promise<void> {
  const ok = async (
    method: string,
    url: string,
    body: unknown,
    status: number,
  ): Promise<Record<string, unknown>> => {
    const r = await rig.request(method, url, body);
    expect({ url, status: r.status, body: r.body }).toMatchObject({ url, status });
    return r.body;
  };
  const devices = ['ipc-e2e-1', 'ipc-e2e-2', 'ipc-e2e-3'];
  const agents: TestAgent[] = [];
  for (const deviceId of devices) {
    const password = await rig.provision({ deviceId, deviceClass: 'industrial-pc', site: 'test-site' });
    agents.push(await TestAgent.connect(rig.mqttUrl, deviceId, { username: deviceId, password, epoch: 4 }));
  }
  try {
    let n = 0;
    const ids = (a: TestAgent, s: number) => ({ msgId: `${a.deviceId}-m${++n}`, sentAt: at(s) });
    for (const a of agents)
      expect(await a.send('birth', { ...a.birth(), ...ids(a, 1) })).toMatchObject({ status: 'accepted' });
    const [a1, a2, a3] = agents;
    const vmState = (a: TestAgent, s: number, state: 'stopped' | 'started') =>
      a.send(
        'vm-state',
        a.message('vm-state', { ...ids(a, s), payload: { vmName: 'RT_VM0', state, observedAt: at(s) } }),
      );
    const health = (a: TestAgent, s: number, worst: number) => {
      const m = a.message('health', ids(a, s));
      m.payload.windowStart = at(s - 10);
      m.payload.windowEnd = at(s);
      m.payload.rtVms = m.payload.rtVms.map((vm) => ({
        ...vm,
        vmName: 'RT_VM0',
        worstCaseLatencyUs: worst,
        avgLatencyUs: 6,
      }));
      return a.send('health', m);
    };
    const telemetry = (a: TestAgent, s: number) => {
      const m = a.message('telemetry', ids(a, s));
      m.payload.samples = m.payload.samples.map((x, i) => ({ ...x, at: at(s - i) }));
      return a.send('telemetry', m);
    };
    for (const r of [
      await vmState(a1, 20, 'stopped'),
      await health(a1, 30, 12),
      await health(a1, 40, 95), // over the 50 µs default budget
      await telemetry(a1, 45),
      await vmState(a2, 20, 'stopped'),
      await telemetry(a2, 50),
      await health(a3, 30, 20),
    ]) {
      expect(r).toMatchObject({ status: 'accepted' });
    }

    // The operator starts a2's RTVM: the command reaches the device, which runs it and says so.
    const start = await ok('POST', `/api/v1/devices/${a2.deviceId}/rt-vms/RT_VM0:start`, {}, 202);
    const commandId = String(start.commandId);
    const cmd = await a2.waitFor('cmd/start-vm', (m) => m.topic === commandTopic(a2.deviceId, 'start-vm'));
    expect(cmd.body).toMatchObject({ commandId, args: { vmName: 'RT_VM0' } });
    for (const [s, outcome] of [
      [55, 'accepted'],
      [56, 'done'],
    ] as const) {
      const ack = a2.message('cmd-ack', {
        ...ids(a2, s),
        payload: { commandId, command: 'start-vm', outcome },
      });
      expect(await a2.send('cmd-ack', ack)).toMatchObject({ status: 'accepted' });
    }
    expect(await vmState(a2, 57, 'started')).toMatchObject({ status: 'accepted' });
    expect(await ok('GET', `/api/v1/commands/${commandId}?wait=10s`, undefined, 200)).toMatchObject({
      status: 'succeeded',
      deviceId: a2.deviceId,
      name: 'start-vm',
    });

    await ok(
      'POST',
      `/api/v1/devices/${a1.deviceId}/rt-vms/RT_VM0:change-latency-budget`,
      { budgetUs: 120 },
      200,
    );
    const plan = buildPlan([serviceVm(0), postLaunchedVm(1, 'HMI_VM', [2, 3])], { board: 'small-2c4t' });
    await ok('POST', '/api/v1/plans', { planId: 'plan-e2e', deviceClass: 'industrial-pc', plan }, 201);
    await ok('POST', '/api/v1/plans/plan-e2e:assign', { deviceId: a3.deviceId }, 200);
    expect(
      await a3.send(
        'status',
        a3.message('status', { ...ids(a3, 90), payload: { state: 'offline', reason: 'shutdown' } }),
      ),
    ).toMatchObject({ status: 'accepted' });
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

/**
 * Every read-model table, with what differs between runs by design left out or named:
 * - wall-clock times and log positions (the API records real times: a plan's, a provisioning's);
 * - ids the API draws at random per run, replaced by a name (`runIds`): the bootstrap admin key's id
 *   (its stream `api-key-<id>` has a projection position). Command ids and request ids also differ
 *   per run but no read model holds them (they live in hf.device_commands and event metadata);
 * - fractional sums compared to 12 significant digits: the projector adds each batch's double sum
 *   to the row, and batch boundaries follow arrival timing, so the last bit may differ.
 */
async function dumpReadModels(
  url: string,
  runIds: Record<string, string>,
): Promise<Record<string, string[]>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: tables } = await c.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'rm'
        AND table_name NOT IN ('projection_status', 'dead_letters') ORDER BY table_name`,
    );
    const out: Record<string, string[]> = {};
    for (const { table_name } of tables) {
      const { rows } = await c.query(`SELECT * FROM rm."${table_name}"`);
      out[table_name] = rows
        .map((r) => {
          let json = JSON.stringify(normalise(r));
          for (const [id, name] of Object.entries(runIds)) json = json.split(id).join(name);
          return json;
        })
        .sort();
    }
    return out;
  } finally {
    await c.end();
  }
}

const VOLATILE = /(^at$|At$|_at$|^time$|log_position|logPosition|^event_id$|eventId|^issued|^since)/;
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Date) return '<time>';
  if (typeof v === 'number' && !Number.isInteger(v)) return Number(v.toPrecision(12));
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !VOLATILE.test(k))
        .map(([k, x]) => [k, normalise(x)]),
    );
  }
  return v;
}

describeKafka('one scenario on Kafka and on the PostgreSQL log', () => {
  it('produces the same read models', async () => {
    const dumps: Record<string, string[]>[] = [];
    for (const kafka of [false, true]) {
      const db = await createTestDatabase('hf_e2e_rm');
      // The all-in-one's composition in one HTTP app: the gateway (embedded broker), the projector, the API.
      const rig = await startCommandsRig({
        databaseUrl: db.url,
        gateway: {
          heartbeatTimeoutMs: 60_000,
          sessionExpirySeconds: 120,
          sharedGroup: `hf-test-${randomUUID().slice(0, 8)}`,
        },
        env: kafka
          ? {
              KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
              KAFKA_TOPIC_PREFIX: `hf-e2e-${randomUUID().slice(0, 8)}`,
            }
          : {},
      }).catch(async (err) => {
        await db.drop();
        throw err;
      });
      try {
        expect(rig.infra.transport).toBe(kafka ? 'kafka' : 'postgres-log');
        expect(rig.auth.authorization).toMatch(/^Bearer hf_/); // the bootstrap admin key
        await scenario(rig);
        const bootstrapKeyId = /^Bearer hf_([a-z0-9]+)_/.exec(rig.auth.authorization)![1];
        if (kafka) await rig.app.get<OutboxRelay>(OUTBOX_RELAY).waitUntilCaughtUp(60_000);
        await rig.app.get(ProjectorService).waitUntilCaughtUp(60_000);
        dumps.push(await dumpReadModels(db.url, { [bootstrapKeyId]: '<bootstrap-admin-key-id>' }));
      } finally {
        await rig.close();
        await db.drop();
      }
    }
    const [pg, kafka] = dumps;
    expect(Object.keys(kafka)).toEqual(Object.keys(pg));
    expect(pg.inventory_devices).toHaveLength(3);
    expect(pg.telemetry_minute.length).toBeGreaterThan(0);
    expect(pg.device_timeline.length).toBeGreaterThan(20);
    for (const table of Object.keys(pg))
      expect({ table, rows: kafka[table] }).toEqual({ table, rows: pg[table] });
  });
});

describe('a projector process killed mid-batch', () => {
  let db: TestDatabase;
  let projector: AppProcess | null = null;

  afterAll(async () => {
    await projector?.stop();
    await db?.drop();
  });

  it('double-counts nothing after its restart', async () => {
    db = await createTestDatabase('hf_e2e_kill');
    const pool = new Pool({ connectionString: db.url, max: 4 });
    const store = new PostgresEventStore(pool);
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    // A backlog big enough that the kill lands mid-stream: 400 RTVMs, 60 latency reports each, a third of them breaches.
    const devices = 200;
    for (let d = 0; d < devices; d++) {
      const deviceId = `kill-${d}`;
      for (const vmName of ['RT_A', 'RT_B']) {
        const ref = { deviceId, vmName };
        const events = [
          {
            type: 'RtVmRegistered',
            data: {
              ...ref,
              loadOrder: 'POST_LAUNCHED_VM',
              pinnedPcpus: [1],
              latencyBudgetUs: 50,
              state: 'stopped',
              at: at(0),
            },
          },
          ...Array.from({ length: 60 }, (_, i) => [
            {
              type: 'RtVmLatencyReported',
              data: { ...ref, worstCaseUs: i % 3 === 0 ? 80 : 20, at: at(i + 1) },
            },
            ...(i % 3 === 0
              ? [
                  {
                    type: 'RtVmLatencyBudgetBreached',
                    data: { ...ref, worstCaseUs: 80, budgetUs: 50, excessUs: 30, at: at(i + 1) },
                  },
                ]
              : []),
          ]).flat(),
        ];
        await store.append(
          `rt-vm-${deviceId}.${vmName}`,
          'no-stream',
          events.map((e) => ({ ...e, metadata: { deviceId } })),
        );
      }
    }
    const { rows: totals } = await pool.query<{ events: string; breaches: string }>(
      `SELECT count(*) AS events, count(*) FILTER (WHERE event_type = 'RtVmLatencyBudgetBreached') AS breaches FROM hf.events`,
    );
    const expected = { events: Number(totals[0].events), breaches: Number(totals[0].breaches) };

    const env = { ...process.env, DATABASE_URL: db.url, HTTP_PORT: '', KAFKA_BROKERS: '', LOG_LEVEL: 'warn' };
    const start = async () => {
      const p = new AppProcess('dist/apps/projector/src/main.js', {
        ...env,
        HTTP_PORT: String(await freePort()),
      });
      await p.waitFor(/Press Ctrl-C to stop/, 60_000);
      return p;
    };
    const timelineRows = async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM rm.device_timeline`)).rows[0].n);

    projector = await start();
    const deadline = Date.now() + 60_000;
    while ((await timelineRows()) < expected.events / 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    projector.signal('SIGKILL');
    await projector.exited;
    const atKill = await timelineRows();
    expect(atKill).toBeLessThan(expected.events); // it really died mid-stream

    projector = await start();
    const until = Date.now() + 120_000;
    while ((await timelineRows()) < expected.events && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000)); // anything double-applied would show up by now

    expect(await timelineRows()).toBe(expected.events);
    const { rows: vm } = await pool.query<{ breaches: string; vms: string }>(
      `SELECT sum(budget_breaches) AS breaches, count(*) AS vms FROM rm.inventory_device_vms`,
    );
    expect(Number(vm[0].vms)).toBe(devices * 2);
    expect(Number(vm[0].breaches)).toBe(expected.breaches);
    await pool.end();
  });
});
