import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import type { CommandName } from '@hyperfleet/contracts';
import { DeviceCommandStore, type DeviceCommandView } from '@hyperfleet/device-commands';
import { DeleteRtVm, RequestServiceVmShutdown, StartRtVm, type DomainCommand } from '@hyperfleet/domain';
import { BEHAVIOURS_OFF, Fleet, type FleetOptions } from '@hyperfleet/fleet-sim';
import { startGateway, type Harness } from './harness';

jest.setTimeout(90_000);

/**
 * The simulator as a real agent, against the real gateway (embedded broker, real PostgreSQL): the
 * commands an operator sends are answered as an agent would, and the status store follows.
 */
describe('fleet-sim answers device commands through the gateway', () => {
  let h: Harness;
  let bus: CommandBus;
  let store: DeviceCommandStore;
  const fleets: Fleet[] = [];
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    h = await startGateway({ gateway: { commandSweepIntervalMs: 200 } });
    bus = h.app.get(CommandBus);
    store = h.app.get(DeviceCommandStore);
  });

  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop({ drainTimeoutMs: 1000 })));
    await h.close();
  });

  const startFleet = async (prefix: string, options: Partial<FleetOptions> = {}) => {
    const fleet = new Fleet({
      count: 1,
      seed: 5,
      idPrefix: `${prefix}-${randomUUID().slice(0, 6)}`,
      mqttUrl: h.mqttUrl,
      ...BEHAVIOURS_OFF,
      commandDelayMs: 20,
      rebootDelayMs: 200,
      connectRate: 0,
      credentialsFor: (id) => passwords.get(id),
      ...options,
    });
    for (const s of fleet.specs()) passwords.set(s.deviceId, await h.provision(s.deviceId));
    fleets.push(fleet);
    await fleet.start();
    await fleet.ready(30_000);
    const device = fleet.devices()[0];
    const rtVm = device.spec.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM');
    if (!rtVm) throw new Error('seed 5 has no post-launched RT VM');
    return { fleet, device, vmName: rtVm.name };
  };

  /** Records the command as the API does, then lets the domain decide it under the same id. */
  const command = async (
    deviceId: string,
    name: CommandName,
    args: Record<string, unknown>,
    domain: (meta: { commandId: string }) => DomainCommand<string, object>,
  ) => {
    const commandId = randomUUID();
    await store.record({ commandId, deviceId, name, args, deliverBy: new Date(Date.now() + 3600_000) });
    await bus.execute(domain({ commandId }));
    return commandId;
  };

  const until = async (commandId: string, status: string, ms = 20_000): Promise<DeviceCommandView> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const c = await store.get(commandId);
      if (c?.status === status) return c;
      if (Date.now() > deadline) throw new Error(`${commandId}: ${c?.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('delete-vm: the stopped VM is deleted and gone from the next birth', async () => {
    const { device, vmName } = await startFleet('del');
    // The guest powered itself off (acrnctl del needs it stopped).
    expect(await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' })).toMatchObject({
      status: 'accepted',
    });
    const id = await command(
      device.deviceId,
      'delete-vm',
      { vmName },
      (meta) => new DeleteRtVm({ deviceId: device.deviceId, vmName }, meta),
    );
    const done = await until(id, 'succeeded');
    expect(done.acknowledgedAt).not.toBeNull();
    expect(device.vmState(vmName)).toBeUndefined();
    expect(device.birthPayload().vms.map((v) => v.name)).not.toContain(vmName);
  });

  it('shutdown: accepted, the device powers off, comes back with a new birth and then says done', async () => {
    const { device } = await startFleet('off', { shutdownOffMs: 1000 });
    const epoch = device.epoch;
    const id = await command(
      device.deviceId,
      'shutdown',
      { reason: 'test', graceSeconds: 0 },
      (meta) => new RequestServiceVmShutdown({ deviceId: device.deviceId, reason: 'test' }, meta),
    );
    await until(id, 'acknowledged');
    const done = await until(id, 'succeeded');
    expect(device.epoch).toBeGreaterThan(epoch);
    expect(Date.parse(done.completedAt!) - Date.parse(done.acknowledgedAt!)).toBeGreaterThanOrEqual(900);
  });

  it('commandFailureRate 1: accepted, then failed with the agent code', async () => {
    const { device, vmName } = await startFleet('fail', { commandFailureRate: 1 });
    await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' });
    const id = await command(
      device.deviceId,
      'start-vm',
      { vmName },
      (meta) => new StartRtVm({ deviceId: device.deviceId, vmName }, meta),
    );
    const failed = await until(id, 'failed');
    expect(failed.reply).toMatchObject({ code: 'ACRNCTL_FAILED', message: expect.stringContaining(vmName) });
    expect(device.vmState(vmName)).toBe('stopped');
  });

  it('commandSilenceRate 1: never answered, so the command times out', async () => {
    const { device, vmName } = await startFleet('mute', { commandSilenceRate: 1 });
    await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' });
    const id = await command(
      device.deviceId,
      'start-vm',
      { vmName },
      (meta) => new StartRtVm({ deviceId: device.deviceId, vmName }, meta),
    );
    await until(id, 'sent');
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.get(id))?.status).toBe('sent');
    // Its deadline brought forward: the gateway's sweeper times it out.
    await store.sweep(new Date(Date.now() + 61_000));
    expect(await store.get(id)).toMatchObject({ status: 'timed-out', reply: null });
  });
});
