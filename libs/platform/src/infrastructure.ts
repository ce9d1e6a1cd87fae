import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HyperfleetConfig } from './config/config';
import { redact } from './config/config';
import { EmbeddedMqttBroker } from './embedded/embedded-mqtt';
import { EmbeddedPostgresServer } from './embedded/embedded-postgres';
import { takeBackShutdownSignals } from './embedded/signals';

export type InfraMode = 'embedded' | 'external';

/** What the process runs against, after embedded servers (if any) are up. */
export interface RuntimeInfrastructure {
  readonly config: HyperfleetConfig;
  readonly databaseUrl: string;
  readonly mqttUrl: string;
  readonly kafkaBrokers: readonly string[] | null;
  readonly postgres: { readonly mode: InfraMode; readonly dataDir?: string };
  readonly mqtt: { readonly mode: InfraMode; readonly broker?: EmbeddedMqttBroker };
  readonly transport: 'kafka' | 'postgres-log';
  stop(): Promise<void>;
}

export interface StartInfrastructureOptions {
  readonly needsMqtt?: boolean;
  /** Tools (fleetctl, benchmarks) share a running app's embedded PostgreSQL instead of failing. */
  readonly embeddedPostgres?: 'own' | 'share';
  readonly log?: (line: string) => void;
}

/** Starts what the configuration leaves to us: embedded PostgreSQL and an in-process MQTT broker. */
export async function startInfrastructure(
  config: HyperfleetConfig,
  options: StartInfrastructureOptions = {},
): Promise<RuntimeInfrastructure> {
  const log = options.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    let databaseUrl = config.databaseUrl;
    let pgDataDir: string | undefined;
    if (!databaseUrl) {
      pgDataDir = path.join(config.dataDir, 'postgres');
      const pg = new EmbeddedPostgresServer({
        dataDir: pgDataDir,
        port: config.embedded.postgresPort,
        mode: options.embeddedPostgres ?? 'own',
      });
      log(`Starting embedded PostgreSQL (data in ${pgDataDir}) ...`);
      const { created, adopted } = await pg.start();
      takeBackShutdownSignals();
      stops.push(() => pg.stop());
      log(
        adopted
          ? `Using the running app's embedded PostgreSQL on 127.0.0.1:${config.embedded.postgresPort}`
          : `Embedded PostgreSQL ${created ? 'initialised and ' : ''}listening on 127.0.0.1:${config.embedded.postgresPort}`,
      );
      databaseUrl = pg.url;
    }

    let mqttUrl = config.mqttUrl;
    let broker: EmbeddedMqttBroker | undefined;
    if (!mqttUrl && options.needsMqtt !== false) {
      broker = new EmbeddedMqttBroker({ host: config.embedded.mqttHost, port: config.embedded.mqttPort });
      await broker.start();
      const b = broker;
      stops.push(() => b.stop());
      mqttUrl = broker.url;
    }

    return {
      config,
      databaseUrl,
      mqttUrl: mqttUrl ?? '',
      kafkaBrokers: config.kafkaBrokers,
      postgres: { mode: config.databaseUrl ? 'external' : 'embedded', dataDir: pgDataDir },
      mqtt: { mode: config.mqttUrl ? 'external' : 'embedded', broker },
      transport: config.kafkaBrokers ? 'kafka' : 'postgres-log',
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function describeInfrastructure(infra: RuntimeInfrastructure, httpUrl: string): string {
  const rows: [string, string][] = [
    ['HTTP API', `${httpUrl}   (GET /health)`],
    [
      'PostgreSQL',
      infra.postgres.mode === 'embedded'
        ? `embedded, ${redact(infra.databaseUrl)} (data in ${infra.postgres.dataDir})`
        : redact(infra.databaseUrl),
    ],
    ['MQTT broker', infra.mqtt.mode === 'embedded' ? `embedded (aedes), ${infra.mqttUrl}` : infra.mqttUrl],
    [
      'Event transport',
      infra.transport === 'kafka'
        ? `Kafka at ${infra.kafkaBrokers!.join(',')}`
        : 'PostgreSQL log (set KAFKA_BROKERS to use Kafka)',
    ],
  ];
  // Written by the operator API at its first start (apps/fleet-api/src/auth); the API needs a credential.
  const adminKeyFile = path.join(infra.config.dataDir, 'admin-api-key');
  if (!infra.config.auth.adminApiKey && fs.existsSync(adminKeyFile)) {
    rows.push(['Admin API key', `in ${adminKeyFile} (export HF_API_KEY=$(cat ${adminKeyFile}))`]);
  }
  return rows.map(([k, v]) => `  ${k.padEnd(16)} ${v}`).join('\n');
}
