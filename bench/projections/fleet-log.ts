import { checkPartitionPlan, type Board, type PartitionPlan } from '@hyperfleet/acrn';
import {
  hypervisorEvent,
  partitionPlanEvent,
  rtVmEvent,
  serviceVmEvent,
  streamIds,
  type DeviceClass,
  type DomainEvent,
} from '@hyperfleet/domain';
import type { EventToAppend, JsonObject } from '@hyperfleet/event-store';
import { Rng, deviceIdFor, generateDeviceSpec, mixSeed, type DeviceSpec } from '@hyperfleet/fleet-sim';

/**
 * A simulated fleet's event log, command by command: what the fleet API (provisioning, plans,
 * assignments, budgets, RT VM operations) and the device gateway (births, health reports, vm-state,
 * connectivity) append for thousands of devices. Every append is one command's outcome on one
 * stream, with the events the domain's deciders produce for it (libs/domain: same types, data
 * shapes, schema versions), the command side's metadata ({ command, deviceId }), message ids
 * `<commandId>:<i>`, correlation and causation ids, and the exact expected version.
 *
 * Devices come from fleet-sim's generator (boards, RT VMs pinned to pCPUs, classes, sites, tags,
 * versions). Plans are per (fleet-sim plan id, board family), so every assignment passes
 * @hyperfleet/acrn's check as the domain requires; revisions differ (the domain refuses a no-op
 * revision). Deterministic for a seed.
 */

export interface Append {
  readonly stream: string;
  /** The stream's version before the append; 0 = the stream does not exist yet. */
  readonly expected: number;
  readonly events: EventToAppend[];
}

type AcrnState = 'started' | 'stopped';

interface VmSim {
  name: string;
  loadOrder: 'PRE_LAUNCHED_VM' | 'POST_LAUNCHED_VM';
  pcpus: number[];
  budgetUs: number;
  /** The budget the spec wants; the gateway registers with its default and an operator sets this. */
  specBudgetUs: number;
  worstUs: number;
  state: AcrnState;
  tripleFaults: number;
}

interface DeviceSim {
  id: string;
  cls: DeviceClass;
  site: string;
  tags: string[];
  boardName: string;
  vms: VmSim[];
  provisioned: boolean;
  online: boolean;
  /** Rounds left offline (connectivity loss, reboot); the device is born again at 0. */
  offlineFor: number;
  /** What happens at the next birth. */
  rebirth: 'reconnect' | 'reboot' | 'update' | 'ota';
  health: 'healthy' | 'degraded' | null;
  boots: number;
  osImage: string;
  hvVersion: string;
  planId: string | null;
  reportedRev: number | null;
  desiredRev: number | null;
  msg: number;
}

export interface FleetSnapshot {
  seed: number;
  devices: DeviceSim[];
  versions: [string, number][];
  plans: [string, number][];
  round: number;
  counter: number;
  rng: number;
}

const HEALTH_DETAIL = 'acrn-dm: 1 vm restarted in the last window';
export const DEFAULT_LATENCY_BUDGET_US = 50; // the gateway's DEFAULT_GATEWAY_OPTIONS.defaultLatencyBudgetUs
const NEW_OS_IMAGE = '2025.03.0';

export class FleetLog {
  private readonly devices: DeviceSim[];
  private readonly specs: (DeviceSpec | null)[];
  private readonly versions = new Map<string, number>();
  /** Latest revision per plan id. */
  private readonly plans = new Map<string, number>();
  private planContent = new Map<string, PartitionPlan>();
  private rng: Rng;
  private round = 0;
  private counter = 0;
  private timeMs: number;
  private stepMs = 1;
  /** Live: `at` is the wall clock; history: a simulated clock that ends about now. */
  live = false;
  /** Events produced so far (history + live). */
  produced = 0;

  private constructor(
    readonly seed: number,
    deviceCount: number,
    snapshot?: FleetSnapshot,
  ) {
    this.specs = [];
    if (snapshot) {
      this.devices = snapshot.devices;
      for (const [k, v] of snapshot.versions) this.versions.set(k, v);
      for (const [k, v] of snapshot.plans) this.plans.set(k, v);
      this.round = snapshot.round;
      this.counter = snapshot.counter;
      this.rng = new Rng(snapshot.rng);
    } else {
      this.devices = [];
      for (let i = 0; i < deviceCount; i++) {
        const spec = generateDeviceSpec(seed, i, deviceIdFor('pj', i));
        this.specs.push(spec);
        this.devices.push(simOf(spec));
      }
      this.rng = new Rng(mixSeed(seed, 0x10c));
    }
    this.timeMs = Date.now();
  }

  static create(seed: number, deviceCount: number): FleetLog {
    return new FleetLog(seed, deviceCount);
  }

  static restore(s: FleetSnapshot): FleetLog {
    const f = new FleetLog(s.seed, 0, s);
    f.live = true;
    return f;
  }

  get deviceCount(): number {
    return this.devices.length;
  }

  snapshot(): FleetSnapshot {
    return {
      seed: this.seed,
      devices: this.devices,
      versions: [...this.versions],
      plans: [...this.plans],
      round: this.round,
      counter: this.counter,
      rng: Math.floor(this.rng.float() * 2 ** 32),
    };
  }

  /** Roughly how many events one round (every online device reports once) produces. */
  eventsPerRound(): number {
    return this.devices.reduce((n, d) => n + d.vms.length, 0) * 1.04 + this.devices.length * 0.02;
  }

  /**
   * The history: plans, then devices onboarded in waves while the ones already online report, then
   * rounds of health reports with the occasional operator action, reboot, rollout and outage. Stops
   * after `total` events (the last append may carry one more).
   */
  *history(total: number): Generator<Append> {
    const perRound = Math.max(1, this.eventsPerRound());
    // The simulated clock: one round (every device reporting once) = 10 s, ending about now.
    this.stepMs = 10_000 / perRound;
    this.timeMs = Date.now() - (total / perRound + 1) * 10_000;
    yield* this.createPlans();
    const waves = 5;
    const perWave = Math.ceil(this.devices.length / waves);
    for (;;) {
      if (this.round < waves) {
        const end = Math.min(this.devices.length, (this.round + 1) * perWave);
        for (let i = this.round * perWave; i < end; i++) {
          yield* this.onboard(i);
          if (this.produced >= total) return;
        }
      }
      for (const a of this.roundOf()) {
        yield a;
        if (this.produced >= total) return;
      }
    }
  }

  /** Endless steady-state rounds (the live load). */
  *steady(): Generator<Append> {
    for (;;) yield* this.roundOf();
  }

  // ---------------------------------------------------------------------------------- building

  private at(): string {
    if (this.live) return new Date().toISOString();
    this.timeMs += this.stepMs;
    return new Date(Math.round(this.timeMs)).toISOString();
  }

  private append(
    stream: string,
    command: string,
    commandId: string,
    correlationId: string,
    deviceId: string | null,
    events: readonly DomainEvent[],
  ): Append | null {
    if (events.length === 0) return null;
    const expected = this.versions.get(stream) ?? 0;
    this.versions.set(stream, expected + events.length);
    this.produced += events.length;
    const metadata: JsonObject = deviceId ? { command, deviceId } : { command };
    return {
      stream,
      expected,
      events: events.map((e, i) => ({
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data as JsonObject,
        metadata,
        messageId: `${commandId}:${i}`,
        correlationId,
        causationId: commandId,
      })),
    };
  }

  /** A command from a device message (the gateway's command ids: `<device>/<msgId>/<part>`). */
  private fromDevice(d: DeviceSim, part: string, stream: string, command: string, events: DomainEvent[]) {
    const msgId = `m${d.msg}`;
    return this.append(stream, command, `${d.id}/${msgId}/${part}`, msgId, d.id, events);
  }

  /** A command from the fleet API (an operator or the rollout orchestrator). */
  private fromApi(deviceId: string | null, stream: string, command: string, events: DomainEvent[]) {
    const id = `api-${this.seed}-${++this.counter}`;
    return this.append(stream, command, id, id, deviceId, events);
  }

  // ---------------------------------------------------------------------------------- phases

  private *createPlans(): Generator<Append> {
    const byPlan = new Map<string, { cls: DeviceClass; plan: PartitionPlan; revisions: number }>();
    this.devices.forEach((d, i) => {
      const spec = this.specs[i]!;
      if (!d.planId) return;
      const p = byPlan.get(d.planId);
      const rev = spec.hypervisor.plan!.revision;
      if (!p) byPlan.set(d.planId, { cls: d.cls, plan: spec.plan, revisions: rev });
      else p.revisions = Math.max(p.revisions, rev);
    });
    for (const [planId, p] of byPlan) {
      const stream = streamIds.partitionPlan(planId);
      for (let rev = 1; rev <= p.revisions + 1; rev++) {
        const plan = revisionOf(p.plan, rev);
        this.planContent.set(`${planId}@${rev}`, plan);
        const at = this.at();
        const e =
          rev === 1
            ? partitionPlanEvent('PartitionPlanCreated', {
                planId,
                deviceClass: p.cls,
                description: `${p.cls} ${planId}`,
                revision: 1,
                plan,
                at,
              })
            : partitionPlanEvent('PartitionPlanRevised', { planId, revision: rev, plan, at });
        const a = this.fromApi(null, stream, rev === 1 ? 'CreatePartitionPlan' : 'RevisePartitionPlan', [e]);
        if (a) yield a;
      }
      this.plans.set(planId, p.revisions + 1);
    }
  }

  private *onboard(i: number): Generator<Append> {
    const d = this.devices[i];
    const spec = this.specs[i]!;
    const hv = streamIds.hypervisor(d.id);
    let a = this.fromApi(d.id, hv, 'ProvisionDevice', [
      hypervisorEvent('DeviceProvisioned', {
        deviceId: d.id,
        deviceClass: d.cls,
        site: d.site,
        tags: d.tags,
        at: this.at(),
      }),
    ]);
    if (a) yield a;
    d.provisioned = true;
    yield* this.birth(d, spec.board);
    // The operator: each RT VM's real budget, and the plan the device should run.
    for (const vm of d.vms) {
      if (vm.specBudgetUs === vm.budgetUs) continue;
      a = this.fromApi(d.id, streamIds.rtVm(d.id, vm.name), 'ChangeRtVmLatencyBudget', [
        rtVmEvent('RtVmLatencyBudgetChanged', {
          deviceId: d.id,
          vmName: vm.name,
          budgetUs: vm.specBudgetUs,
          previousBudgetUs: vm.budgetUs,
          at: this.at(),
        }),
      ]);
      vm.budgetUs = vm.specBudgetUs;
      if (a) yield a;
    }
    if (d.planId) {
      const rev = d.reportedRev ?? this.plans.get(d.planId)!;
      yield* this.assign(d, rev, spec.board);
    }
    this.specs[i] = null; // the board and plan are in the log now
  }

  private *assign(d: DeviceSim, rev: number, board?: Board): Generator<Append> {
    const content = this.planContent.get(`${d.planId}@${rev}`);
    // The domain checks the plan against the board; here every plan is made for its board family.
    const warnings = content && board ? checkPartitionPlan(content, board).warnings : [];
    const a = this.fromApi(d.id, streamIds.hypervisor(d.id), 'AssignPartitionPlan', [
      hypervisorEvent('PartitionPlanAssigned', {
        deviceId: d.id,
        planId: d.planId!,
        revision: rev,
        deviceClass: d.cls,
        boardName: d.boardName,
        warnings,
        previous: d.desiredRev !== null ? { planId: d.planId!, revision: d.desiredRev } : null,
        at: this.at(),
      }),
    ]);
    d.desiredRev = rev;
    if (a) yield a;
  }

  /** What a birth appends (apps/device-gateway/src/ingress/effects.ts, birth), given the device's state. */
  private *birth(d: DeviceSim, board?: Board): Generator<Append> {
    d.msg++;
    const at = this.at();
    const hv = streamIds.hypervisor(d.id);
    const first = d.boots === 0;
    const out: (Append | null)[] = [];
    out.push(
      this.fromDevice(d, 'online', hv, 'MarkDeviceOnline', [
        hypervisorEvent('DeviceWentOnline', { deviceId: d.id, at }),
      ]),
    );
    if (first && board) {
      out.push(
        this.fromDevice(d, 'board', hv, 'ReportBoardInventory', [
          hypervisorEvent('BoardInventoryReported', { deviceId: d.id, board, at }),
        ]),
      );
    }
    const upgrade = d.rebirth === 'update' && d.hvVersion !== '3.3';
    if (first || upgrade) {
      const previousVersion = first ? null : d.hvVersion;
      if (upgrade) d.hvVersion = '3.3';
      out.push(
        this.fromDevice(d, 'hypervisor', hv, 'ReportHypervisorVersion', [
          hypervisorEvent('HypervisorVersionReported', {
            deviceId: d.id,
            version: d.hvVersion,
            scenario: d.vms.some((v) => v.loadOrder === 'PRE_LAUNCHED_VM') ? 'hybrid_rt' : 'shared',
            previousVersion,
            at,
          }),
        ]),
      );
    }
    if (first || d.rebirth !== 'reconnect') {
      d.boots++;
      const previousImage = d.osImage;
      if (d.rebirth === 'ota') d.osImage = NEW_OS_IMAGE;
      const events: DomainEvent[] = [
        serviceVmEvent('ServiceVmBooted', {
          deviceId: d.id,
          osImageVersion: d.osImage,
          kernelVersion: '6.1.80-acrn-service-vm',
          bootId: `${d.id}-boot-${d.boots}`,
          at,
        }),
      ];
      if (!first && previousImage !== d.osImage) {
        events.push(
          serviceVmEvent('ServiceVmOsImageChanged', {
            deviceId: d.id,
            from: previousImage,
            to: d.osImage,
            at,
          }),
        );
      }
      out.push(this.fromDevice(d, 'service-vm', streamIds.serviceVm(d.id), 'ReportServiceVmBooted', events));
    }
    if (d.planId && (first || d.rebirth === 'update')) {
      const rev = first ? d.reportedRev : d.desiredRev;
      if (rev !== null && rev !== undefined) {
        d.reportedRev = rev;
        out.push(
          this.fromDevice(d, 'plan', hv, 'ReportPartitionPlan', [
            hypervisorEvent('PartitionPlanReported', {
              deviceId: d.id,
              planId: d.planId,
              revision: rev,
              matchesDesired: d.desiredRev === rev,
              at,
            }),
          ]),
        );
      }
    }
    for (const vm of d.vms) {
      const stream = streamIds.rtVm(d.id, vm.name);
      if (first) {
        out.push(
          this.fromDevice(d, `rtvm/${vm.name}`, stream, 'RegisterRtVm', [
            rtVmEvent('RtVmRegistered', {
              deviceId: d.id,
              vmName: vm.name,
              loadOrder: vm.loadOrder,
              pinnedPcpus: vm.pcpus,
              latencyBudgetUs: vm.budgetUs,
              state: 'started',
              at,
            }),
          ]),
        );
      } else if (vm.state !== 'started') {
        // Already registered: the gateway reports the state the VM came back in.
        out.push(
          this.fromDevice(d, `rtvm-state/${vm.name}`, stream, 'ReportRtVmState', [
            rtVmEvent('RtVmStateReported', {
              deviceId: d.id,
              vmName: vm.name,
              state: 'started',
              previousState: vm.state,
              at,
            }),
          ]),
        );
      }
      vm.state = 'started';
    }
    d.online = true;
    d.rebirth = 'reconnect';
    for (const a of out) if (a) yield a;
  }

  /** One round: every online device's health report, plus what happens to a few of them. */
  private *roundOf(): Generator<Append> {
    this.round++;
    const n = this.devices.length;
    const start = (this.round * 7919) % Math.max(1, n);
    for (let k = 0; k < n; k++) {
      const d = this.devices[(start + k) % n];
      if (!d.provisioned) continue;
      if (!d.online) {
        if (--d.offlineFor <= 0) yield* this.birth(d);
        continue;
      }
      yield* this.health(d);
      yield* this.incidents(d);
    }
  }

  private *health(d: DeviceSim): Generator<Append> {
    d.msg++;
    const at = this.at();
    for (const vm of d.vms) {
      if (vm.state !== 'started') continue;
      const spike = this.rng.chance(0.025);
      const worstCaseUs = spike
        ? Math.round(vm.budgetUs * this.rng.range(1.02, 1.6) * 10) / 10
        : Math.round(vm.worstUs * this.rng.range(0.85, 1.15) * 10) / 10;
      const ref = { deviceId: d.id, vmName: vm.name };
      const events: DomainEvent[] = [
        rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs, budgetUs: vm.budgetUs, at }),
      ];
      if (worstCaseUs > vm.budgetUs) {
        events.push(
          rtVmEvent('RtVmLatencyBudgetBreached', {
            ...ref,
            worstCaseUs,
            budgetUs: vm.budgetUs,
            excessUs: Math.round((worstCaseUs - vm.budgetUs) * 10) / 10,
            at,
          }),
        );
      }
      const a = this.fromDevice(
        d,
        `latency/${vm.name}`,
        streamIds.rtVm(d.id, vm.name),
        'ReportRtVmLatency',
        events,
      );
      if (a) yield a;
    }
    // The Device Model's health: an event only when it changes.
    const next =
      d.health === null
        ? 'healthy'
        : d.health === 'healthy'
          ? this.rng.chance(0.004)
            ? 'degraded'
            : 'healthy'
          : this.rng.chance(0.3)
            ? 'healthy'
            : 'degraded';
    if (next !== d.health) {
      const a = this.fromDevice(d, 'dm-health', streamIds.serviceVm(d.id), 'ReportDeviceModelHealth', [
        serviceVmEvent('DeviceModelHealthChanged', {
          deviceId: d.id,
          health: next,
          previous: d.health,
          detail: next === 'degraded' ? HEALTH_DETAIL : '',
          at,
        }),
      ]);
      d.health = next;
      if (a) yield a;
    }
  }

  private *incidents(d: DeviceSim): Generator<Append> {
    const r = this.rng;
    const hv = streamIds.hypervisor(d.id);
    const svm = streamIds.serviceVm(d.id);
    for (const vm of d.vms) {
      const stream = streamIds.rtVm(d.id, vm.name);
      const ref = { deviceId: d.id, vmName: vm.name };
      if (vm.state === 'stopped') {
        // An operator starts a VM that stopped (triple fault) the round before.
        const a = this.fromApi(d.id, stream, 'StartRtVm', [
          rtVmEvent('RtVmStarted', { ...ref, at: this.at() }),
        ]);
        vm.state = 'started';
        if (a) yield a;
      } else if (r.chance(0.002)) {
        // An operator restarts the VM: stop requested, the guest powers off, start.
        yield* nonNull([
          this.fromApi(d.id, stream, 'StopRtVm', [rtVmEvent('RtVmStopRequested', { ...ref, at: this.at() })]),
          (d.msg++,
          this.fromDevice(d, 'vm-state', stream, 'RecordRtVmPowerOff', [
            rtVmEvent('RtVmPoweredOff', { ...ref, previousState: 'started', at: this.at() }),
          ])),
          this.fromApi(d.id, stream, 'StartRtVm', [rtVmEvent('RtVmStarted', { ...ref, at: this.at() })]),
        ]);
      } else if (r.chance(0.0002)) {
        d.msg++;
        vm.tripleFaults++;
        vm.state = 'stopped';
        const a = this.fromDevice(d, 'vm-state', stream, 'RecordRtVmTripleFault', [
          rtVmEvent('RtVmTripleFaulted', {
            ...ref,
            previousState: 'started',
            tripleFaults: vm.tripleFaults,
            at: this.at(),
          }),
        ]);
        if (a) yield a;
      } else if (r.chance(0.0005)) {
        const budgetUs = vm.budgetUs >= 50 ? 30 : vm.budgetUs + 10;
        const a = this.fromApi(d.id, stream, 'ChangeRtVmLatencyBudget', [
          rtVmEvent('RtVmLatencyBudgetChanged', {
            ...ref,
            budgetUs,
            previousBudgetUs: vm.budgetUs,
            at: this.at(),
          }),
        ]);
        vm.budgetUs = budgetUs;
        if (a) yield a;
      }
    }
    // One draw per device and round for what else happens to it (at most one of these).
    const x = r.float();
    const rollout = d.planId !== null && d.desiredRev !== null && d.desiredRev < this.plans.get(d.planId)!;
    if (x < 0.003) {
      // Connectivity lost: the last will, then a new birth one to three rounds later.
      d.msg++;
      const at = this.at();
      const a = this.fromDevice(d, 'status', hv, 'MarkDeviceOffline', [
        hypervisorEvent('DeviceWentOffline', { deviceId: d.id, at, lastSeenAt: at }),
      ]);
      this.goOffline(d, 'reconnect', r.int(1, 3));
      if (a) yield a;
    } else if (x < 0.004) {
      // An operator reboots the Service VM.
      const a1 = this.fromApi(d.id, svm, 'RequestServiceVmReboot', [
        serviceVmEvent('ServiceVmRebootRequested', {
          deviceId: d.id,
          reason: 'operator request',
          at: this.at(),
        }),
      ]);
      yield* this.shutdown(d, a1, 'reboot');
    } else if (x < 0.006 && rollout) {
      // The rollout of the plan's latest revision: assigned, then the device updates and reboots.
      yield* this.assign(d, this.plans.get(d.planId!)!);
      yield* this.shutdown(d, null, 'update');
    } else if (x >= 0.006 && x < 0.007 && d.osImage !== NEW_OS_IMAGE) {
      yield* this.shutdown(d, null, 'ota');
    } else if (x >= 0.007 && x < 0.0075) {
      const ring = r.pick(['canary', 'early', 'broad']);
      d.tags = [...d.tags.filter((t) => !t.startsWith('ring:')), `ring:${ring}`].sort();
      const a = this.fromApi(d.id, hv, 'UpdateDeviceLabels', [
        hypervisorEvent('DeviceLabelsUpdated', { deviceId: d.id, site: d.site, tags: d.tags, at: this.at() }),
      ]);
      if (a) yield a;
    }
  }

  private *shutdown(
    d: DeviceSim,
    before: Append | null,
    why: 'reboot' | 'update' | 'ota',
  ): Generator<Append> {
    d.msg++;
    const at = this.at();
    yield* nonNull([
      before,
      this.fromDevice(d, 'service-vm', streamIds.serviceVm(d.id), 'ReportServiceVmShuttingDown', [
        serviceVmEvent('ServiceVmShuttingDown', { deviceId: d.id, action: 'reboot', at }),
      ]),
      this.fromDevice(d, 'status', streamIds.hypervisor(d.id), 'MarkDeviceOffline', [
        hypervisorEvent('DeviceWentOffline', { deviceId: d.id, at, lastSeenAt: at }),
      ]),
    ]);
    this.goOffline(d, why, 1);
  }

  private goOffline(d: DeviceSim, rebirth: DeviceSim['rebirth'], rounds: number): void {
    d.online = false;
    d.offlineFor = rounds;
    d.rebirth = rebirth;
    // Post-launched VMs go down with the Service VM and come back with it: Hyperfleet never sees them
    // stopped (no vm-state while offline; the birth reports them started, as the domain had them).
  }
}

function* nonNull(items: (Append | null)[]): Generator<Append> {
  for (const a of items) if (a) yield a;
}

function simOf(spec: DeviceSpec): DeviceSim {
  const rt = spec.vms.filter((v) => v.vmType === 'RTVM');
  return {
    id: spec.deviceId,
    cls: spec.deviceClass,
    site: spec.site,
    tags: [...new Set(spec.tags)].sort(),
    boardName: spec.board.name,
    vms: rt.map((v) => ({
      name: v.name,
      loadOrder: v.loadOrder,
      pcpus: [...v.pcpus].sort((a, b) => a - b),
      budgetUs: DEFAULT_LATENCY_BUDGET_US,
      specBudgetUs: v.latencyBudgetUs ?? DEFAULT_LATENCY_BUDGET_US,
      worstUs: v.baseLatency?.worstUs ?? 10,
      state: 'started',
      tripleFaults: 0,
    })),
    provisioned: false,
    online: false,
    offlineFor: 0,
    rebirth: 'reconnect',
    health: null,
    boots: 0,
    osImage: spec.serviceVm.osImageVersion,
    hvVersion: spec.hypervisor.version,
    // Plans per board family, so that the assignment fits the board (the domain refuses one that does not).
    planId: spec.hypervisor.plan ? `${spec.hypervisor.plan.planId}-${spec.board.name}` : null,
    reportedRev: spec.hypervisor.plan?.revision ?? null,
    desiredRev: null,
    msg: 0,
  };
}

/** Revision `rev` of a plan: the same partitioning, the Service VM's boot arguments differ. */
function revisionOf(plan: PartitionPlan, rev: number): PartitionPlan {
  const copy = structuredClone(plan);
  for (const vm of copy.vms) {
    if (vm.loadOrder === 'SERVICE_VM') {
      vm.osConfig = {
        ...vm.osConfig,
        bootargs: `console=ttyS0,115200 hf.plan.revision=${rev}`,
      } as typeof vm.osConfig;
    }
  }
  return copy;
}
