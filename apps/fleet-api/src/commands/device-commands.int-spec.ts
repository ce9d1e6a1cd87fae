/**
 * Device commands through the door a user has: HTTP into fleet-api, the domain, the gateway's egress
 * over a real MQTT broker (aedes, devices log in with the password the API issued) to simulated agents
 * (fleet-sim), their cmd-acks back, and the status resources. Real PostgreSQL.
 */
import { BEHAVIOURS_OFF, Fleet, type DeviceSpec } from '@hyperfleet/fleet-sim';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { Command } from 'commander';
import { registerDeviceCommandsCommands } from '../../../fleetctl/src/commands/device-commands';
import { registerServiceVmCommands } from '../../../fleetctl/src/commands/service-vm';
import { registerVmCommands } from '../../../fleetctl/src/commands/vm';
import { startCommandsRig, type Body, type CommandsRig } from './commands-rig';

jest.setTimeout(120_000);

const FINAL = ['succeeded', 'failed', 'rejected', 'timed-out', 'expired'];

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await probe();
    if (v) return v;
    last = v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('device commands over HTTP', () => {
  let db: TestDatabase;
  let rig: CommandsRig;
  let fleet: Fleet;
  const passwords = new Map<string, string>();
  let dev: DeviceSpec;
  let rtVm: string;

  const vmOf = async (deviceId: string, vmName: string) => {
    const r = await rig.get(`/api/v1/devices/${deviceId}`);
    return r.status === 200 ? (r.body.vms as Body[]).find((v) => v.name === vmName) : undefined;
  };

  beforeAll(async () => {
    db = await createTestDatabase('hf_device_commands');
    rig = await startCommandsRig({ databaseUrl: db.url });
    fleet = new Fleet({
      count: 20,
      seed: 11,
      idPrefix: 'cmd',
      mqttUrl: rig.mqttUrl,
      ...BEHAVIOURS_OFF,
      commandDelayMs: 20,
      rebootDelayMs: 200,
      connectRate: 0,
      credentialsFor: (id) => passwords.get(id),
    });
    for (const s of fleet.specs()) {
      passwords.set(
        s.deviceId,
        await rig.provision({ deviceId: s.deviceId, deviceClass: s.deviceClass, site: s.site }),
      );
    }
    await fleet.start();
    await fleet.ready(60_000);
    dev = fleet
      .specs()
      .find((s) => s.vms.some((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM'))!;
    expect(dev).toBeDefined();
    rtVm = dev.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM')!.name;
    await until('the RT VM in the inventory', () => vmOf(dev.deviceId, rtVm));
  });

  afterAll(async () => {
    await fleet?.stop({ drainTimeoutMs: 2000 });
    await rig?.close();
    await db?.drop();
  });

  it('starts an RT VM: 202 with a Location, then queued → sent → acknowledged → succeeded, and the VM runs', async () => {
    // The agent reports the VM stopped, as acrnctl would after a power-off.
    await fleet.device(dev.deviceId).sendVmState(rtVm, 'stopped');
    await until(
      'the VM stopped in the inventory',
      async () => (await vmOf(dev.deviceId, rtVm))?.state === 'stopped',
    );

    const r = await rig.request('POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ deviceId: dev.deviceId, name: 'start-vm', status: 'queued' });
    const id = r.body.commandId as string;
    expect(r.headers.get('location')).toBe(`/api/v1/commands/${id}`);
    expect(r.body.links.self).toBe(`/api/v1/commands/${id}`);

    const done = await rig.get(`/api/v1/commands/${id}?wait=20s`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      commandId: id,
      batchId: null,
      deviceId: dev.deviceId,
      name: 'start-vm',
      args: { vmName: rtVm },
      status: 'succeeded',
      reply: null,
      actor: expect.objectContaining({ subject: expect.any(String) }),
    });
    const t = done.body;
    expect(Date.parse(t.sentAt)).toBeGreaterThanOrEqual(Date.parse(t.createdAt));
    expect(Date.parse(t.acknowledgedAt)).toBeGreaterThanOrEqual(Date.parse(t.sentAt));
    expect(Date.parse(t.completedAt)).toBeGreaterThanOrEqual(Date.parse(t.acknowledgedAt));
    expect(Date.parse(t.expiresAt)).toBeGreaterThan(Date.parse(t.sentAt));
    expect(Date.parse(t.deliverBy)).toBeGreaterThan(Date.parse(t.createdAt) + 3500_000);

    await until(
      'the VM started in the inventory',
      async () => (await vmOf(dev.deviceId, rtVm))?.state === 'started',
    );

    const mine = await rig.get(`/api/v1/devices/${dev.deviceId}/commands`);
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((c: Body) => c.commandId)).toContain(id);
    const listed = await rig.get(`/api/v1/commands?deviceId=${dev.deviceId}&status=succeeded&limit=5`);
    expect(listed.body.items.map((c: Body) => c.commandId)).toContain(id);
  });

  it('a command the domain refuses is a 4xx with the rule code and a rejected status resource', async () => {
    // The VM runs now: starting it again breaks acrnctl's rule.
    await until('the VM started', async () => (await vmOf(dev.deviceId, rtVm))?.state === 'started');
    const r = await rig.request('POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`, {});
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('RTVM_NOT_STOPPED');
    const id = r.body.details.commandId as string;
    expect(id).toEqual(expect.any(String));
    const c = await rig.get(`/api/v1/commands/${id}`);
    expect(c.body).toMatchObject({ status: 'rejected', reply: { code: 'RTVM_NOT_STOPPED' } });
    expect(c.body.sentAt).toBeNull();

    const unknown = await rig.request('POST', `/api/v1/devices/${dev.deviceId}/rt-vms/NO_SUCH_VM:reset`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('RTVM_NOT_REGISTERED');

    const force = await rig.request('POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:stop`, {
      force: true,
    });
    expect(force.status).toBe(422);
    expect(force.body.code).toBe('RTVM_FORCE_STOP_UNSUPPORTED');

    const listed = await rig.get(`/api/v1/commands?deviceId=${dev.deviceId}&status=rejected`);
    expect(listed.body.items.length).toBeGreaterThanOrEqual(3);
  });

  it('changes a latency budget: 200 with the stream version as ETag; If-Match with a stale version is 412', async () => {
    const url = `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:change-latency-budget`;
    const r = await rig.request('POST', url, { budgetUs: 137 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ deviceId: dev.deviceId, vmName: rtVm, budgetUs: 137 });
    expect(r.headers.get('etag')).toBe(`"${r.body.version}"`);
    const put = await rig.request('PUT', url, { budgetUs: 140 }, { 'if-match': `"${r.body.version}"` });
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(r.body.version + 1);
    const stale = await rig.request('POST', url, { budgetUs: 150 }, { 'if-match': `"${r.body.version}"` });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('PRECONDITION_FAILED');
    await until(
      'the budget in the inventory',
      async () => (await vmOf(dev.deviceId, rtVm))?.latencyBudgetUs === 140,
    );
  });

  it('bulk: a Service VM reboot for 20 simulated devices, answered at once, counted to succeeded', async () => {
    const ids = fleet.deviceIds();
    const r = await rig.request('POST', '/api/v1/bulk-commands', {
      filter: { deviceIds: ids },
      action: 'service-vm.reboot',
      args: { reason: 'bulk test', graceSeconds: 5 },
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ total: 20, counts: { queued: 20, succeeded: 0 } });
    const batchId = r.body.batchId as string;
    expect(r.headers.get('location')).toBe(`/api/v1/bulk-commands/${batchId}`);

    const seen = new Set<string>();
    const view = await until(
      'every device to succeed',
      async () => {
        const b = await rig.get(`/api/v1/bulk-commands/${batchId}`);
        for (const [s, n] of Object.entries(b.body.counts as Record<string, number>)) if (n > 0) seen.add(s);
        return b.body.counts.succeeded === 20 ? b.body : undefined;
      },
      60_000,
    );
    expect(view).toMatchObject({
      batchId,
      action: 'service-vm.reboot',
      args: { reason: 'bulk test', graceSeconds: 5 },
      filter: { deviceIds: ids },
      total: 20,
      done: true,
      actor: expect.objectContaining({ subject: expect.any(String) }),
    });
    expect(seen.has('succeeded')).toBe(true);

    const page1 = await rig.get(`/api/v1/bulk-commands/${batchId}/commands?limit=15`);
    expect(page1.body.items).toHaveLength(15);
    const page2 = await rig.get(
      `/api/v1/bulk-commands/${batchId}/commands?limit=15&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body.items).toHaveLength(5);
    expect(page2.body.nextCursor).toBeNull();
    const devices = new Set([...page1.body.items, ...page2.body.items].map((c: Body) => c.deviceId));
    expect(devices.size).toBe(20);
    for (const c of [...page1.body.items, ...page2.body.items]) {
      expect(c).toMatchObject({
        batchId,
        name: 'reboot',
        status: 'succeeded',
        args: { reason: 'bulk test', graceSeconds: 5 },
      });
    }
    await fleet.ready(30_000);
  });

  it('bulk: devices whose domain refuses are counted as rejected', async () => {
    const r = await rig.request('POST', '/api/v1/bulk-commands', {
      filter: { deviceIds: [dev.deviceId] },
      action: 'rt-vm.delete',
      args: { vmName: rtVm },
    });
    expect(r.status).toBe(202);
    const b = await until('the decision', async () => {
      const v = await rig.get(`/api/v1/bulk-commands/${r.body.batchId}`);
      return v.body.done ? v.body : undefined;
    });
    // The VM runs: acrnctl del needs it stopped.
    expect(b.counts).toMatchObject({ rejected: 1, queued: 0 });
    const items = await rig.get(`/api/v1/commands?batchId=${r.body.batchId}`);
    expect(items.body.items[0]).toMatchObject({ status: 'rejected', reply: { code: 'RTVM_NOT_STOPPED' } });
  });

  it('refuses bad input with 400 VALIDATION_FAILED and unknown ids with 404', async () => {
    const bad: [string, string, unknown][] = [
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/bad%20name!:start`, undefined],
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:stop`, { force: 'yes' }],
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`, { deliverWithinSeconds: 0 }],
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`, { deliverWithinSeconds: 8 * 86400 }],
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`, { surprise: 1 }],
      ['POST', `/api/v1/devices/${dev.deviceId}/service-vm:reboot`, { graceSeconds: 301 }],
      ['POST', `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:change-latency-budget`, { budgetUs: -1 }],
      ['POST', '/api/v1/bulk-commands', { filter: { site: 'x' }, action: 'rt-vm.explode', args: {} }],
      ['POST', '/api/v1/bulk-commands', { filter: { site: 'x' }, action: 'rt-vm.start', args: {} }],
      ['POST', '/api/v1/bulk-commands', { filter: {}, action: 'service-vm.reboot' }],
      [
        'POST',
        '/api/v1/bulk-commands',
        { filter: { site: 'x' }, action: 'service-vm.reboot', args: { vmName: 'A' } },
      ],
      ['GET', '/api/v1/commands?status=done', undefined],
      ['GET', '/api/v1/commands?limit=0', undefined],
      ['GET', '/api/v1/commands?colour=red', undefined],
      ['GET', `/api/v1/commands/abc?wait=forever`, undefined],
    ];
    for (const [method, url, body] of bad) {
      const r = await rig.request(method, url, body);
      expect({ url, body, status: r.status, code: r.body.code }).toEqual({
        url,
        body,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(r.body.details.issues.length).toBeGreaterThan(0);
    }
    const malformed = await rig.request(
      'POST',
      `/api/v1/devices/${dev.deviceId}/rt-vms/${rtVm}:start`,
      '{"deliver',
      {
        'content-type': 'application/json',
      },
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('MALFORMED_JSON');

    const missing = await rig.get('/api/v1/commands/0b0e0f00-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('COMMAND_NOT_FOUND');
    const noBatch = await rig.get('/api/v1/bulk-commands/0b0e0f00-0000-4000-8000-000000000000');
    expect(noBatch.status).toBe(404);
    expect(noBatch.body.code).toBe('BULK_COMMAND_NOT_FOUND');
    const noDevice = await rig.request('POST', '/api/v1/devices/nobody-here/service-vm:reboot');
    expect(noDevice.status).toBe(404);
    expect(noDevice.body.code).toMatch(/^(DEVICE_NOT_PROVISIONED|SERVICE_VM_NOT_FOUND)$/);
  });

  it('documents every command route in the OpenAPI document, with its body, answers and problems', async () => {
    const doc = await rig.get('/docs-json');
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, Body>>;
    const routes: [string, string, string[]][] = [
      ...['start', 'stop', 'reset', 'delete'].map(
        (verb) =>
          [`/api/v1/devices/{id}/rt-vms/{vm}:${verb}`, 'post', ['202', '400', '404', '409']] as [
            string,
            string,
            string[],
          ],
      ),
      ['/api/v1/devices/{id}/rt-vms/{vm}:change-latency-budget', 'post', ['200', '400', '404', '412']],
      ['/api/v1/devices/{id}/rt-vms/{vm}:change-latency-budget', 'put', ['200', '400', '404', '412']],
      ['/api/v1/devices/{id}/service-vm:reboot', 'post', ['202', '400', '404', '409']],
      ['/api/v1/devices/{id}/service-vm:shutdown', 'post', ['202', '400', '404', '409']],
      ['/api/v1/devices/{id}/commands', 'get', ['200', '400', '404']],
      ['/api/v1/commands', 'get', ['200', '400']],
      ['/api/v1/commands/{commandId}', 'get', ['200', '400', '404']],
      ['/api/v1/bulk-commands', 'post', ['202', '400']],
      ['/api/v1/bulk-commands/{batchId}', 'get', ['200', '404']],
      ['/api/v1/bulk-commands/{batchId}/commands', 'get', ['200', '400', '404']],
    ];
    for (const [route, method, statuses] of routes) {
      const op = paths[route]?.[method];
      expect({ route, method, documented: Boolean(op) }).toEqual({ route, method, documented: true });
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(statuses));
      expect(op.summary).toEqual(expect.any(String));
    }
    const bulk = paths['/api/v1/bulk-commands'].post;
    expect(bulk.requestBody.content['application/json'].schema.properties.action.enum).toContain(
      'service-vm.reboot',
    );
    expect(
      paths['/api/v1/commands/{commandId}'].get.responses['200'].content['application/json'].schema.properties
        .status.enum,
    ).toEqual(['queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'rejected', 'timed-out', 'expired']);
  });

  /** fleetctl in process: its verbs against this API, what it prints and the exit code it sets. */
  async function fleetctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const program = new Command().exitOverride();
    registerVmCommands(program);
    registerServiceVmCommands(program);
    registerDeviceCommandsCommands(program);
    const out: string[] = [];
    const err: string[] = [];
    const log = jest
      .spyOn(console, 'log')
      .mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = jest
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    const write = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
    const key = rig.auth.authorization?.replace(/^Bearer /, '');
    process.exitCode = undefined;
    try {
      const defaults = [
        ...(args.includes('--api') ? [] : ['--api', rig.base]),
        ...(key ? ['--api-key', key] : []),
      ];
      await program.parseAsync(['node', 'fleetctl', ...args, ...defaults]);
      return { code: Number(process.exitCode ?? 0), out: out.join('\n'), err: err.join('') };
    } finally {
      process.exitCode = undefined;
      log.mockRestore();
      error.mockRestore();
      write.mockRestore();
    }
  }

  it('fleetctl: vm, commands show and commands bulk, with exit codes a pipeline can use', async () => {
    await until('the VM started', async () => (await vmOf(dev.deviceId, rtVm))?.state === 'started', 60_000);
    await until('no reset pending', async () => (await vmOf(dev.deviceId, rtVm))?.pendingOperation === null);

    const reset = await fleetctl('vm', 'reset', dev.deviceId, rtVm, '--wait', '--timeout', '30s', '--json');
    expect(reset.code).toBe(0);
    const view = JSON.parse(reset.out) as Body;
    expect(view).toMatchObject({ name: 'restart-vm', status: 'succeeded', deviceId: dev.deviceId });

    const show = await fleetctl('commands', 'show', view.commandId);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`restart-vm ${rtVm} on ${dev.deviceId}: succeeded`);

    await until('the VM started again', async () => (await vmOf(dev.deviceId, rtVm))?.state === 'started');
    const refused = await fleetctl('vm', 'start', dev.deviceId, rtVm);
    expect(refused.code).toBe(2);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
    expect(refused.err).toContain('RTVM_NOT_STOPPED');

    const bulk = await fleetctl(
      'commands',
      'bulk',
      'service-vm.reboot',
      '--device',
      dev.deviceId,
      '--wait',
      '--timeout',
      '60s',
    );
    expect(bulk.code).toBe(0);
    expect(bulk.err).toMatch(/bulk service-vm\.reboot \w+ {2}\d+\/1 final/);
    expect(bulk.out).toContain('1/1 final  succeeded 1');

    const list = await fleetctl(
      'commands',
      'list',
      '--device',
      dev.deviceId,
      '--status',
      'succeeded',
      '--json',
    );
    expect(JSON.parse(list.out).items.length).toBeGreaterThanOrEqual(2);

    const usage = await fleetctl('commands', 'bulk', 'rt-vm.explode', '--device', dev.deviceId);
    expect(usage.code).toBe(1);
    expect(usage.err).toContain('unknown action');
    const invalid = await fleetctl('vm', 'budget', dev.deviceId, rtVm, 'lots');
    expect(invalid.code).toBe(1);
    const unreachable = await fleetctl('service-vm', 'reboot', dev.deviceId, '--api', 'http://127.0.0.1:9');
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain('cannot reach the fleet API');
    await fleet.ready(30_000);
  });

  it('?wait returns at the timeout with the current status when the command is not final', async () => {
    // A device that is offline: the command stays queued.
    const spec = fleet.specs()[fleet.specs().length - 1];
    await fleet.device(spec.deviceId).stop();
    const r = await rig.request('POST', `/api/v1/devices/${spec.deviceId}/service-vm:shutdown`, {
      reason: 'maintenance',
      deliverWithinSeconds: 600,
    });
    if (r.status !== 202) {
      // Offline already recorded by the domain may refuse; then the rejection names the command.
      expect(r.body.details.commandId).toEqual(expect.any(String));
      return;
    }
    const t0 = Date.now();
    const c = await rig.get(`/api/v1/commands/${r.body.commandId}?wait=700ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(FINAL).not.toContain(c.body.status);
    expect(c.body).toMatchObject({ name: 'shutdown', args: { reason: 'maintenance' } });
  });
});
