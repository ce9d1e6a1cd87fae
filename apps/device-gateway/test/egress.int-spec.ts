import { buildPlan, postLaunchedVm, serviceVm } from '@hyperfleet/acrn';
import { commandTopic, desiredTopic } from '@hyperfleet/contracts';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import type { PostgresEventStore } from '@hyperfleet/event-store';
import { EVENT_STORE } from '@hyperfleet/platform';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { startCommandsRig, type CommandsRig } from '../../fleet-api/src/commands/commands-rig';
import { DeviceEgress } from '../src/egress/device-egress';
import { GatewayLifecycle } from '../src/gateway.lifecycle';
import { TestAgent, uniqueId } from './harness';

/**
 * The gateway's way out to devices, from what an operator asks over HTTP (the all-in-one's
 * composition: API, gateway and projector in one app, requests with the bootstrap admin key).
 */
// Long enough that a loaded machine never marks a device silent mid-test; the silent test moves the clock.
const HEARTBEAT_TIMEOUT_MS = 60_000;

describe('device gateway egress: desired state and commands (embedded broker)', () => {
  let db: TestDatabase;
  let rig: CommandsRig;
  const agents: TestAgent[] = [];
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    db = await createTestDatabase('hf_gw_egress');
    rig = await startCommandsRig({
      databaseUrl: db.url,
      gateway: { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
    });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await rig?.close();
    await db?.drop();
  });

  const agent = async (deviceId: string, clientId = deviceId) => {
    const a = await TestAgent.connect(rig.mqttUrl, deviceId, {
      username: deviceId,
      password: passwords.get(deviceId),
      clientId,
    });
    agents.push(a);
    return a;
  };

  const online = async (prefix: string) => {
    const id = uniqueId(prefix);
    passwords.set(id, await rig.provision({ deviceId: id, deviceClass: 'industrial-pc', site: 'test-site' }));
    const a = await agent(id);
    expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
    return a;
  };

  /** A POST as the admin that must answer `status`. */
  const post = async (url: string, body: unknown, status: number) => {
    const r = await rig.request('POST', url, body);
    expect({ url, status: r.status, body: r.body }).toMatchObject({ url, status });
    return r.body;
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
    const accepted = await post(`/api/v1/devices/${a.deviceId}/rt-vms/RT_VM0:start`, {}, 202);
    const cmd = await a.waitFor('cmd/start-vm', (m) => m.topic === commandTopic(a.deviceId, 'start-vm'));
    expect(cmd.body).toMatchObject({ args: { vmName: 'RT_VM0' }, commandId: accepted.commandId });
    const commandId = String(cmd.body.commandId);
    const log = rig.app.get(DeviceCommandStore);
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
    expect((await rig.get(`/api/v1/commands/${commandId}`)).body).toMatchObject({ status: 'succeeded' });
  });

  it('a command nobody acknowledges times out at its deadline', async () => {
    const a = await online('expire');
    await post(`/api/v1/devices/${a.deviceId}/rt-vms/RT_VM0:stop`, {}, 202);
    const cmd = await a.waitFor('cmd/stop-vm', (m) => m.topic === commandTopic(a.deviceId, 'stop-vm'));
    const log = rig.app.get(DeviceCommandStore);
    const swept = await rig.app
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
    await post('/api/v1/plans', { planId, deviceClass: 'industrial-pc', plan }, 201);
    await post(`/api/v1/plans/${planId}:assign`, { deviceId: a.deviceId }, 200);
    const doc = await a.waitFor('desired state', (m) => m.topic === desiredTopic(a.deviceId));
    expect(doc.body).toMatchObject({ version: 1, plan: { planId, revision: 1 } });

    // a client that subscribes later gets the retained copy
    const late = await agent(a.deviceId);
    const retained = await late.waitFor(
      'retained desired state',
      (m) => m.topic === desiredTopic(a.deviceId),
    );
    expect(retained).toMatchObject({ retain: true, body: { version: 1 } });

    // redelivery of the same event changes nothing; the egress is caught up
    await rig.app.get(DeviceEgress).waitUntilCaughtUp();
    expect(late.received.filter((m) => m.topic === desiredTopic(a.deviceId))).toHaveLength(1);
  });

  it('a device that goes silent without a will is marked offline after the heartbeat timeout', async () => {
    const a = await online('silent');
    const sweeps = rig.app.get(GatewayLifecycle);
    const types = async () =>
      (await rig.app.get<PostgresEventStore>(EVENT_STORE).readStream(`hypervisor-${a.deviceId}`)).map(
        (e) => e.type,
      );
    // Heard from just now: not silent yet.
    await sweeps.sweepSilentDevices();
    expect(await types()).not.toContain('DeviceWentOffline');
    // The sweep as it runs once the timeout has passed (the clock moved, not waited for).
    await sweeps.sweepSilentDevices(new Date(Date.now() + HEARTBEAT_TIMEOUT_MS + 1000));
    expect((await types()).slice(-1)).toEqual(['DeviceWentOffline']);
  });
});
