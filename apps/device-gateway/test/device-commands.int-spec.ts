import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { commandTopic, encodeDeviceMessage } from '@hyperfleet/contracts';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { RequestServiceVmReboot, StopRtVm } from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import type { Pool } from 'pg';
import { DeviceEgress } from '../src/egress/device-egress';
import { startGateway, TestAgent, uniqueId, type Harness } from './harness';

/**
 * Device commands tracked to the device's answer (hf.commands), over a real broker and database: what
 * the API records is sent under its id, an offline device gets it after its next birth, deadlines
 * expire or time out through the gateway's own sweeper, and acks the backend cannot place are answered.
 */
describe('device gateway: device commands tracked to the answer', () => {
  let h: Harness;
  let bus: CommandBus;
  let store: DeviceCommandStore;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    h = await startGateway({ gateway: { commandSweepIntervalMs: 200 } });
    bus = h.app.get(CommandBus);
    store = h.app.get(DeviceCommandStore);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await h.close();
  });

  const connect = async (deviceId: string, epoch: number) => {
    const a = await h.agent(deviceId, { epoch });
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

  /** What the API does: record the command queued, then run the domain command under its id. */
  const operatorCommand = async (
    deviceId: string,
    c: { name: 'stop-vm' | 'reboot'; args: Record<string, unknown> },
    deliverInMs = 3600_000,
  ) => {
    const commandId = randomUUID();
    await store.record({
      commandId,
      deviceId,
      name: c.name,
      args: c.args,
      deliverBy: new Date(Date.now() + deliverInMs),
      actor: { subject: 'test-operator' },
    });
    await bus.execute(
      c.name === 'stop-vm'
        ? new StopRtVm({ deviceId, vmName: String(c.args.vmName) }, { commandId })
        : new RequestServiceVmReboot({ deviceId, reason: String(c.args.reason) }, { commandId }),
    );
    return commandId;
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
    await h.provision(deviceId);
    await offline(await connect(deviceId, 1));

    const commandId = await operatorCommand(deviceId, {
      name: 'stop-vm',
      args: { vmName: 'RT_VM0', force: false },
    });
    await h.app.get(DeviceEgress).waitUntilCaughtUp();
    const queued = await store.get(commandId);
    expect(queued).toMatchObject({ status: 'queued', sentAt: null, actor: { subject: 'test-operator' } });
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
  });

  it('a command to an online device goes at once; one never answered times out through the sweeper', async () => {
    const deviceId = uniqueId('silent');
    await h.provision(deviceId);
    const a = await connect(deviceId, 1);
    const commandId = await operatorCommand(deviceId, {
      name: 'reboot',
      args: { reason: 'test', graceSeconds: 5 },
    });
    const cmd = await a.waitFor('cmd/reboot', (m) => m.topic === commandTopic(deviceId, 'reboot'));
    expect(cmd.body).toMatchObject({ commandId, args: { reason: 'test', graceSeconds: 5 } });
    // The agent accepted it and then went quiet; bring its deadline to now instead of waiting 15 min.
    await a.send(
      'cmd-ack',
      a.message('cmd-ack', { payload: { commandId, command: 'reboot', outcome: 'accepted' } }),
    );
    await h.app
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
    await h.provision(deviceId);
    await offline(await connect(deviceId, 1));
    const commandId = await operatorCommand(
      deviceId,
      { name: 'stop-vm', args: { vmName: 'RT_VM0', force: false } },
      800,
    );
    await eventually(
      'expired',
      () => store.get(commandId),
      (c) => c?.status === 'expired',
    );
    const a = await connect(deviceId, 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.received.filter((m) => m.topic.includes('/cmd/'))).toEqual([]);
    expect(await store.get(commandId)).toMatchObject({ status: 'expired', sentAt: null });
  });

  it('an ack for a command the backend never sent is rejected with UNKNOWN_COMMAND', async () => {
    const deviceId = uniqueId('unknown');
    await h.provision(deviceId);
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
    await h.provision(other);
    await connect(other, 1);
    const theirs = await operatorCommand(other, { name: 'reboot', args: { reason: 'x', graceSeconds: 60 } });
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
    await h.provision(deviceId);
    const a = await connect(deviceId, 1);
    const commandId = randomUUID();
    await bus.execute(new StopRtVm({ deviceId, vmName: 'RT_VM0' }, { commandId }));
    const cmd = await a.waitFor('cmd/stop-vm', (m) => m.topic === commandTopic(deviceId, 'stop-vm'));
    expect(cmd.body.commandId).toBe(commandId);
    expect(await store.get(commandId)).toMatchObject({ status: 'sent', deviceId, name: 'stop-vm' });
  });
});
