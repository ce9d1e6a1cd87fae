import type { CommandBus } from '@nestjs/cqrs';
import { topLevelMemberSpan, type DecodedDeviceMessage, type DeviceMessageMap } from '@hyperfleet/contracts';
import {
  DomainRejection,
  MarkDeviceOffline,
  MarkDeviceOnline,
  RecordRtVmPowerOff,
  RecordRtVmTripleFault,
  RecordVmPowerOff,
  RecordVmTripleFault,
  RegisterRtVm,
  RegisterVm,
  ReportBoardInventory,
  ReportDeviceModelHealth,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  ReportRtVmLatency,
  ReportRtVmState,
  ReportServiceVmBooted,
  ReportVmState,
  type CommandMeta,
  type CommandOutcome,
  type DomainCommand,
} from '@hyperfleet/domain';
import type { TransportRecord } from '@hyperfleet/messaging';

/** What a message does: domain commands, in order, and records for the telemetry channel. */
export interface Effect {
  readonly commands: readonly DomainCommand<string, object>[];
  /** RTVMs named in a birth: registered if new, else their state reported. */
  readonly rtVms?: readonly { vmName: string; register: RegisterRtVm; report: ReportRtVmState }[];
  /** Every other VM of a birth (standard VMs and the Service VM), after the RTVMs. */
  readonly vms?: readonly RegisterVm[];
  /** A vm-state: the RTVM's command, and the one for a VM that is not an RTVM (tried when no RTVM has the name). */
  readonly vmState?: {
    readonly rtVm: DomainCommand<string, object>;
    readonly vm: DomainCommand<string, object>;
  };
  readonly telemetry: readonly TransportRecord[];
  /** A cmd-ack to apply to the command log. */
  readonly commandAck?: DeviceMessageMap['cmd-ack']['payload'];
}

export interface EffectOptions {
  /** Latency budget of an RTVM first seen in a birth, until an operator sets one. */
  readonly defaultLatencyBudgetUs: number;
}

const DM_HEALTH = { ok: 'healthy', degraded: 'degraded', down: 'failed' } as const;

/**
 * Translates a decoded device message into what it changes. Command ids derive from the device and
 * the message id, so a redelivered message re-runs into the commands' idempotency, never into a
 * second event.
 */
export function effectOf(decoded: DecodedDeviceMessage, options: EffectOptions): Effect {
  const { deviceId } = decoded;
  const msgId = decoded.message.msgId;
  const meta = (n: string): CommandMeta => ({ commandId: `${deviceId}/${msgId}/${n}`, correlationId: msgId });
  const at = decoded.message.sentAt;
  const none: Effect = { commands: [], telemetry: [] };

  switch (decoded.kind) {
    case 'birth': {
      const b = decoded.message.payload;
      const commands: DomainCommand<string, object>[] = [
        new MarkDeviceOnline({ deviceId, at }, meta('online')),
        new ReportBoardInventory({ deviceId, board: b.board, at }, meta('board')),
        new ReportHypervisorVersion(
          { deviceId, version: b.hypervisor.version, scenario: b.hypervisor.scenario, at },
          meta('hypervisor'),
        ),
        new ReportServiceVmBooted(
          {
            deviceId,
            osImageVersion: b.serviceVm.osImageVersion,
            ...(b.serviceVm.kernelVersion ? { kernelVersion: b.serviceVm.kernelVersion } : {}),
            ...(b.serviceVm.bootId ? { bootId: b.serviceVm.bootId } : {}),
            at,
          },
          meta('service-vm'),
        ),
      ];
      if (b.hypervisor.plan) {
        commands.push(
          new ReportPartitionPlan(
            { deviceId, planId: b.hypervisor.plan.planId, revision: b.hypervisor.plan.revision, at },
            meta('plan'),
          ),
        );
      }
      const rtVms = b.vms
        .filter((vm) => vm.vmType === 'RTVM')
        .map((vm) => ({
          vmName: vm.name,
          register: new RegisterRtVm(
            {
              deviceId,
              vmName: vm.name,
              loadOrder: vm.loadOrder,
              pinnedPcpus: vm.pcpus,
              latencyBudgetUs: options.defaultLatencyBudgetUs,
              state: vm.state,
            },
            meta(`rtvm/${vm.name}`),
          ),
          report: new ReportRtVmState(
            { deviceId, vmName: vm.name, state: vm.state, at },
            meta(`rtvm-state/${vm.name}`),
          ),
        }));
      const vms = [
        new RegisterVm(
          {
            deviceId,
            vmName: b.serviceVm.name,
            vmType: 'STANDARD_VM',
            loadOrder: 'SERVICE_VM',
            pcpus: [],
            imageVersion: b.serviceVm.osImageVersion,
            at,
          },
          meta(`vm/${b.serviceVm.name}`),
        ),
        ...b.vms.flatMap((vm) =>
          vm.vmType === 'RTVM'
            ? []
            : [
                new RegisterVm(
                  {
                    deviceId,
                    vmName: vm.name,
                    vmType: vm.vmType,
                    loadOrder: vm.loadOrder,
                    pcpus: vm.pcpus,
                    imageVersion: vm.imageVersion,
                    state: vm.state,
                    at,
                  },
                  meta(`vm/${vm.name}`),
                ),
              ],
        ),
      ];
      return { commands, rtVms, vms, telemetry: [] };
    }
    case 'vm-state': {
      const p = decoded.message.payload;
      // observedAt is optional: without it the fact is as old as the message.
      const ref = { deviceId, vmName: p.vmName, at: p.observedAt ?? at };
      const rtVm =
        p.event === 'VM_EVENT_POWEROFF'
          ? new RecordRtVmPowerOff(ref, meta('vm-state'))
          : p.event === 'VM_EVENT_TRIPLE_FAULT'
            ? new RecordRtVmTripleFault(ref, meta('vm-state'))
            : new ReportRtVmState({ ...ref, state: p.state }, meta('vm-state'));
      const vm =
        p.event === 'VM_EVENT_POWEROFF'
          ? new RecordVmPowerOff(ref, meta('vm-state/vm'))
          : p.event === 'VM_EVENT_TRIPLE_FAULT'
            ? new RecordVmTripleFault(ref, meta('vm-state/vm'))
            : new ReportVmState({ ...ref, state: p.state }, meta('vm-state/vm'));
      return { commands: [], vmState: { rtVm, vm }, telemetry: [] };
    }
    case 'health': {
      const p = decoded.message.payload;
      const commands: DomainCommand<string, object>[] = p.rtVms.map(
        (vm) =>
          new ReportRtVmLatency(
            { deviceId, vmName: vm.vmName, worstCaseUs: vm.worstCaseLatencyUs, at: p.windowEnd },
            meta(`latency/${vm.vmName}`),
          ),
      );
      commands.push(
        new ReportDeviceModelHealth(
          {
            deviceId,
            health: DM_HEALTH[p.deviceModel.status],
            ...(p.deviceModel.message ? { detail: p.deviceModel.message } : {}),
            at: p.windowEnd,
          },
          meta('dm-health'),
        ),
      );
      // The histograms and loads feed the telemetry rollups; only the worst case is a domain fact.
      return { commands, telemetry: [record(decoded, 'hf.device.health', p)] };
    }
    case 'telemetry':
      return { commands: [], telemetry: [record(decoded, 'hf.device.telemetry', decoded.message.payload)] };
    case 'update-progress':
      // Rollouts consume these; until the rollout aggregate exists they travel as a record, not lost.
      return {
        commands: [],
        telemetry: [record(decoded, 'hf.device.update-progress', decoded.message.payload)],
      };
    case 'status': {
      const p = decoded.message.payload;
      // A last will is built at CONNECT and published when the connection dies: its sentAt is older
      // than the birth it outlives, so the time that counts is when the gateway receives it.
      const seen = new Date().toISOString();
      const command =
        p.state === 'online'
          ? new MarkDeviceOnline({ deviceId, at: seen }, meta('status'))
          : new MarkDeviceOffline({ deviceId, at: seen }, meta('status'));
      return { commands: [command], telemetry: [] };
    }
    case 'cmd-ack':
      return { ...none, commandAck: decoded.message.payload };
  }
}

function record(decoded: DecodedDeviceMessage, type: string, payload: object): TransportRecord {
  const m = decoded.message;
  const head = {
    specversion: '1.0',
    // Deterministic: a redelivered message produces the same id, so consumers can drop the copy.
    id: `${decoded.deviceId}/${m.msgId}`,
    source: `urn:hyperfleet:device:${decoded.deviceId}`,
    type,
    subject: decoded.deviceId,
    time: m.sentAt,
    datacontenttype: 'application/json',
  } as const;
  // Decoded from JSON, so already plain JSON.
  const data = { ...(payload as Record<string, unknown>), epoch: m.epoch, seq: m.seq };
  const json = splicedJson(decoded, head, payload);
  return { key: decoded.deviceId, event: { ...head, data }, ...(json ? { json } : {}) };
}

/**
 * The record as JSON with the payload's own text from the message (serialising a 20-sample batch
 * again cost the gateway as much as parsing it), when the message was taken as parsed (`text`) and
 * its payload is a non-empty object: `{...head, "data": {<payload members>, "epoch": E, "seq": S}}`.
 */
function splicedJson(decoded: DecodedDeviceMessage, head: object, payload: object): string | null {
  const text = decoded.text;
  if (text === undefined || payload !== decoded.message.payload || Object.keys(payload).length === 0)
    return null;
  const span = topLevelMemberSpan(text, 'payload');
  if (!span) return null;
  const members = text.slice(span[0], span[1] - 1); // without its closing brace
  const m = decoded.message;
  return `${JSON.stringify(head).slice(0, -1)},"data":${members},"epoch":${m.epoch},"seq":${m.seq}}}`;
}

/** Runs the effect's commands in order; the first domain rejection stops it and is the answer. */
export async function applyCommands(bus: CommandBus, effect: Effect): Promise<DomainRejection | null> {
  for (const c of effect.commands) {
    const r = await run(bus, c);
    if (r) return r;
  }
  for (const vm of effect.rtVms ?? []) {
    const r = await run(bus, vm.register);
    if (r?.code === 'RTVM_ALREADY_REGISTERED') {
      const again = await run(bus, vm.report);
      if (again) return again;
    } else if (r) {
      return r;
    }
  }
  for (const vm of effect.vms ?? []) {
    const r = await run(bus, vm);
    if (r) return r;
  }
  if (effect.vmState) {
    const r = await run(bus, effect.vmState.rtVm);
    // Not an RTVM: a standard VM, the Service VM (refused with its own code) or unknown (VM_NOT_REGISTERED).
    if (r?.code === 'RTVM_NOT_REGISTERED') return run(bus, effect.vmState.vm);
    return r;
  }
  return null;
}

async function run(bus: CommandBus, command: DomainCommand<string, object>): Promise<DomainRejection | null> {
  try {
    await bus.execute<DomainCommand<string, object>, CommandOutcome>(command);
    return null;
  } catch (err) {
    if (err instanceof DomainRejection) return err;
    throw err;
  }
}
