import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  buildCommand,
  encodeCommand,
  encodeDesired,
  type CommandName,
  type OutboundMessage,
} from '@hyperfleet/contracts';
import {
  DeviceCommandStore,
  type DeviceCommandView,
  type NewDeviceCommand,
} from '@hyperfleet/device-commands';
import type { Delivery, EventTransport, TransportSubscription } from '@hyperfleet/messaging';
import { forEachLimited } from '@hyperfleet/platform';
import { GATEWAY_TRANSPORT } from '../gateway-options';
import { DEVICE_PUBLISHER, type DevicePublisher } from '../mqtt/publisher';
import { SessionStore } from '../sessions/session-store';
import { DesiredStateStore } from './desired-state-store';
import { DeviceIngress } from '../ingress/device-ingress';

type Data = Record<string, unknown>;

/** A command event from the device-events channel. */
interface EventCommand {
  readonly deviceId: string;
  readonly eventId: string;
  readonly causationId: string | undefined;
  readonly at: Date;
  readonly name: CommandName;
  readonly args: Record<string, unknown>;
}

/** Devices whose commands are published at once (one device's stay in order). */
const PUBLISH_CONCURRENCY = 32;

/** How long a command from an event nobody recorded waits for an offline device. */
export const EVENT_COMMAND_DELIVERY_WINDOW_MS = 3600_000;

const reasonOf = (d: Data) =>
  typeof d.reason === 'string' && d.reason ? d.reason : 'requested by an operator';

/** Domain events that ask a device to act, and the agent command each becomes. */
const COMMANDS: Record<string, (d: Data) => { name: CommandName; args: Record<string, unknown> }> = {
  RtVmStarted: (d) => ({ name: 'start-vm', args: { vmName: d.vmName } }),
  RtVmStopRequested: (d) => ({ name: 'stop-vm', args: { vmName: d.vmName, force: false } }),
  RtVmResetRequested: (d) => ({ name: 'restart-vm', args: { vmName: d.vmName } }),
  RtVmDeleted: (d) => ({ name: 'delete-vm', args: { vmName: d.vmName } }),
  ServiceVmRebootRequested: (d) => ({ name: 'reboot', args: { reason: reasonOf(d), graceSeconds: 60 } }),
  ServiceVmShutdownRequested: (d) => ({ name: 'shutdown', args: { reason: reasonOf(d), graceSeconds: 60 } }),
};

/**
 * Backend → device: follows the device-events channel and turns what operators decided into what
 * agents receive — the retained desired-state document and `cmd/<name>` commands. Commands are
 * tracked in hf.commands (@hyperfleet/device-commands): an event marks its command decided, and it
 * goes out only while the device is online; an offline device gets its queued commands after its
 * next birth. Every send is a conditional queued → sent first, so two gateway instances (or a
 * redelivered event and a birth) publish a command once.
 */
@Injectable()
export class DeviceEgress implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('DeviceEgress');
  private subscription: TransportSubscription | null = null;

  constructor(
    @Inject(GATEWAY_TRANSPORT) private readonly transport: EventTransport,
    @Inject(DEVICE_PUBLISHER) private readonly publisher: DevicePublisher,
    private readonly desired: DesiredStateStore,
    private readonly commands: DeviceCommandStore,
    private readonly sessions: SessionStore,
    private readonly ingress: DeviceIngress,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.ingress.onBirth((deviceId) => {
      // The embedded broker keeps retained messages in memory only: a birth gets its document again.
      this.republishDesired(deviceId).catch((err: Error) =>
        this.log.warn(`desired state of ${deviceId}: ${err.message}`),
      );
      this.deliverQueued(deviceId).catch((err: Error) =>
        this.log.warn(`queued commands of ${deviceId}: ${err.message}`),
      );
    });
    this.subscription = await this.transport.subscribe({
      group: 'device-gateway.egress',
      channel: 'device-events',
      handle: (batch) => this.apply(batch),
      onError: (err) => this.log.warn(`egress batch failed (retried): ${(err as Error).message}`),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    await this.subscription?.waitUntilCaughtUp(timeoutMs);
  }

  /** The device's desired state again (a birth after a broker restart lost the retained copy). */
  async republishDesired(deviceId: string): Promise<void> {
    const doc = await this.desired.get(deviceId);
    if (doc) await this.publisher.publish(encodeDesired(deviceId, doc));
  }

  /** Sends a device's decided, queued commands in the order they were recorded (after its birth). */
  async deliverQueued(deviceId: string, now = new Date()): Promise<number> {
    return this.sendMany(await this.commands.deliverable(deviceId, now));
  }

  private async apply(batch: readonly Delivery[]): Promise<void> {
    const work: EventCommand[] = [];
    for (const d of batch) {
      const data = d.event.data as Data;
      const deviceId = typeof data.deviceId === 'string' ? data.deviceId : null;
      if (!deviceId) continue;
      const at = new Date(d.event.time);
      if (d.event.type === 'PartitionPlanAssigned') {
        const doc = await this.desired.apply(
          deviceId,
          { plan: { planId: String(data.planId), revision: Number(data.revision) } },
          d.event.hflogposition ?? '0/0',
          at,
        );
        if (doc) {
          await this.publisher.publish(encodeDesired(deviceId, doc));
          await this.desired.markPublished(deviceId, doc.version);
        }
        continue;
      }
      const toCommand = COMMANDS[d.event.type];
      if (toCommand) {
        work.push({
          deviceId,
          eventId: d.event.id,
          causationId: d.event.hfcausationid,
          at,
          ...toCommand(data),
        });
      }
    }
    if (work.length) await this.decideAndSend(work);
  }

  /**
   * The commands a batch of events decided, a handful of statements for the whole batch: the rows the
   * API recorded under the domain commands' ids (the events' causation ids), new rows for commands
   * that came from elsewhere (tests, other services), all marked decided; then those whose device is
   * online are sent, in event order.
   */
  private async decideAndSend(work: readonly EventCommand[]): Promise<void> {
    const recorded = await this.commands.getMany(work.flatMap((w) => (w.causationId ? [w.causationId] : [])));
    const now = Date.now();
    const fresh: NewDeviceCommand[] = [];
    const decisions: { commandId: string; at: Date }[] = [];
    for (const w of work) {
      const row = w.causationId ? recorded.get(w.causationId) : undefined;
      if (row?.deviceId === w.deviceId) {
        decisions.push({ commandId: row.commandId, at: w.at });
        continue;
      }
      // The causation id names the command unless another device's command has it already.
      const commandId = w.causationId && !row ? w.causationId : w.eventId;
      const deliverBy = new Date(w.at.getTime() + EVENT_COMMAND_DELIVERY_WINDOW_MS);
      // A replayed history must not queue what is long past its deadline.
      if (deliverBy.getTime() <= now) continue;
      fresh.push({ commandId, deviceId: w.deviceId, name: w.name, args: w.args, deliverBy, decidedAt: w.at });
      decisions.push({ commandId, at: w.at });
    }
    if (fresh.length) await this.commands.recordMany(fresh);
    await this.commands.acceptedMany(decisions);
    const current = await this.commands.getMany(decisions.map((d) => d.commandId));
    const queued = decisions.flatMap((d) => {
      const c = current.get(d.commandId);
      return c?.status === 'queued' ? [c] : [];
    });
    if (!queued.length) return;
    const online = await this.sessions.onlineAmong(queued.map((c) => c.deviceId));
    await this.sendMany(queued.filter((c) => online.has(c.deviceId)));
  }

  /**
   * queued → sent for all of them (one conditional UPDATE), then the publishes of those that moved:
   * one device's in order, several devices at once. Returns how many were sent.
   */
  private async sendMany(cs: readonly DeviceCommandView[]): Promise<number> {
    const sentAt = new Date();
    const messages = new Map<string, OutboundMessage>();
    for (const c of cs) {
      if (messages.has(c.commandId)) continue;
      try {
        messages.set(
          c.commandId,
          encodeCommand(
            c.deviceId,
            c.name,
            buildCommand(c.name, c.args as never, { commandId: c.commandId, issuedAt: sentAt }),
          ),
        );
      } catch (err) {
        // Args the agent could not read: refused here rather than sent to fail on the device.
        await this.commands.rejected(c.commandId, {
          code: 'INVALID_COMMAND_ARGS',
          message: `The ${c.name} command's arguments do not match the protocol: ${(err as Error).message}`,
        });
      }
    }
    const moved = await this.commands.markSentMany([...messages.keys()], sentAt);
    const byDevice = new Map<string, OutboundMessage[]>();
    for (const c of cs) {
      const m = messages.get(c.commandId);
      if (!m || !moved.has(c.commandId)) continue;
      moved.delete(c.commandId);
      const list = byDevice.get(c.deviceId) ?? [];
      list.push(m);
      byDevice.set(c.deviceId, list);
    }
    let n = 0;
    // Agents act on a command id once (docs/protocol.md): a rare second publish is harmless.
    await forEachLimited([...byDevice.values()], PUBLISH_CONCURRENCY, async (list) => {
      for (const m of list) {
        await this.publisher.publish(m);
        n++;
      }
    });
    return n;
  }
}
