import { CommandBus } from '@nestjs/cqrs';
import { buildPlan, postLaunchedVm, serviceVm } from '@hyperfleet/acrn';
import { commandTopic, desiredTopic } from '@hyperfleet/contracts';
import { AssignPartitionPlan, CreatePartitionPlan, StartRtVm, StopRtVm } from '@hyperfleet/domain';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { DeviceEgress } from '../src/egress/device-egress';
import { GatewayLifecycle } from '../src/gateway.lifecycle';
import { startGateway, TestAgent, uniqueId, type Harness } from './harness';

describe('device gateway egress: desired state and commands (embedded broker)', () => {
  let h: Harness;
  let bus: CommandBus;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    h = await startGateway({ gateway: { heartbeatTimeoutMs: 1500 } });
    bus = h.app.get(CommandBus);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await h.close();
  });

  const online = async (prefix: string) => {
    const id = uniqueId(prefix);
    await h.provision(id);
    const a = await h.agent(id);
    agents.push(a);
    expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
    return a;
  };

  it('an operator command reaches the agent as cmd/<name>, and its acks move the command to done', async () => {
    const a = await online('cmd');
    // the example birth reports RT_VM0 started: stop it (a request), then power-off, then start
    await a.send(
      'vm-state',
      a.message('vm-state', {
        payload: { vmName: 'RT_VM0', state: 'stopped', observedAt: new Date().toISOString() },
      }),
    );
    await bus.execute(new StartRtVm({ deviceId: a.deviceId, vmName: 'RT_VM0' }));
    const cmd = await a.waitFor('cmd/start-vm', (m) => m.topic === commandTopic(a.deviceId, 'start-vm'));
    expect(cmd.body).toMatchObject({ args: { vmName: 'RT_VM0' }, commandId: expect.any(String) });
    const commandId = String(cmd.body.commandId);
    const log = h.app.get(DeviceCommandStore);
    expect(await log.get(commandId)).toMatchObject({
      status: 'sent',
      deviceId: a.deviceId,
      name: 'start-vm',
    });

    const ack = (outcome: 'accepted' | 'done') =>
      a.send('cmd-ack', a.message('cmd-ack', { payload: { commandId, command: 'start-vm', outcome } }));
    expect(await ack('accepted')).toMatchObject({ status: 'accepted' });
    expect(await log.get(commandId)).toMatchObject({ status: 'acknowledged' });
    expect(await ack('done')).toMatchObject({ status: 'accepted' });
    expect(await log.get(commandId)).toMatchObject({ status: 'succeeded' });
  });

  it('a command nobody acknowledges times out at its deadline', async () => {
    const a = await online('expire');
    await bus.execute(new StopRtVm({ deviceId: a.deviceId, vmName: 'RT_VM0' }));
    const cmd = await a.waitFor('cmd/stop-vm', (m) => m.topic === commandTopic(a.deviceId, 'stop-vm'));
    const log = h.app.get(DeviceCommandStore);
    const swept = await h.app
      .get(GatewayLifecycle)
      .sweepCommands(new Date(Date.parse(String(cmd.body.expiresAt)) + 1));
    expect(swept.timedOut).toBeGreaterThanOrEqual(1);
    expect(await log.get(String(cmd.body.commandId))).toMatchObject({
      status: 'timed-out',
      expiresAt: cmd.body.expiresAt,
    });
  });

  it('assigning a partition plan publishes a retained, versioned desired state', async () => {
    const a = await online('desired');
    const planId = uniqueId('plan');
    const plan = buildPlan([serviceVm(0), postLaunchedVm(1, 'HMI_VM', [2, 3])], { board: 'small-2c4t' });
    await bus.execute(new CreatePartitionPlan({ planId, deviceClass: 'industrial-pc', plan }));
    await bus.execute(new AssignPartitionPlan({ deviceId: a.deviceId, planId }));
    const doc = await a.waitFor('desired state', (m) => m.topic === desiredTopic(a.deviceId));
    expect(doc.body).toMatchObject({ version: 1, plan: { planId, revision: 1 } });

    // a client that subscribes later gets the retained copy
    const late = await h.agent(a.deviceId, { clientId: `${a.deviceId}` });
    agents.push(late);
    const retained = await late.waitFor(
      'retained desired state',
      (m) => m.topic === desiredTopic(a.deviceId),
    );
    expect(retained).toMatchObject({ retain: true, body: { version: 1 } });

    // redelivery of the same event changes nothing; the egress is caught up
    await h.app.get(DeviceEgress).waitUntilCaughtUp();
    expect(late.received.filter((m) => m.topic === desiredTopic(a.deviceId))).toHaveLength(1);
  });

  it('a device that goes silent without a will is marked offline after the heartbeat timeout', async () => {
    const a = await online('silent');
    const sweeps = h.app.get(GatewayLifecycle);
    const deadline = Date.now() + 10_000;
    let types: string[] = [];
    while (Date.now() < deadline) {
      await sweeps.sweepSilentDevices();
      types = (await h.store.readStream(`hypervisor-${a.deviceId}`)).map((e) => e.type);
      if (types.includes('DeviceWentOffline')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(types.slice(-1)).toEqual(['DeviceWentOffline']);
  });
});
