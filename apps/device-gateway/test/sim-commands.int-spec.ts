import { randomUUID } from 'node:crypto';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { BEHAVIOURS_OFF, Fleet, type FleetOptions } from '@hyperfleet/fleet-sim';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { startCommandsRig, type Body, type CommandsRig } from '../../fleet-api/src/commands/commands-rig';

jest.setTimeout(90_000);

/**
 * The simulator as a real agent, against the real gateway (embedded broker, real PostgreSQL): the
 * commands an operator sends over HTTP (the all-in-one's composition: API, gateway and projector in
 * one app, requests with the bootstrap admin key) are answered as an agent would, and the command's
 * status resource follows.
 */
describe('fleet-sim answers device commands through the gateway', () => {
  let db: TestDatabase;
  let rig: CommandsRig;
  const fleets: Fleet[] = [];
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    db = await createTestDatabase('hf_gw_sim_cmds');
    rig = await startCommandsRig({ databaseUrl: db.url, gateway: { commandSweepIntervalMs: 200 } });
  });

  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop({ drainTimeoutMs: 1000 })));
    await rig?.close();
    await db?.drop();
  });

  const startFleet = async (prefix: string, options: Partial<FleetOptions> = {}) => {
    const fleet = new Fleet({
      count: 1,
      seed: 5,
      idPrefix: `${prefix}-${randomUUID().slice(0, 6)}`,
      mqttUrl: rig.mqttUrl,
      ...BEHAVIOURS_OFF,
      commandDelayMs: 20,
      rebootDelayMs: 200,
      connectRate: 0,
      credentialsFor: (id) => passwords.get(id),
      ...options,
    });
    for (const s of fleet.specs())
      passwords.set(
        s.deviceId,
        await rig.provision({ deviceId: s.deviceId, deviceClass: s.deviceClass, site: s.site }),
      );
    fleets.push(fleet);
    await fleet.start();
    await fleet.ready(30_000);
    const device = fleet.devices()[0];
    const rtVm = device.spec.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM');
    if (!rtVm) throw new Error('seed 5 has no post-launched RT VM');
    return { fleet, device, vmName: rtVm.name };
  };

  /** An operator's command: `POST /api/v1/devices/{id}/<action>` → 202 with the command id. */
  const command = async (deviceId: string, action: string, body: object = {}) => {
    const r = await rig.request('POST', `/api/v1/devices/${deviceId}/${action}`, body);
    expect({ action, status: r.status, body: r.body }).toMatchObject({ action, status: 202 });
    expect(r.headers.get('location')).toBe(`/api/v1/commands/${String(r.body.commandId)}`);
    return String(r.body.commandId);
  };

  /** GET /api/v1/commands/{id} until it has the status. */
  const until = async (commandId: string, status: string, ms = 20_000): Promise<Body> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await rig.get(`/api/v1/commands/${commandId}`);
      if (r.status === 200 && r.body.status === status) return r.body;
      if (Date.now() > deadline) throw new Error(`${commandId}: ${r.status} ${r.body.status}, not ${status}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it('delete-vm: the stopped VM is deleted and gone from the next birth', async () => {
    const { device, vmName } = await startFleet('del');
    // The guest powered itself off (acrnctl del needs it stopped).
    expect(await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' })).toMatchObject({
      status: 'accepted',
    });
    const id = await command(device.deviceId, `rt-vms/${vmName}:delete`);
    const done = await until(id, 'succeeded');
    expect(done.acknowledgedAt).not.toBeNull();
    expect(device.vmState(vmName)).toBeUndefined();
    expect(device.birthPayload().vms.map((v) => v.name)).not.toContain(vmName);
  });

  it('shutdown: accepted, the device powers off, comes back with a new birth and then says done', async () => {
    const { device } = await startFleet('off', { shutdownOffMs: 1000 });
    const epoch = device.epoch;
    const id = await command(device.deviceId, 'service-vm:shutdown', { reason: 'test', graceSeconds: 0 });
    await until(id, 'acknowledged');
    const done = await until(id, 'succeeded');
    expect(device.epoch).toBeGreaterThan(epoch);
    expect(Date.parse(done.completedAt!) - Date.parse(done.acknowledgedAt!)).toBeGreaterThanOrEqual(900);
  });

  it('commandFailureRate 1: accepted, then failed with the agent code', async () => {
    const { device, vmName } = await startFleet('fail', { commandFailureRate: 1 });
    await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' });
    const id = await command(device.deviceId, `rt-vms/${vmName}:start`);
    const failed = await until(id, 'failed');
    expect(failed.reply).toMatchObject({ code: 'ACRNCTL_FAILED', message: expect.stringContaining(vmName) });
    expect(device.vmState(vmName)).toBe('stopped');
  });

  it('commandSilenceRate 1: never answered, so the command times out', async () => {
    const { device, vmName } = await startFleet('mute', { commandSilenceRate: 1 });
    await device.sendVmState(vmName, 'stopped', { event: 'VM_EVENT_POWEROFF' });
    const id = await command(device.deviceId, `rt-vms/${vmName}:start`);
    await until(id, 'sent');
    await new Promise((r) => setTimeout(r, 300));
    expect((await rig.get(`/api/v1/commands/${id}`)).body.status).toBe('sent');
    // Its deadline brought forward: the gateway's sweeper times it out.
    await rig.app.get(DeviceCommandStore).sweep(new Date(Date.now() + 61_000));
    expect((await rig.get(`/api/v1/commands/${id}`)).body).toMatchObject({
      status: 'timed-out',
      reply: null,
    });
  });
});
