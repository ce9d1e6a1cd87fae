import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { buildCommand, encodeCommand, encodeDesired, type CommandName } from '@hyperfleet/contracts';
import { DeviceCommandStore, type DeviceCommandView } from '@hyperfleet/device-commands';
import type { Delivery, EventTransport, TransportSubscription } from '@hyperfleet/messaging';
import { GATEWAY_TRANSPORT } from '../gateway-options';
import { DEVICE_PUBLISHER, type DevicePublisher } from '../mqtt/publisher';
import { SessionStore } from '../sessions/session-store';
import { DesiredStateStore } from './desired-state-store';
import { DeviceIngress } from '../ingress/device-ingress';

type Data = Record<string, unknown>;

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
    let n = 0;
    for (const c of await this.commands.deliverable(deviceId, now)) {
      if (await this.send(c)) n++;
    }
    return n;
  }

  private async apply(batch: readonly Delivery[]): Promise<void> {
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
      if (!toCommand) continue;
      const command = await this.decided(deviceId, d.event.id, d.event.hfcausationid, at, toCommand(data));
      if (command && (await this.sessions.isOnline(deviceId))) await this.send(command);
    }
  }

  /**
   * The command this event decided: the row the API recorded under the domain command's id (the
   * event's causation id), or a new one for a command that came from elsewhere (tests, other
   * services). Marked decided. Null when there is nothing left to send.
   */
  private async decided(
    deviceId: string,
    eventId: string,
    causationId: string | undefined,
    at: Date,
    c: { name: CommandName; args: Record<string, unknown> },
  ): Promise<DeviceCommandView | null> {
    const recorded = causationId ? await this.commands.get(causationId) : null;
    let row = recorded?.deviceId === deviceId ? recorded : null;
    if (!row) {
      // The causation id names the command unless another device's command has it already.
      const commandId = causationId && !recorded ? causationId : eventId;
      const deliverBy = new Date(at.getTime() + EVENT_COMMAND_DELIVERY_WINDOW_MS);
      // A replayed history must not queue what is long past its deadline.
      if (deliverBy.getTime() <= Date.now()) return null;
      await this.commands.record({
        commandId,
        deviceId,
        name: c.name,
        args: c.args,
        deliverBy,
        decidedAt: at,
      });
      row = await this.commands.get(commandId);
      if (!row) return null;
    }
    await this.commands.accepted(row.commandId, at);
    return row.status === 'queued' ? row : null;
  }

  /** queued → sent, then the publish. False when someone else sent it, or it is past its deadline. */
  private async send(c: DeviceCommandView): Promise<boolean> {
    const sentAt = new Date();
    let message;
    try {
      message = encodeCommand(
        c.deviceId,
        c.name,
        buildCommand(c.name, c.args as never, { commandId: c.commandId, issuedAt: sentAt }),
      );
    } catch (err) {
      // Args the agent could not read: refused here rather than sent to fail on the device.
      await this.commands.rejected(c.commandId, {
        code: 'INVALID_COMMAND_ARGS',
        message: `The ${c.name} command's arguments do not match the protocol: ${(err as Error).message}`,
      });
      return false;
    }
    if (!(await this.commands.markSent(c.commandId, sentAt))) return false;
    // Agents act on a command id once (docs/protocol.md): a rare second publish is harmless.
    await this.publisher.publish(message);
    return true;
  }
}
