/**
 * The gateway against an external broker under the two things an operator worries about: several
 * instances sharing the load (MQTT 5 shared subscription), and an instance killed mid-stream.
 */
import { Client } from 'pg';
import {
  AppProcess,
  createTestDatabase,
  freePort,
  startMosquitto,
  type MosquittoServer,
  type TestDatabase,
} from '@hyperfleet/testing';
import { DeviceIngress } from '../src/ingress/device-ingress';
import { startGateway, TestAgent, uniqueId, type Harness } from './harness';

const GATEWAY = 'dist/apps/device-gateway/src/main.js';

/** Each device sends `n` health reports, one at a time (stop-and-wait), after its birth. */
const rejections: string[] = [];

async function drive(agent: TestAgent, n: number): Promise<string[]> {
  const accepted: string[] = [];
  expect(await agent.send('birth', agent.birth())).toMatchObject({ status: 'accepted' });
  for (let i = 0; i < n; i++) {
    const m = agent.message('health');
    m.payload.rtVms = m.payload.rtVms.map((vm) => ({
      ...vm,
      vmName: 'RT_VM0',
      worstCaseLatencyUs: 10 + i,
      avgLatencyUs: 5,
    }));
    const r = await agent.send('health', m);
    if (r.status === 'accepted') accepted.push(m.msgId);
    else rejections.push(`${r.code}: ${r.message}`);
  }
  return accepted;
}

/** Latency events per message id: exactly-once means every accepted message appears exactly once. */
async function latencyEventsByMessage(dbUrl: string, deviceIds: string[]): Promise<Map<string, number>> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ corr: string; n: string }>(
      `SELECT correlation_id AS corr, count(*) AS n FROM hf.events
        WHERE event_type = 'RtVmLatencyReported' AND metadata->>'deviceId' = ANY($1::text[])
        GROUP BY correlation_id`,
      [deviceIds],
    );
    return new Map(rows.map((r) => [r.corr, Number(r.n)]));
  } finally {
    await c.end();
  }
}

describe('two gateway instances behind one MQTT 5 shared subscription', () => {
  let mosquitto: MosquittoServer;
  let db: TestDatabase;
  let a: Harness;
  let b: Harness;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    mosquitto = await startMosquitto('set_tcp_nodelay true');
    db = await createTestDatabase('hf_gw_scale');
    const shared = { sharedGroup: uniqueId('scale'), mqttConnections: 2, sessionExpirySeconds: 60 };
    a = await startGateway({ mqttUrl: mosquitto.url, db, gateway: { ...shared, instanceId: 'gw-a' } });
    b = await startGateway({ mqttUrl: mosquitto.url, db, gateway: { ...shared, instanceId: 'gw-b' } });
  });

  afterAll(async () => {
    await Promise.all(agents.map((x) => x.close()));
    await a?.close();
    await b?.close();
    await db?.drop();
    await mosquitto?.stop();
  });

  it('share the devices: every message is answered once and applied once, and both instances work', async () => {
    const ids = Array.from({ length: 12 }, () => uniqueId('shared'));
    for (const id of ids) await a.provision(id);
    for (const id of ids) agents.push(await TestAgent.connect(mosquitto.url, id));
    const accepted = (await Promise.all(agents.map((x) => drive(x, 15)))).flat();
    expect(accepted).toHaveLength(12 * 15);

    const byMessage = await latencyEventsByMessage(db.url, ids);
    expect([...byMessage.values()].every((n) => n === 1)).toBe(true);
    expect(accepted.every((m) => byMessage.get(m) === 1)).toBe(true);

    const sa = a.app.get(DeviceIngress).stats();
    const sb = b.app.get(DeviceIngress).stats();
    expect(sa.accepted).toBeGreaterThan(0);
    expect(sb.accepted).toBeGreaterThan(0);
    expect(sa.accepted + sb.accepted).toBe(12 * 16); // births included
  });
});

describe('a gateway killed mid-stream', () => {
  let mosquitto: MosquittoServer;
  let db: TestDatabase;
  const agents: TestAgent[] = [];
  let gw: AppProcess | null = null;

  const startProcess = async (httpPort: number) => {
    const p = new AppProcess(GATEWAY, {
      ...process.env,
      DATABASE_URL: db.url,
      MQTT_URL: mosquitto.url,
      HTTP_PORT: String(httpPort),
      GATEWAY_INSTANCE_ID: 'gw-kill',
      GATEWAY_SHARED_GROUP: 'kill-test',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: '',
    });
    await p.waitFor(/Press Ctrl-C to stop/, 60_000);
    return p;
  };

  beforeAll(async () => {
    mosquitto = await startMosquitto('set_tcp_nodelay true');
    db = await createTestDatabase('hf_gw_kill');
  });

  afterAll(async () => {
    await Promise.all(agents.map((x) => x.close()));
    await gw?.stop();
    await db?.drop();
    await mosquitto?.stop();
  });

  it('after a restart, every accepted message has exactly one event', async () => {
    const port = await freePort();
    gw = await startProcess(port);
    // The gateway alone has no API: provision through an in-process gateway on the same database.
    const ids = Array.from({ length: 8 }, () => uniqueId('kill'));
    const harness = await startGateway({ db, mqttUrl: undefined });
    try {
      for (const id of ids) await harness.provision(id);
    } finally {
      await harness.close();
    }
    for (const id of ids) agents.push(await TestAgent.connect(mosquitto.url, id));

    const run = Promise.all(agents.map((x) => drive(x, 25)));
    // kill it while messages are in flight, then bring it back under the same MQTT session
    await new Promise((r) => setTimeout(r, 1500));
    gw.signal('SIGKILL');
    await gw.exited;
    gw = await startProcess(port);
    const accepted = (await run).flat();

    if (rejections.length) console.log(gw.stdout, gw.stderr);
    expect(rejections).toEqual([]);
    expect(accepted).toHaveLength(8 * 25);
    const byMessage = await latencyEventsByMessage(db.url, ids);
    expect(accepted.filter((m) => byMessage.get(m) !== 1)).toEqual([]);
    expect([...byMessage.values()].every((n) => n === 1)).toBe(true);
  });
});
