import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { buildCommand, encodeCommand, encodeDesired, type CommandName } from '@hyperfleet/contracts';
import type { Delivery, EventTransport, TransportSubscription } from '@hyperfleet/messaging';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '@hyperfleet/contracts';
import { GATEWAY_TRANSPORT } from '../gateway-options';
import { DEVICE_PUBLISHER, type DevicePublisher } from '../mqtt/publisher';
import { CommandLog } from './command-log';
import { DesiredStateStore } from './desired-state-store';
import { DeviceIngress } from '../ingress/device-ingress';

type Data = Record<string, unknown>;

/** Domain events that ask a device to act, and the agent command each becomes. */
const COMMANDS: Record<string, (d: Data) => { name: CommandName; args: Record<string, unknown> }> = {
  RtVmStarted: (d) => ({ name: 'start-vm', args: { vmName: d.vmName } }),
  RtVmStopRequested: (d) => ({ name: 'stop-vm', args: { vmName: d.vmName, force: false } }),
  RtVmResetRequested: (d) => ({ name: 'restart-vm', args: { vmName: d.vmName } }),
  ServiceVmRebootRequested: (d) => ({
    name: 'reboot',
    args: { reason: d.reason || 'requested by an operator' },
  }),
};

/**
 * Backend → device: follows the device-events channel and turns what operators decided into what
 * agents receive — the retained desired-state document and `cmd/<name>` commands with deadlines.
 */
@Injectable()
export class DeviceEgress implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('DeviceEgress');
  private subscription: TransportSubscription | null = null;

  constructor(
    @Inject(GATEWAY_TRANSPORT) private readonly transport: EventTransport,
    @Inject(DEVICE_PUBLISHER) private readonly publisher: DevicePublisher,
    private readonly desired: DesiredStateStore,
    private readonly commands: CommandLog,
    private readonly ingress: DeviceIngress,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The embedded broker keeps retained messages in memory only: a birth gets its document again.
    this.ingress.onBirth((deviceId) => {
      this.republishDesired(deviceId).catch((err: Error) =>
        this.log.warn(`desired state of ${deviceId}: ${err.message}`),
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
      if (toCommand) await this.send(deviceId, d.event.id, at, toCommand(data));
    }
  }

  private async send(
    deviceId: string,
    commandId: string,
    issuedAt: Date,
    c: { name: CommandName; args: Record<string, unknown> },
  ): Promise<void> {
    const timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS[c.name];
    // A replayed history must not re-run what is long past its deadline.
    if (issuedAt.getTime() + timeoutMs < Date.now()) return;
    const command = buildCommand(c.name, c.args as never, { commandId, issuedAt, timeoutMs });
    await this.commands.issued({
      commandId,
      deviceId,
      name: c.name,
      args: c.args,
      issuedAt: command.issuedAt,
      expiresAt: command.expiresAt,
    });
    // Sent again on redelivery too: agents act on a command id once (docs/protocol.md).
    await this.publisher.publish(encodeCommand(deviceId, c.name, command));
  }
}
