import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reply, decodeDeviceMessage, type DesiredStateInput } from '@hyperfleet/contracts';
import { EmbeddedMqttBroker } from '@hyperfleet/platform';
import { freePort } from '@hyperfleet/testing';
import { FakeGateway, purgeDevices, type FakeGatewayOptions, type ReceivedMessage } from './fake-gateway';
import { Fleet } from './fleet';
import { BEHAVIOURS_OFF, type FleetOptions } from './options';
import type { MessageOutcome } from './sim-device';

/**
 * The simulator against a real Mosquitto, with a minimal gateway played by the test: a real MQTT client
 * that subscribes like the gateway and answers with the contracts' reply builders.
 *
 * Which Mosquitto: FLEET_SIM_MQTT_URL if set (e.g. the shared one, mqtt://127.0.0.1:1883); otherwise a
 * private Mosquitto on a free port, started here from the same binary as the shared one. Not the shared
 * broker by default: the device gateway's suites run a real gateway on it that answers every device's
 * messages (hf/v1/+/birth …), so on one broker each suite would get replies from the other's gateway.
 * Without a mosquitto binary, the shared broker it is. Device ids carry a per-run prefix and each test's
 * gateway answers only its own devices, so runs on a shared broker stay apart as far as they can.
 */

const SHARED_MQTT_URL = 'mqtt://127.0.0.1:1883';
const RUN = `fsit-${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
let MQTT_URL = process.env.FLEET_SIM_MQTT_URL ?? SHARED_MQTT_URL;
let mosquitto: ChildProcess | undefined;
let mosquittoDir: string | undefined;

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

beforeAll(async () => {
  if (process.env.FLEET_SIM_MQTT_URL || spawnSync('mosquitto', ['-h']).error !== undefined) return;
  const port = await freePort();
  mosquittoDir = mkdtempSync(join(tmpdir(), 'fleet-sim-mosquitto-'));
  const conf = join(mosquittoDir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      // As root, mosquitto would drop to its own user; nothing here needs that.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  let log = '';
  mosquitto = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  mosquitto.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  mosquitto.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (mosquitto.exitCode !== null || Date.now() > deadline)
      throw new Error(`mosquitto did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  MQTT_URL = `mqtt://127.0.0.1:${port}`;
});

afterAll(async () => {
  const child = mosquitto;
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  if (mosquittoDir) rmSync(mosquittoDir, { recursive: true, force: true });
});

const ORDERED: readonly string[] = ['vm-state', 'update-progress', 'health', 'cmd-ack'];

const QUIET: Partial<FleetOptions> = {
  ...BEHAVIOURS_OFF,
  connectRate: 0,
  replyTimeoutMs: 5_000,
  reconnectDelayMs: 100,
  commandDelayMs: 20,
  updateStageMs: 20,
  rebootDelayMs: 100,
  drainTimeoutMs: 2_000,
};

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const field = (m: ReceivedMessage, key: string) => m.message?.[key];
const payloadOf = (m: ReceivedMessage) => (m.message?.['payload'] ?? {}) as Record<string, unknown>;
const live = (ms: ReceivedMessage[]) => ms.filter((m) => !m.retained);

let counter = 0;
const cleanups: Array<() => Promise<void>> = [];

/** A fleet and a gateway for one test; both stopped (and the broker tidied) after it. */
async function setup(
  options: Partial<FleetOptions> = {},
  gatewayOptions: Partial<FakeGatewayOptions> = {},
  mqttUrl?: string,
): Promise<{ fleet: Fleet; gw: FakeGateway; prefix: string }> {
  const prefix = `${RUN}-${++counter}`;
  const url = mqttUrl ?? MQTT_URL;
  const gw = new FakeGateway({
    mqttUrl: url,
    decode: true,
    sequence: true,
    record: true,
    devices: (id) => id.startsWith(`${prefix}-`),
    ...gatewayOptions,
  });
  await gw.start();
  const fleet = new Fleet({ ...QUIET, mqttUrl: url, idPrefix: prefix, ...options });
  cleanups.push(async () => {
    await fleet.stop({ drainTimeoutMs: 500 });
    await gw.stop();
    // Persistent sessions and retained status would stay on a shared broker otherwise.
    if (url === SHARED_MQTT_URL || url === process.env.FLEET_SIM_MQTT_URL)
      await purgeDevices(url, fleet.deviceIds());
  });
  return { fleet, gw, prefix };
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('fleet-sim against a real Mosquitto', () => {
  it('connects with a valid birth at seq 0, then status online, then ordered messages one at a time', async () => {
    // The gateway holds each reply 80 ms and records any ordered message that arrives while one is unanswered.
    const outstanding = new Map<string, string>();
    const violations: string[] = [];
    const ref: { gw?: FakeGateway } = {};
    const { fleet, gw } = await setup(
      { count: 3, seed: 7 },
      {
        respond: (m, reply) => {
          if (!ORDERED.includes(m.kind) && m.kind !== 'status') return reply;
          const busy = outstanding.get(m.deviceId);
          if (busy)
            violations.push(
              `${m.deviceId}: ${m.kind} seq ${String(field(m, 'seq'))} while ${busy} unanswered`,
            );
          outstanding.set(m.deviceId, `${m.kind} seq ${String(field(m, 'seq'))}`);
          setTimeout(() => {
            outstanding.delete(m.deviceId);
            ref.gw!.reply(m.deviceId, reply);
          }, 80);
          return null;
        },
      },
    );
    ref.gw = gw;
    await fleet.start();
    await fleet.ready(15_000);
    const id = fleet.deviceIds()[0];
    const device = fleet.device(id);
    const rt = device.spec.vms.find((v) => v.vmType === 'RTVM')!;
    // Fired together: the device must still send the ordered ones strictly one after the other.
    const outcomes: Promise<MessageOutcome>[] = [
      device.sendVmState(rt.name, rt.loadOrder === 'PRE_LAUNCHED_VM' ? 'untracked' : 'started'),
      device.sendHealth(),
      device.sendTelemetry(undefined, 10),
      device.sendVmState(rt.name),
      device.sendHealth(),
      device.sendTelemetry(undefined, 10),
      device.sendVmState(rt.name),
    ];
    const results = await Promise.all(outcomes);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'accepted'));
    expect(violations).toEqual([]);

    const received = live(gw.from(id));
    const [birth, status, ...rest] = received;
    expect(birth.kind).toBe('birth');
    const decoded = decodeDeviceMessage(birth.topic, birth.payload, { authenticatedDeviceId: id });
    expect(decoded.ok).toBe(true);
    expect(field(birth, 'seq')).toBe(0);
    expect(field(birth, 'epoch')).toBe(1);
    expect(status.kind).toBe('status');
    expect(payloadOf(status)).toEqual({ state: 'online', reason: 'connected' });
    expect(field(status, 'seq')).toBe(1);
    // Every later message: same epoch, seq increasing in arrival order of the ordered lane.
    const ordered = rest.filter((m) => ORDERED.includes(m.kind));
    expect(ordered.map((m) => m.kind)).toEqual(['vm-state', 'health', 'vm-state', 'health', 'vm-state']);
    const seqs = ordered.map((m) => field(m, 'seq') as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(rest.every((m) => field(m, 'epoch') === 1)).toBe(true);
    // Every message passed the contracts and the sequence rule at the gateway.
    for (const m of received)
      expect(decodeDeviceMessage(m.topic, m.payload, { authenticatedDeviceId: id }).ok).toBe(true);
    const s = fleet.stats();
    expect(s.devicesOnline).toBe(3);
    expect(s.rejected).toBe(0);
    expect(s.birthsAccepted).toBe(3);
    expect(s.replyLatency.count).toBe(s.replies);
  });

  it('an abrupt disconnect publishes the will with its epoch; the reconnect raises the epoch with a new birth', async () => {
    const { fleet, gw } = await setup({ count: 1, seed: 3 });
    await fleet.start();
    await fleet.ready(10_000);
    const [id] = fleet.deviceIds();
    const device = fleet.device(id);
    const epoch = device.epoch;
    device.disconnectAbruptly({ reconnectAfterMs: 300 });
    const will = await waitFor('the will', () =>
      live(gw.from(id, 'status')).find((m) => payloadOf(m)['reason'] === 'connection-lost'),
    );
    expect(payloadOf(will)).toEqual({ state: 'offline', reason: 'connection-lost' });
    expect(field(will, 'epoch')).toBe(epoch);
    expect(field(will, 'seq')).toBe(0);
    const births = await waitFor('a second birth', () => {
      const b = live(gw.from(id, 'birth'));
      return b.length >= 2 ? b : undefined;
    });
    expect(births.map((b) => field(b, 'epoch'))).toEqual([epoch, epoch + 1]);
    expect(births[1].receivedAt).toBeGreaterThan(will.receivedAt);
    await device.waitOnline(10_000);
    expect(device.epoch).toBe(epoch + 1);
    const s = fleet.stats();
    expect(s.abruptDisconnects).toBe(1);
    expect(s.reconnects).toBe(1);
    expect(s.rejected).toBe(0);
  });

  it('answers commands with cmd-ack accepted then done (or failed with a reason) and reports the VM state', async () => {
    const { fleet, gw } = await setup({ count: 12, seed: 11 });
    // A device with a post-launched RT VM (acrnctl manages it).
    const spec = fleet
      .specs()
      .find((s) => s.vms.some((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM'))!;
    const vmName = spec.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM')!.name;
    const id = spec.deviceId;
    await fleet.start();
    await fleet.device(id).waitOnline(10_000);
    const acks = (commandId: string) =>
      live(gw.from(id, 'cmd-ack')).filter((m) => payloadOf(m)['commandId'] === commandId);
    const outcomes = (commandId: string) => acks(commandId).map((m) => payloadOf(m)['outcome']);

    // An RTVM stops gracefully (without force), as ACRN's Device Model does it.
    const stop = await gw.command(id, 'stop-vm', { vmName });
    await waitFor('stop-vm done', () => outcomes(stop).includes('done'));
    expect(outcomes(stop)).toEqual(['accepted', 'done']);
    expect(fleet.device(id).vmState(vmName)).toBe('stopped');

    const start = await gw.command(id, 'start-vm', { vmName });
    await waitFor('start-vm done', () => outcomes(start).includes('done'));
    expect(outcomes(start)).toEqual(['accepted', 'done']);
    const vmStates = live(gw.from(id, 'vm-state')).filter((m) => payloadOf(m)['commandId'] === start);
    expect(vmStates.map((m) => payloadOf(m))).toEqual([
      expect.objectContaining({ vmName, state: 'started', previousState: 'stopped', commandId: start }),
    ]);
    // accepted, then the state change, then done: in seq order.
    const seqOf = (m: ReceivedMessage) => field(m, 'seq') as number;
    expect(seqOf(acks(start)[0])).toBeLessThan(seqOf(vmStates[0]));
    expect(seqOf(vmStates[0])).toBeLessThan(seqOf(acks(start)[1]));

    const failures: Array<[string, string]> = [];
    const again = await gw.command(id, 'start-vm', { vmName });
    const forced = await gw.command(id, 'stop-vm', { vmName, force: true });
    const ghost = await gw.command(id, 'restart-vm', { vmName: 'NO_SUCH_VM' });
    const expired = await gw.command(
      id,
      'start-vm',
      { vmName },
      { issuedAt: new Date(Date.now() - 120_000), timeoutMs: 60_000 },
    );
    for (const commandId of [again, forced, ghost, expired]) {
      const ack = await waitFor(`the ack of ${commandId}`, () => acks(commandId)[0]);
      failures.push([
        String(payloadOf(ack)['outcome']),
        String((payloadOf(ack)['error'] as { code: string }).code),
      ]);
      expect(acks(commandId)).toHaveLength(1);
    }
    expect(failures).toEqual([
      ['failed', 'VM_STATE_CONFLICT'],
      ['failed', 'FORCE_STOP_UNSUPPORTED'],
      ['failed', 'VM_NOT_FOUND'],
      ['failed', 'COMMAND_EXPIRED'],
    ]);
    // A redelivered command is answered with its latest cmd-ack again, as a new message.
    await gw.command(id, 'start-vm', { vmName }, { commandId: start });
    await waitFor('the repeated ack', () => acks(start).length === 3);
    expect(outcomes(start)).toEqual(['accepted', 'done', 'done']);
    expect(new Set(acks(start).map((m) => field(m, 'msgId'))).size).toBe(3);
    expect(fleet.stats().rejected).toBe(0);
  });

  it('the same seed gives the same devices (boards, VMs, versions); another seed does not', async () => {
    const a = await setup({ count: 4, seed: 42 });
    const b = await setup({ count: 4, seed: 42 });
    const c = await setup({ count: 4, seed: 43 });
    await Promise.all([a, b, c].map(({ fleet }) => fleet.start()));
    await Promise.all([a, b, c].map(({ fleet }) => fleet.ready(15_000)));
    const births = ({ fleet, gw }: { fleet: Fleet; gw: FakeGateway }) =>
      fleet.deviceIds().map((id) => {
        const p = payloadOf(live(gw.from(id, 'birth'))[0]) as { serviceVm: Record<string, unknown> };
        // The boot id is new on every boot; everything else is the device.
        return { ...p, serviceVm: { ...p.serviceVm, bootId: undefined } };
      });
    expect(births(b)).toEqual(births(a));
    expect(births(c)).not.toEqual(births(a));
    expect(a.fleet.specs().map((s) => s.board)).toEqual(b.fleet.specs().map((s) => s.board));
  });

  it('resyncs its epoch after STALE_SEQUENCE on the birth and reconnects above the backend’s epoch', async () => {
    let rejected = false;
    const { fleet, gw } = await setup(
      { count: 1 },
      {
        respond: (m, reply) => {
          if (m.kind !== 'birth' || rejected) return reply;
          rejected = true;
          const msgId = String(field(m, 'msgId'));
          return Reply.protocol(
            msgId,
            'STALE_SEQUENCE',
            { epoch: 1, currentEpoch: 41, birth: true },
            { kind: 'birth' },
          );
        },
        sequence: false,
      },
    );
    await fleet.start();
    const [id] = fleet.deviceIds();
    await fleet.device(id).waitOnline(10_000);
    expect(live(gw.from(id, 'birth')).map((b) => field(b, 'epoch'))).toEqual([1, 42]);
    expect(fleet.device(id).epoch).toBe(42);
    expect(fleet.stats().rejectedByCode).toEqual({ STALE_SEQUENCE: 1 });
    // That first connection ended with DISCONNECT: no will.
    expect(live(gw.from(id, 'status')).filter((m) => payloadOf(m)['reason'] === 'connection-lost')).toEqual(
      [],
    );
  });

  it('re-publishes the same message after a reply timeout, then gives up and goes on', async () => {
    const silence = new Map<string, number>(); // msgId → publications to ignore
    let healths = 0;
    const { fleet, gw } = await setup(
      { count: 1, replyTimeoutMs: 300 },
      {
        respond: (m, reply) => {
          const msgId = String(field(m, 'msgId'));
          if (m.kind === 'health' && !silence.has(msgId)) silence.set(msgId, ++healths === 1 ? 1 : 2);
          const left = silence.get(msgId) ?? 0;
          if (left > 0) {
            silence.set(msgId, left - 1);
            return null;
          }
          return reply;
        },
      },
    );
    await fleet.start();
    const [id] = fleet.deviceIds();
    const device = fleet.device(id);
    await device.waitOnline(10_000);
    const first = await device.sendHealth();
    // The gateway had handled the first copy: the second gets that answer again, flagged duplicate.
    expect(first).toMatchObject({
      status: 'accepted',
      attempts: 2,
      reply: { duplicate: true, code: 'DUPLICATE_MESSAGE' },
    });
    const copies = live(gw.from(id, 'health'));
    expect(copies).toHaveLength(2);
    expect(field(copies[1], 'msgId')).toBe(field(copies[0], 'msgId'));
    expect(field(copies[1], 'seq')).toBe(field(copies[0], 'seq'));

    const second = await device.sendHealth();
    expect(second).toMatchObject({ status: 'timeout', attempts: 2 });
    const after = await device.sendVmState(device.spec.vms[0].name);
    expect(after.status).toBe('accepted');
    expect((after as { seq: number }).seq).toBeGreaterThan((second as { seq: number }).seq);
    const s = fleet.stats();
    expect(s.republished).toBe(2);
    expect(s.timedOut).toBe(1);
  });

  it('sends the current fact again as a new message after a retryable rejection', async () => {
    let failed = false;
    const { fleet, gw } = await setup(
      { count: 1 },
      {
        respond: (m, reply) => {
          if (m.kind !== 'vm-state' || failed) return reply;
          failed = true;
          return Reply.protocol(
            String(field(m, 'msgId')),
            'INTERNAL_ERROR',
            { reference: 'test' },
            { kind: m.kind },
          );
        },
      },
    );
    await fleet.start();
    const [id] = fleet.deviceIds();
    const device = fleet.device(id);
    await device.waitOnline(10_000);
    const vm = device.spec.vms[0];
    const outcome = await device.sendVmState(vm.name);
    expect(outcome.status).toBe('accepted');
    const sent = live(gw.from(id, 'vm-state'));
    expect(sent).toHaveLength(2);
    expect(field(sent[1], 'msgId')).not.toBe(field(sent[0], 'msgId'));
    expect(field(sent[1], 'seq') as number).toBeGreaterThan(field(sent[0], 'seq') as number);
    expect(payloadOf(sent[1])['vmName']).toBe(vm.name);
    expect(fleet.stats()).toMatchObject({ retried: 1, rejectedByCode: { INTERNAL_ERROR: 1 } });
  });

  it('after NOT_REGISTERED (the gateway lost the birth) it opens a new epoch and sends the fact again', async () => {
    let lost = false;
    const { fleet, gw } = await setup(
      { count: 1 },
      {
        sequence: false,
        respond: (m, reply) => {
          if (m.kind !== 'health' || lost) return reply;
          lost = true;
          const details = { epoch: field(m, 'epoch') as number, currentEpoch: null };
          return Reply.protocol(String(field(m, 'msgId')), 'NOT_REGISTERED', details, { kind: m.kind });
        },
      },
    );
    await fleet.start();
    const [id] = fleet.deviceIds();
    const device = fleet.device(id);
    await device.waitOnline(10_000);
    const outcome = await device.sendHealth();
    expect(outcome).toMatchObject({ status: 'accepted', epoch: 2 });
    expect(live(gw.from(id, 'birth')).map((b) => field(b, 'epoch'))).toEqual([1, 2]);
    expect(live(gw.from(id, 'health')).map((h) => field(h, 'epoch'))).toEqual([1, 2]);
    // The first connection ended with DISCONNECT: no will.
    expect(live(gw.from(id, 'status')).map((m) => payloadOf(m)['state'])).toEqual(['online', 'online']);
  });

  it('runs updates from the desired state: stages in order, forced failures, and a hypervisor update across a reboot', async () => {
    const { fleet, gw } = await setup({ count: 12, seed: 11 });
    const spec = fleet
      .specs()
      .find((s) => s.vms.some((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM'))!;
    const vmName = spec.vms.find((v) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM')!.name;
    const id = spec.deviceId;
    await fleet.start();
    const device = fleet.device(id);
    await device.waitOnline(10_000);
    const artefact = {
      url: 'https://artefacts.example.com/rt.img',
      sha256: 'a'.repeat(64),
      sizeBytes: 1024,
    };
    const desired = (version: number, change: Partial<DesiredStateInput>): DesiredStateInput => ({
      protocolVersion: 1,
      version,
      issuedAt: new Date().toISOString(),
      plan: null,
      hypervisor: null,
      serviceVm: null,
      rtVms: [],
      ...change,
    });
    const progress = (version: number) =>
      live(gw.from(id, 'update-progress'))
        .map((m) => payloadOf(m))
        .filter((p) => p['desiredVersion'] === version);
    const stages = (version: number) => [...new Set(progress(version).map((p) => p['stage']))];

    await gw.desired(
      id,
      desired(1, { rtVms: [{ vmName, imageVersion: 'rt-linux-6.6.99-rt99', artefact, rolloutId: 'ro-1' }] }),
    );
    await waitFor('activated', () => stages(1).includes('activated'));
    expect(stages(1)).toEqual(['downloading', 'verifying', 'installing', 'rebooting', 'activated']);
    expect(device.installed.vms[vmName]).toBe('rt-linux-6.6.99-rt99');
    expect(device.vmState(vmName)).toBe('started');

    device.forceNextUpdate({ failAt: 'installing' });
    await gw.desired(
      id,
      desired(2, { rtVms: [{ vmName, imageVersion: 'rt-linux-7.0.0-rt1', artefact, rolloutId: 'ro-2' }] }),
    );
    await waitFor('failed', () => stages(2).includes('failed'));
    expect(stages(2)).toEqual(['downloading', 'verifying', 'installing', 'failed']);
    expect(progress(2).at(-1)!['error']).toMatchObject({ code: 'INSTALL_FAILED' });
    expect(device.installed.vms[vmName]).toBe('rt-linux-6.6.99-rt99');

    // A hypervisor update reboots: status offline (shutdown), a new epoch whose birth shows the new version,
    // then activated.
    const epoch = device.epoch;
    device.forceNextUpdate({ regressLatency: true });
    await gw.desired(
      id,
      desired(3, {
        plan: { planId: 'sim-plan', revision: 9 },
        hypervisor: { version: '3.4', artefact, rolloutId: 'ro-3' },
      }),
    );
    await waitFor('activated after the reboot', () => stages(3).includes('activated'), 15_000);
    expect(stages(3)).toEqual(['downloading', 'verifying', 'installing', 'rebooting', 'activated']);
    const goodbye = live(gw.from(id, 'status')).find(
      (m) => field(m, 'epoch') === epoch && payloadOf(m)['state'] === 'offline',
    );
    expect(payloadOf(goodbye!)).toEqual({ state: 'offline', reason: 'shutdown' });
    const birth = live(gw.from(id, 'birth')).find((m) => field(m, 'epoch') === epoch + 1)!;
    expect(payloadOf(birth)).toMatchObject({
      hypervisor: { version: '3.4', plan: { planId: 'sim-plan', revision: 9 } },
      desiredVersion: 3,
    });
    expect(device.installed.hypervisor.version).toBe('3.4');
    // The regression shows in the next health message: every latency at least 3× the VM's floor.
    const health = await device.sendHealth();
    expect(health.status).toBe('accepted');
    const window = payloadOf(live(gw.from(id, 'health')).at(-1)!) as {
      rtVms: Array<{ vmName: string; minLatencyUs: number }>;
    };
    expect(window.rtVms.length).toBeGreaterThan(0);
    for (const rt of window.rtVms) {
      const floor = spec.vms.find((v) => v.name === rt.vmName)!.baseLatency!.minUs;
      expect(rt.minLatencyUs).toBeGreaterThanOrEqual(floor * 3 - 0.1);
    }
    const s = fleet.stats();
    expect(s).toMatchObject({
      updatesStarted: 3,
      updatesActivated: 2,
      updatesFailed: 1,
      reboots: 1,
      rejected: 0,
    });
  });

  it('a clean stop says status offline (shutdown) and disconnects, so the broker drops the will', async () => {
    const { fleet, gw } = await setup({ count: 2 });
    await fleet.start();
    await fleet.ready(10_000);
    await fleet.stop();
    for (const id of fleet.deviceIds()) {
      const statuses = live(gw.from(id, 'status')).map((m) => payloadOf(m));
      expect(statuses).toEqual([
        { state: 'online', reason: 'connected' },
        { state: 'offline', reason: 'shutdown' },
      ]);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const id of fleet.deviceIds()) {
      expect(live(gw.from(id, 'status')).filter((m) => payloadOf(m)['reason'] === 'connection-lost')).toEqual(
        [],
      );
    }
    expect(fleet.stats()).toMatchObject({ devicesOnline: 0, devicesConnected: 0, pending: 0 });
  });
});

describe('fleet-sim credentials', () => {
  it('authenticates with username = device id and the password from credentialsFor', async () => {
    const seen: Array<[string, string]> = [];
    const port = await freePort();
    const broker = new EmbeddedMqttBroker({
      host: '127.0.0.1',
      port,
      options: {
        authenticate: (client, username, password, done) => {
          if (client.id.startsWith('fake-gateway')) return done(null, true);
          seen.push([username ?? '', password?.toString() ?? '']);
          done(null, username === client.id && password?.toString() === `pw-${client.id}`);
        },
      },
    });
    await broker.start();
    try {
      const { fleet } = await setup(
        {
          count: 3,
          reconnectDelayMs: 5_000,
          credentialsFor: (id) => (id.endsWith('-00002') ? 'wrong' : `pw-${id}`),
        },
        {},
        broker.url,
      );
      await fleet.start();
      const [a, b, c] = fleet.deviceIds();
      await fleet.device(a).waitOnline(10_000);
      await fleet.device(b).waitOnline(10_000);
      await waitFor('the refused CONNECT', () => fleet.stats().connectErrors > 0);
      expect(fleet.device(c).online).toBe(false);
      expect(seen).toEqual(
        expect.arrayContaining([
          [a, `pw-${a}`],
          [b, `pw-${b}`],
          [c, 'wrong'],
        ]),
      );
      expect(Object.keys(fleet.stats().connectErrorsByReason).join()).toMatch(/connack-(4|5)/);
      await cleanups.pop()!();
    } finally {
      await broker.stop();
    }
  });
});
