import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { commandTopic, encodeDeviceMessage } from '@hyperfleet/contracts';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { StopRtVm } from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import type { Pool } from 'pg';
import { startCommandsRig, type CommandsRig } from '../../fleet-api/src/commands/commands-rig';
import { DeviceEgress } from '../src/egress/device-egress';
import { TestAgent, uniqueId } from './harness';

/**
 * Device commands tracked to the device's answer (hf.commands), over a real broker and database: what
 * an operator asks over HTTP (the all-in-one's composition: API, gateway and projector in one app,
 * requests with the bootstrap admin key) is sent under its id, an offline device gets it after its
 * next birth, deadlines expire or time out through the gateway's own sweeper, and acks the backend
 * cannot place are answered.
 */
describe('device gateway: device commands tracked to the answer', () => {
  let db: TestDatabase;
  let rig: CommandsRig;
  let store: DeviceCommandStore;
  const agents: TestAgent[] = [];
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    db = await createTestDatabase('hf_gw_commands');
    rig = await startCommandsRig({ databaseUrl: db.url, gateway: { commandSweepIntervalMs: 200 } });
    store = rig.app.get(DeviceCommandStore);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await rig?.close();
    await db?.drop();
  });

  /** POST /api/v1/devices: the device and its MQTT credential. */
  const provision = async (deviceId: string) =>
    passwords.set(
      deviceId,
      await rig.provision({ deviceId, deviceClass: 'industrial-pc', site: 'test-site' }),
    );

  const connect = async (deviceId: string, epoch: number) => {
    const a = await TestAgent.connect(rig.mqttUrl, deviceId, {
      username: deviceId,
      password: passwords.get(deviceId),
      epoch,
    });
    agents.push(a);
    expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
    return a;
  };

  const offline = async (a: TestAgent) => {
    const r = await a.send(
      'status',
      a.message('status', { payload: { state: 'offline', reason: 'shutdown' } }),
    );
    expect(r).toMatchObject({ status: 'accepted' });
    await a.close();
  };

  /** An operator's command over HTTP: 202 with the command id. */
  const operatorCommand = async (
    deviceId: string,
    c: { name: 'stop-vm' | 'reboot'; body: Record<string, unknown> },
    deliverWithinSeconds = 3600,
  ) => {
    const action = c.name === 'stop-vm' ? 'rt-vms/RT_VM0:stop' : 'service-vm:reboot';
    const r = await rig.request('POST', `/api/v1/devices/${deviceId}/${action}`, {
      ...c.body,
      deliverWithinSeconds,
    });
    expect({ status: r.status, body: r.body }).toMatchObject({ status: 202, body: { status: 'queued' } });
    return String(r.body.commandId);
  };

  const eventually = async <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('a command to an offline device is delivered on reconnect: queued → sent → acknowledged → succeeded', async () => {
    const deviceId = uniqueId('offline');
    await provision(deviceId);
    await offline(await connect(deviceId, 1));

    const commandId = await operatorCommand(deviceId, { name: 'stop-vm', body: { force: false } });
    await rig.app.get(DeviceEgress).waitUntilCaughtUp();
    const queued = await store.get(commandId);
    expect(queued).toMatchObject({
      status: 'queued',
      sentAt: null,
      actor: { subject: 'bootstrap-admin', credentialKind: 'api-key' },
    });
    expect(queued?.decidedAt).not.toBeNull();

    const a = await connect(deviceId, 2);
    const cmd = await a.waitFor('cmd/stop-vm', (m) => m.topic === commandTopic(deviceId, 'stop-vm'));
    expect(cmd.body).toMatchObject({ commandId, args: { vmName: 'RT_VM0', force: false } });
    const sent = await store.get(commandId);
    expect(sent).toMatchObject({ status: 'sent', expiresAt: cmd.body.expiresAt, sentAt: cmd.body.issuedAt });

    const ack = (outcome: 'accepted' | 'done') =>
      a.send('cmd-ack', a.message('cmd-ack', { payload: { commandId, command: 'stop-vm', outcome } }));
    expect(await ack('accepted')).toMatchObject({ status: 'accepted' });
    expect(await store.get(commandId)).toMatchObject({ status: 'acknowledged' });
    expect(await ack('done')).toMatchObject({ status: 'accepted' });
    const done = await store.get(commandId);
    expect(done).toMatchObject({ status: 'succeeded', reply: null });
    expect(a.received.filter((m) => m.topic === commandTopic(deviceId, 'stop-vm'))).toHaveLength(1);

    // A duplicate ack changes nothing: a new message is late, its redelivery a duplicate.
    const again = a.message('cmd-ack', { payload: { commandId, command: 'stop-vm', outcome: 'done' } });
    expect(await a.send('cmd-ack', again)).toMatchObject({
      status: 'accepted',
      code: 'COMMAND_ALREADY_FINAL',
    });
    const raw = encodeDeviceMessage(deviceId, 'cmd-ack', again);
    expect(await a.sendRaw(raw.topic, Buffer.from(raw.payload), again.msgId)).toMatchObject({
      status: 'accepted',
      code: 'COMMAND_ALREADY_FINAL',
      duplicate: true,
    });
    const after = await store.get(commandId);
    expect(after).toMatchObject({ status: 'succeeded', completedAt: done?.completedAt });
    expect(after?.lateAck).toMatchObject({ outcome: 'done' });
    expect((await rig.get(`/api/v1/commands/${commandId}`)).body).toMatchObject({
      status: 'succeeded',
      name: 'stop-vm',
      args: { vmName: 'RT_VM0', force: false },
    });
  });

  it('a command to an online device goes at once; one never answered times out through the sweeper', async () => {
    const deviceId = uniqueId('silent');
    await provision(deviceId);
    const a = await connect(deviceId, 1);
    const commandId = await operatorCommand(deviceId, {
      name: 'reboot',
      body: { reason: 'test', graceSeconds: 5 },
    });
    const cmd = await a.waitFor('cmd/reboot', (m) => m.topic === commandTopic(deviceId, 'reboot'));
    expect(cmd.body).toMatchObject({ commandId, args: { reason: 'test', graceSeconds: 5 } });
    // The agent accepted it and then went quiet; bring its deadline to now instead of waiting 15 min.
    await a.send(
      'cmd-ack',
      a.message('cmd-ack', { payload: { commandId, command: 'reboot', outcome: 'accepted' } }),
    );
    await rig.app
      .get<Pool>(PG_POOL)
      .query(`UPDATE hf.commands SET expires_at = now() WHERE command_id = $1`, [commandId]);
    const timedOut = await eventually(
      'timed out',
      () => store.get(commandId),
      (c) => c?.status === 'timed-out',
    );
    expect(timedOut?.completedAt).not.toBeNull();
    // The agent's late answer is recorded and not retried.
    const late = await a.send(
      'cmd-ack',
      a.message('cmd-ack', {
        payload: {
          commandId,
          command: 'reboot',
          outcome: 'failed',
          error: { code: 'AGENT_ERROR', message: 'x' },
        },
      }),
    );
    expect(late).toMatchObject({ status: 'accepted', code: 'COMMAND_ALREADY_FINAL' });
    expect(late.message).toContain('timed-out');
    expect(await store.get(commandId)).toMatchObject({ status: 'timed-out', reply: null });
  });

  it('a command whose deliver_by passes while the device is offline expires and is never sent', async () => {
    const deviceId = uniqueId('expire');
    await provision(deviceId);
    await offline(await connect(deviceId, 1));
    const commandId = await operatorCommand(deviceId, { name: 'stop-vm', body: { force: false } }, 1);
    await eventually(
      'expired',
      () => store.get(commandId),
      (c) => c?.status === 'expired',
    );
    const a = await connect(deviceId, 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.received.filter((m) => m.topic.includes('/cmd/'))).toEqual([]);
    expect(await store.get(commandId)).toMatchObject({ status: 'expired', sentAt: null });
    // What the operator sees.
    expect((await rig.get(`/api/v1/commands/${commandId}`)).body).toMatchObject({
      status: 'expired',
      sentAt: null,
    });
  });

  it('an ack for a command the backend never sent is rejected with UNKNOWN_COMMAND', async () => {
    const deviceId = uniqueId('unknown');
    await provision(deviceId);
    const a = await connect(deviceId, 1);
    const commandId = randomUUID();
    const reply = await a.send(
      'cmd-ack',
      a.message('cmd-ack', { payload: { commandId, command: 'start-vm', outcome: 'done' } }),
    );
    expect(reply).toMatchObject({ status: 'rejected', code: 'UNKNOWN_COMMAND', details: { commandId } });
    expect(await store.get(commandId)).toBeNull();

    // Another device's command is unknown to this one too.
    const other = uniqueId('other');
    await provision(other);
    await connect(other, 1);
    const theirs = await operatorCommand(other, { name: 'reboot', body: { reason: 'x', graceSeconds: 60 } });
    await eventually(
      'sent',
      () => store.get(theirs),
      (c) => c?.status === 'sent',
    );
    const stolen = await a.send(
      'cmd-ack',
      a.message('cmd-ack', { payload: { commandId: theirs, command: 'reboot', outcome: 'done' } }),
    );
    expect(stolen).toMatchObject({ status: 'rejected', code: 'UNKNOWN_COMMAND' });
    expect(await store.get(theirs)).toMatchObject({ status: 'sent' });
  });

  it('a command the domain decided with no recorded row is tracked under the domain command id', async () => {
    const deviceId = uniqueId('unrecorded');
    await provision(deviceId);
    const a = await connect(deviceId, 1);
    const commandId = randomUUID();
    // Not an operator's request (the API always records first): a domain decision made elsewhere.
    await rig.app.get(CommandBus).execute(new StopRtVm({ deviceId, vmName: 'RT_VM0' }, { commandId }));
    const cmd = await a.waitFor('cmd/stop-vm', (m) => m.topic === commandTopic(deviceId, 'stop-vm'));
    expect(cmd.body.commandId).toBe(commandId);
    expect(await store.get(commandId)).toMatchObject({ status: 'sent', deviceId, name: 'stop-vm' });
  });
});
