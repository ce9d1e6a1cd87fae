import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { connect, type MqttClient } from 'mqtt';
import type { Pool } from 'pg';
import { PostgresNotifier } from '@hyperfleet/event-store';
import type { OutboxRelay, TelemetryRelay } from '@hyperfleet/messaging';
import { redact } from '../config/config';
import type { RuntimeInfrastructure } from '../infrastructure';
import { OUTBOX_RELAY, PG_POOL, RUNTIME, TELEMETRY_RELAY } from '../nest/tokens';

/** `degraded`: the dependency is away but the service does its job without it (Kafka: ingest spools). */
export type CheckStatus = 'up' | 'degraded' | 'down';

export interface DependencyHealth {
  readonly status: CheckStatus;
  readonly detail: Record<string, string | number | boolean>;
  readonly error?: string;
}

export interface HealthReport {
  /** `down` (HTTP 503): a dependency the service cannot work without is down; `degraded` is still 200. */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly checks: {
    readonly postgres: DependencyHealth;
    readonly mqtt: DependencyHealth;
    readonly eventTransport: DependencyHealth;
  };
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

/** Reports each dependency the process was configured with, as `GET /health` shows it. */
@Injectable()
export class HealthService implements OnModuleInit, OnModuleDestroy {
  private mqtt: MqttClient | null = null;
  private mqttError: string | null = null;
  private kafkaCache: { at: number; health: DependencyHealth } | null = null;

  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifier: PostgresNotifier,
    @Optional() @Inject(OUTBOX_RELAY) private readonly outboxRelay: OutboxRelay | null = null,
    @Optional() @Inject(TELEMETRY_RELAY) private readonly telemetryRelay: TelemetryRelay | null = null,
  ) {}

  onModuleInit(): void {
    // The embedded broker is in this process (and admits only devices and the gateway): ask it directly.
    if (!this.infra.mqttUrl || this.infra.mqtt.broker) return;
    this.mqtt = connect(this.infra.mqttUrl, {
      clientId: `hf-health-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 2000,
      connectTimeout: 5000,
      ...(process.env.MQTT_GATEWAY_PASSWORD
        ? {
            username: process.env.MQTT_GATEWAY_USERNAME || 'hyperfleet-gateway',
            password: process.env.MQTT_GATEWAY_PASSWORD,
          }
        : {}),
    });
    this.mqtt.on('error', (err) => (this.mqttError = err.message));
    this.mqtt.on('connect', () => (this.mqttError = null));
  }

  async onModuleDestroy(): Promise<void> {
    await this.mqtt?.endAsync(true).catch(() => undefined);
  }

  async check(): Promise<HealthReport> {
    const [postgres, eventTransport] = await Promise.all([this.checkPostgres(), this.checkTransport()]);
    const mqtt = this.checkMqtt();
    const all = [postgres, mqtt, eventTransport];
    const status = all.some((c) => c.status === 'down')
      ? 'down'
      : all.some((c) => c.status === 'degraded')
        ? 'degraded'
        : 'ok';
    return { status, checks: { postgres, mqtt, eventTransport } };
  }

  private async checkPostgres(): Promise<DependencyHealth> {
    const detail = { mode: this.infra.postgres.mode, url: redact(this.infra.databaseUrl) };
    const t0 = process.hrtime.bigint();
    try {
      await withTimeout(this.pool.query('SELECT 1'), 3000, 'PostgreSQL');
      return { status: 'up', detail: { ...detail, latencyMs: Number(process.hrtime.bigint() - t0) / 1e6 } };
    } catch (err) {
      return { status: 'down', detail, error: (err as Error).message };
    }
  }

  private checkMqtt(): DependencyHealth {
    const detail = { mode: this.infra.mqtt.mode, url: redact(this.infra.mqttUrl) };
    const embedded = this.infra.mqtt.broker?.aedes;
    if (embedded) {
      return embedded.closed
        ? { status: 'down', detail, error: 'the embedded broker is closed' }
        : { status: 'up', detail: { ...detail, connectedClients: embedded.connectedClients } };
    }
    if (!this.mqtt) return { status: 'down', detail, error: 'no MQTT broker configured' };
    return this.mqtt.connected
      ? { status: 'up', detail }
      : { status: 'down', detail, error: this.mqttError ?? 'not connected' };
  }

  private async checkTransport(): Promise<DependencyHealth> {
    if (this.infra.transport === 'postgres-log') {
      return this.notifier.connected
        ? { status: 'up', detail: { kind: 'postgres-log' } }
        : {
            status: 'down',
            detail: { kind: 'postgres-log' },
            error: 'LISTEN connection to PostgreSQL is down',
          };
    }
    if (this.kafkaCache && Date.now() - this.kafkaCache.at < 5000)
      return this.withRelays(this.kafkaCache.health);
    const brokers = this.infra.kafkaBrokers ?? [];
    const detail = { kind: 'kafka', brokers: brokers.join(',') };
    let health: DependencyHealth;
    try {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({
        clientId: 'hf-health',
        brokers: [...brokers],
        connectionTimeout: 2000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      }).admin();
      try {
        const cluster = await withTimeout(
          admin.connect().then(() => admin.describeCluster()),
          4000,
          'Kafka',
        );
        health = { status: 'up', detail: { ...detail, brokersUp: cluster.brokers.length } };
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    } catch (err) {
      // Ingest does not need Kafka: telemetry spools in hf.telemetry_log, domain events wait in the
      // event log (the outbox), and both relays publish once the broker is back.
      health = { status: 'degraded', detail: { ...detail, ingest: 'up' }, error: (err as Error).message };
    }
    this.kafkaCache = { at: Date.now(), health };
    return this.withRelays(health);
  }

  /** The relays' backlogs (and the telemetry spool's bound) in the Kafka check's detail. */
  private async withRelays(health: DependencyHealth): Promise<DependencyHealth> {
    const detail: Record<string, string | number | boolean> = { ...health.detail };
    let status = health.status;
    let error = health.error;
    try {
      if (this.outboxRelay) detail.outboxBacklog = (await this.outboxRelay.status()).backlog;
      if (this.telemetryRelay) {
        const t = await this.telemetryRelay.status();
        detail.telemetrySpoolBacklog = t.backlog;
        detail.telemetrySpoolMaxRows = t.maxSpoolRows;
        detail.telemetryDropped = t.dropped;
        if (t.failingSince) detail.telemetryRelayFailingSince = t.failingSince;
        // Alarm before the bound is reached: past it the oldest telemetry is dropped.
        if (t.backlog >= t.maxSpoolRows * 0.8 || t.dropped > 0) {
          detail.telemetrySpoolFull = true;
          if (status === 'up') status = 'degraded';
          error ??= `telemetry spool at ${t.backlog} of ${t.maxSpoolRows} records (${t.dropped} dropped)`;
        }
      }
    } catch (err) {
      detail.relayStatusError = (err as Error).message;
    }
    return { status, detail, ...(error ? { error } : {}) };
  }
}
