import { Client } from 'pg';
import { deviceTopic, DEVICE_PAYLOAD_LIMITS } from '@hyperfleet/contracts';
import { startMosquitto, type MosquittoServer } from '@hyperfleet/testing';
import { startGateway, TestAgent, uniqueId, type AgentOptions, type Harness } from './harness';

const eventTypes = async (h: Harness, stream: string) =>
  (await h.store.readStream(stream)).map((e) => e.type);

const until = async (what: string, ok: () => Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

function gatewaySuite(name: string, broker: 'aedes' | 'mosquitto') {
  describe(`device gateway on ${name}`, () => {
    let h: Harness;
    const agents: TestAgent[] = [];
    const agent = async (deviceId: string, opts: AgentOptions = {}) => {
      const a = await h.agent(deviceId, opts);
      agents.push(a);
      return a;
    };
    const registered = async (prefix: string) => {
      const id = uniqueId(prefix);
      await h.provision(id);
      const a = await agent(id);
      const r = await a.send('birth', a.birth());
      expect(r).toMatchObject({ status: 'accepted' });
      return a;
    };

    let mosquitto: MosquittoServer | undefined;

    beforeAll(async () => {
      if (broker === 'mosquitto') mosquitto = await startMosquitto();
      h = await startGateway({ mqttUrl: mosquitto?.url });
    });

    afterAll(async () => {
      await Promise.all(agents.map((a) => a.close()));
      await h?.close();
      await mosquitto?.stop();
    });

    it('a birth registers the device, its Service VM and its RTVMs', async () => {
      const a = await registered('birth');
      const id = a.deviceId;
      expect(await eventTypes(h, `hypervisor-${id}`)).toEqual([
        'DeviceProvisioned',
        'DeviceWentOnline',
        'BoardInventoryReported',
        'HypervisorVersionReported',
        'PartitionPlanReported',
      ]);
      expect(await eventTypes(h, `service-vm-${id}`)).toEqual(['ServiceVmBooted']);
      expect(await eventTypes(h, `rt-vm-${id}.RT_VM0`)).toEqual(['RtVmRegistered']);
      // the user VM is not an RTVM: no RtVm stream
      expect(await eventTypes(h, `rt-vm-${id}.HMI_VM`)).toEqual([]);
    });

    it('a VM state change and a latency report become domain events; over budget is a breach', async () => {
      const a = await registered('vmstate');
      const r1 = await a.send(
        'vm-state',
        a.message('vm-state', {
          payload: { vmName: 'RT_VM0', state: 'stopped', observedAt: new Date().toISOString() },
        }),
      );
      expect(r1).toMatchObject({ status: 'accepted', kind: 'vm-state' });
      const health = a.message('health');
      health.payload.rtVms = health.payload.rtVms.map((vm) => ({
        ...vm,
        vmName: 'RT_VM0',
        worstCaseLatencyUs: 250,
        avgLatencyUs: 9,
      }));
      expect(await a.send('health', health)).toMatchObject({ status: 'accepted' });
      expect(await eventTypes(h, `rt-vm-${a.deviceId}.RT_VM0`)).toEqual([
        'RtVmRegistered',
        'RtVmStateReported',
        'RtVmLatencyReported',
        'RtVmLatencyBudgetBreached',
      ]);
    });

    it('answers malformed, oversized, wrong-schema and unknown-type messages, each with its own code', async () => {
      const a = await registered('bad');
      const topic = deviceTopic(a.deviceId, 'vm-state');
      expect(await a.sendRaw(topic, '{"msgId": "x", not json')).toMatchObject({
        status: 'rejected',
        code: 'MALFORMED_JSON',
        inReplyTo: null,
      });
      expect(await a.sendRaw(topic, Buffer.alloc(DEVICE_PAYLOAD_LIMITS['vm-state'] + 1, 0x20))).toMatchObject(
        {
          code: 'PAYLOAD_TOO_LARGE',
        },
      );
      const wrong = { ...a.message('vm-state'), payload: { vmName: 'RT_VM0', state: 'exploded' } };
      const schema = await a.sendRaw(topic, JSON.stringify(wrong), wrong.msgId);
      expect(schema).toMatchObject({ code: 'SCHEMA_INVALID', inReplyTo: wrong.msgId });
      expect(schema.message).toMatch(/payload\.state/);
      // On an external broker the gateway subscribes to the known kinds only (and the ACL refuses
      // others), so an unknown kind can be answered only by the embedded broker, which sees everything.
      if (broker === 'aedes') {
        expect(
          await a.sendRaw(`hf/v1/${a.deviceId}/bogus`, JSON.stringify(a.message('vm-state'))),
        ).toMatchObject({ code: 'UNKNOWN_TYPE' });
      }
      // none of them changed anything
      expect(await eventTypes(h, `rt-vm-${a.deviceId}.RT_VM0`)).toEqual(['RtVmRegistered']);
    });

    it('a duplicated message id gets the first answer again and no second event', async () => {
      const a = await registered('dup');
      const m = a.message('vm-state', {
        payload: { vmName: 'RT_VM0', state: 'stopped', observedAt: new Date().toISOString() },
      });
      expect(await a.send('vm-state', m)).toMatchObject({ status: 'accepted' });
      const again = await a.sendRaw(deviceTopic(a.deviceId, 'vm-state'), JSON.stringify(m), m.msgId);
      expect(again).toMatchObject({
        status: 'accepted',
        duplicate: true,
        code: 'DUPLICATE_MESSAGE',
        inReplyTo: m.msgId,
      });
      expect(await eventTypes(h, `rt-vm-${a.deviceId}.RT_VM0`)).toEqual([
        'RtVmRegistered',
        'RtVmStateReported',
      ]);
      // A first rejection is repeated as it was, with the flag.
      const late = a.message('vm-state', { seq: 1 });
      const first = await a.send('vm-state', late);
      expect(first).toMatchObject({ status: 'rejected', code: 'OUT_OF_ORDER' });
      const repeated = await a.sendRaw(deviceTopic(a.deviceId, 'vm-state'), JSON.stringify(late), late.msgId);
      expect(repeated).toEqual({ ...first, duplicate: true });
      // A plain acceptance is stored as NULL (rebuilt from msg_id and kind), a rejection as sent.
      const pg = new Client({ connectionString: h.db.url });
      await pg.connect();
      try {
        const { rows } = await pg.query<{ msg_id: string; reply: unknown }>(
          'SELECT msg_id, reply FROM hf.device_messages WHERE msg_id = ANY($1)',
          [[m.msgId, late.msgId]],
        );
        expect(Object.fromEntries(rows.map((r) => [r.msg_id, r.reply]))).toEqual({
          [m.msgId]: null,
          [late.msgId]: first,
        });
      } finally {
        await pg.end();
      }
    });

    it('orders by sequence: a stale sequence is OUT_OF_ORDER, a message before the birth NOT_REGISTERED', async () => {
      const a = await registered('order');
      const vm = (seq: number, state: 'started' | 'stopped') =>
        a.message('vm-state', {
          seq,
          payload: { vmName: 'RT_VM0', state, observedAt: new Date().toISOString() },
        });
      expect(await a.send('vm-state', vm(10, 'stopped'))).toMatchObject({ status: 'accepted' });
      expect(await a.send('vm-state', vm(5, 'started'))).toMatchObject({
        status: 'rejected',
        code: 'OUT_OF_ORDER',
        details: { lastSeq: 10 },
      });
      expect(await eventTypes(h, `rt-vm-${a.deviceId}.RT_VM0`)).toEqual([
        'RtVmRegistered',
        'RtVmStateReported',
      ]);

      const id = uniqueId('early');
      await h.provision(id);
      const early = await agent(id);
      expect(await early.send('vm-state', early.message('vm-state'))).toMatchObject({
        code: 'NOT_REGISTERED',
      });
      // a message of an older epoch than the current birth's is stale
      const sid = uniqueId('stale');
      await h.provision(sid);
      const s5 = await agent(sid, { epoch: 5 });
      expect(await s5.send('birth', s5.birth())).toMatchObject({ status: 'accepted' });
      expect(await s5.send('vm-state', s5.message('vm-state', { epoch: 4 }))).toMatchObject({
        status: 'rejected',
        code: 'STALE_SEQUENCE',
        details: { currentEpoch: 5 },
      });
      expect(await s5.send('birth', { ...s5.birth(), epoch: 5 })).toMatchObject({ code: 'STALE_SEQUENCE' });
    });

    if (broker === 'mosquitto') {
      // This private broker admits anyone (its ACL setup is tested in identity/mosquitto.int-spec.ts).
      it('a birth from a device that was never provisioned is refused with the domain code', async () => {
        const a = await agent(uniqueId('ghost'));
        expect(await a.send('birth', a.birth())).toMatchObject({
          status: 'rejected',
          code: 'DEVICE_NOT_PROVISIONED',
        });
      });
    } else {
      it('a client without a valid credential cannot even connect', async () => {
        await expect(TestAgent.connect(h.mqttUrl, uniqueId('ghost'))).rejects.toThrow(
          /Not authorized|Bad username or password/i,
        );
        const id = uniqueId('wrongpw');
        await h.provision(id);
        await expect(
          TestAgent.connect(h.mqttUrl, id, { username: id, password: 'not-the-password' }),
        ).rejects.toThrow(/Not authorized|Bad username or password/i);
      });
    }

    it('the last will marks the device offline', async () => {
      const id = uniqueId('will');
      await h.provision(id);
      const a = await agent(id, { will: true, epoch: 3 });
      expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
      a.dropConnection();
      await until('DeviceWentOffline', async () =>
        (await eventTypes(h, `hypervisor-${id}`)).includes('DeviceWentOffline'),
      );
    });

    it('telemetry goes to the telemetry channel, not into aggregate streams', async () => {
      const a = await registered('tele');
      const before = await h.store.streamVersion(`hypervisor-${a.deviceId}`);
      const m = a.message('telemetry');
      expect(await a.send('telemetry', m)).toMatchObject({ status: 'accepted' });
      expect(await h.store.streamVersion(`hypervisor-${a.deviceId}`)).toBe(before);
      // A redelivery is answered from the dedupe log and writes no second record.
      const again = await a.sendRaw(deviceTopic(a.deviceId, 'telemetry'), JSON.stringify(m), m.msgId);
      expect(again).toMatchObject({ duplicate: true, code: 'DUPLICATE_MESSAGE' });
      const pg = new Client({ connectionString: h.db.url });
      await pg.connect();
      try {
        // The record is the message's payload with its epoch and seq, and it was committed in the same
        // transaction as the verdict that accepted it (the PostgreSQL log shares the gateway's database).
        const { rows } = await pg.query<{ event: { id: string; data: unknown }; same_tx: boolean }>(
          `SELECT t.event, (t.transaction_id::text::bigint % 4294967296) = m.xmin::text::bigint AS same_tx
             FROM hf.telemetry_log t JOIN hf.device_messages m ON m.device_id = t.key AND m.msg_id = $2
            WHERE t.key = $1`,
          [a.deviceId, m.msgId],
        );
        expect(rows).toEqual([
          {
            event: expect.objectContaining({
              id: `${a.deviceId}/${m.msgId}`,
              data: { ...m.payload, epoch: m.epoch, seq: m.seq },
            }),
            same_tx: true,
          },
        ]);
      } finally {
        await pg.end();
      }
    });
  });
}

gatewaySuite('the embedded aedes broker', 'aedes');
gatewaySuite('Mosquitto (MQTT 5 shared subscription)', 'mosquitto');

describe('device gateway identity on the embedded broker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startGateway();
  });
  afterAll(async () => h.close());

  it('a device publishing under another device id gets IDENTITY_MISMATCH, and nothing reaches the other device', async () => {
    const victim = uniqueId('victim');
    await h.provision(victim);
    const attackerId = uniqueId('attacker');
    await h.provision(attackerId);
    const attacker = await h.agent(attackerId);
    try {
      const forged = await attacker.sendRaw(deviceTopic(victim, 'birth'), JSON.stringify(attacker.birth()));
      expect(forged).toMatchObject({ status: 'rejected', code: 'IDENTITY_MISMATCH' });
      expect(await eventTypes(h, `hypervisor-${victim}`)).toEqual(['DeviceProvisioned']);
    } finally {
      await attacker.close();
    }
  });
});
