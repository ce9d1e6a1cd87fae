import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import type { OutboundMessage } from '@hyperfleet/contracts';
import { DomainRejection, MarkDeviceOffline } from '@hyperfleet/domain';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { DEVICE_COMMANDS_MIGRATION_SET, DeviceCommandStore } from '@hyperfleet/device-commands';
import { GATEWAY_OPTIONS, type GatewayOptions } from './gateway-options';
import { DeviceIngress } from './ingress/device-ingress';
import { AedesIngress } from './mqtt/aedes-ingress';
import { MqttClientIngress } from './mqtt/mqtt-client-ingress';
import type { DevicePublisher } from './mqtt/publisher';
import { EmbeddedBrokerAuth, GATEWAY_ACCOUNT, type GatewayAccount } from './identity';
import { GATEWAY_MIGRATION_SET } from './sessions/migrations';
import { SessionStore } from './sessions/session-store';

/**
 * Starts the gateway on whatever broker the process has: inside the embedded aedes broker, or as
 * a shared-subscription client of an external one. Also runs the sweepers: silent devices go
 * offline, commands past their deadline expire, old replies are forgotten.
 */
@Injectable()
export class GatewayLifecycle
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown, DevicePublisher
{
  private readonly log = new Logger('DeviceGateway');
  private adapter: AedesIngress | MqttClientIngress | null = null;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
    private readonly ingress: DeviceIngress,
    private readonly sessions: SessionStore,
    private readonly commands: DeviceCommandStore,
    private readonly bus: CommandBus,
    private readonly brokerAuth: EmbeddedBrokerAuth,
    @Inject(GATEWAY_ACCOUNT) private readonly account: GatewayAccount | null,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.infra.config.migrateOnStart) {
      await runMigrations(this.pool, GATEWAY_MIGRATION_SET);
      await runMigrations(this.pool, DEVICE_COMMANDS_MIGRATION_SET);
    }
  }

  /**
   * Devices are let in only at bootstrap: the command handlers register in CqrsModule's bootstrap
   * hook (a global module, so it runs first), and a broker replays unacknowledged messages the
   * moment the gateway connects.
   */
  async onApplicationBootstrap(): Promise<void> {
    const aedes = this.infra.mqtt.broker?.aedes;
    if (this.infra.mqtt.mode === 'embedded' && aedes) {
      // Identity first: credentials at CONNECT, topic rules; the ingress wraps what it installed.
      if (this.options.authenticateDevices) this.brokerAuth.install();
      const a = new AedesIngress(aedes, this.ingress);
      a.install();
      this.adapter = a;
    } else {
      const c = new MqttClientIngress(
        {
          url: this.infra.mqttUrl,
          username: this.account?.username,
          password: this.account?.password,
          connections: this.options.mqttConnections,
          inflight: this.options.mqttInflight,
          sharedGroup: this.options.sharedGroup,
          instanceId: this.options.instanceId,
          protocolVersion: process.env.MQTT_PROTOCOL_VERSION === '4' ? 4 : 5,
          sessionExpirySeconds: this.options.sessionExpirySeconds,
          log: (line) => this.log.warn(line),
        },
        this.ingress,
      );
      await c.start();
      this.adapter = c;
    }
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch((err: Error) => this.log.warn(err.message)), ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(1000, Math.floor(this.options.heartbeatTimeoutMs / 3)), () => this.sweepSilentDevices());
    every(this.options.commandSweepIntervalMs, () => this.sweepCommands());
    every(3600_000, () => this.sessions.pruneReplies(this.options.replyRetentionMs));
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    this.timers = [];
    if (this.adapter instanceof AedesIngress) this.adapter.uninstall();
    else await this.adapter?.stop();
    this.adapter = null;
    await this.sessions.close();
  }

  publish(message: OutboundMessage): Promise<void> {
    if (!this.adapter) return Promise.reject(new Error('the device gateway is not started'));
    return this.adapter.publish(message);
  }

  /** Commands past a deadline: queued ones expire, those in flight time out (conditional UPDATEs). */
  async sweepCommands(now = new Date()): Promise<{ expired: number; timedOut: number }> {
    return this.commands.sweep(now);
  }

  /** Devices whose agent died without its will reaching us (a broker restart, a partition). */
  async sweepSilentDevices(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.options.heartbeatTimeoutMs);
    let n = 0;
    for (const d of await this.sessions.silentDevices(before)) {
      if (!(await this.sessions.markSilentOffline(d.deviceId, d.epoch, before))) continue;
      try {
        await this.bus.execute(
          new MarkDeviceOffline(
            { deviceId: d.deviceId, at: now.toISOString(), lastSeenAt: d.lastSeenAt.toISOString() },
            { commandId: `${d.deviceId}/silent/${d.epoch}` },
          ),
        );
        n++;
      } catch (err) {
        if (!(err instanceof DomainRejection)) throw err;
      }
    }
    return n;
  }
}
