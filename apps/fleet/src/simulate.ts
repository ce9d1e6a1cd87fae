import type { INestApplication } from '@nestjs/common';
import { Client, type Pool } from 'pg';
import { DomainRejection } from '@hyperfleet/domain';
import { DeviceProvisioningService } from '@hyperfleet/fleet-api';
import {
  Fleet,
  formatCount,
  formatElapsed,
  ProgressDisplay,
  type DeviceSpec,
  type StatsSnapshot,
} from '@hyperfleet/fleet-sim';
import { forEachLimited, PG_POOL, type RuntimeInfrastructure, type StopHook } from '@hyperfleet/platform';
import { CredentialError, DeviceCredentialStore } from '../../device-gateway/src/identity';
import type { SimulateOptions } from './cli';

type Out = NodeJS.WriteStream;

/**
 * `npm start -- --simulate N`: once the all-in-one is up, provisions N simulated ACRN devices through
 * the API's own provisioning service (ProvisionDevice, then the MQTT credential), runs them as a
 * `Fleet` of @hyperfleet/fleet-sim in this process against the app's broker, and shows the simulator's
 * progress line and a one-line backend summary. The returned hook stops the fleet cleanly (status
 * offline, DISCONNECT) while the gateway still answers; runApp then closes the app.
 */
export async function startSimulation(
  app: INestApplication,
  infra: RuntimeInfrastructure,
  options: SimulateOptions,
  signal: AbortSignal,
  out: Out = process.stdout,
): Promise<StopHook | undefined> {
  const say = lineWriter(out);
  const upAt = Date.now();
  const mqttUrl = reachable(infra.mqttUrl);
  const passwords = new Map<string, string>();
  const fleet = new Fleet({ ...options.fleet, mqttUrl, credentialsFor: (id) => passwords.get(id) });
  const ids = fleet.deviceIds();
  const { count, seed, idPrefix, telemetryIntervalMs, healthIntervalMs } = fleet.options;
  say(
    `\nSimulated fleet: ${formatCount(count)} ACRN devices (${ids[0]} … ${ids[ids.length - 1]}, seed ${seed}) → ` +
      `${mqttUrl}; telemetry every ${seconds(telemetryIntervalMs)}, health every ${seconds(healthIntervalMs)}; ` +
      `database pool ${infra.config.dbPoolSize}`,
  );
  if (infra.mqtt.mode === 'external') {
    say(
      '  Note: MQTT_URL is an external broker: it accepts these devices only once it knows their new ' +
        'credentials (fleetctl mosquitto-config, then reload the broker).',
    );
  }

  const provisioning = new Provisioning(
    app.get(DeviceProvisioningService, { strict: false }),
    app.get(DeviceCredentialStore, { strict: false }),
  );
  await provisioning.run(fleet.specs(), passwords, signal);
  if (signal.aborted) return undefined;
  const p = provisioning.counts;
  say(
    `Provisioned ${formatCount(count)} devices through the API's provisioning service in ${seconds(Date.now() - upAt)}: ` +
      `${formatCount(p.created)} new, ${formatCount(p.rotated)} known from an earlier run (credential rotated)` +
      (p.issued ? `, ${formatCount(p.issued)} given a first credential` : ''),
  );

  let connectingAt = Date.now();
  let allOnline = false;
  fleet.on('online', () => {
    if (allOnline || fleet.counters.devicesOnline < count) return;
    allOnline = true;
    const now = Date.now();
    say(
      `Simulated fleet: all ${formatCount(count)} devices online (births accepted by the gateway) ` +
        `${seconds(now - connectingAt)} after connecting, ${seconds(now - upAt)} after the app was up`,
    );
  });
  const birthRejections = new Set<string>();
  fleet.on('birth-rejected', ({ deviceId, reply }) => {
    const code = reply.code ?? 'REJECTED';
    if (birthRejections.has(code) || birthRejections.size >= 5) return;
    birthRejections.add(code);
    if (code === 'STALE_SEQUENCE') {
      // docs/protocol.md, "losing the counter": expected on every run after the first.
      say(
        "Simulated fleet: the gateway remembers the devices' epochs from an earlier run and the simulator " +
          'keeps them in memory only, so each device takes the current epoch (STALE_SEQUENCE) and is born again',
      );
    } else {
      say(
        `Simulated fleet: the birth of ${deviceId} was rejected: ${code}${reply.message ? ` (${reply.message})` : ''}`,
      );
    }
  });

  const progress = new ProgressDisplay(() => fleet.stats(), { label: 'fleet-sim', stream: out });
  if (options.progress) progress.start();
  const pool = app.get<Pool>(PG_POOL, { strict: false });
  const summary = new BackendSummary(pool, idPrefix, count, say);
  summary.start(options.summaryIntervalMs);

  connectingAt = Date.now();
  void fleet.start();

  return async () => {
    summary.stop();
    progress.stop();
    const t = Date.now();
    if (!(await databaseAnswers(infra.databaseUrl))) {
      // A terminal's Ctrl-C signals the whole process group, the embedded PostgreSQL included, so it
      // may be gone already. Then no goodbye can be recorded, and every one would only log an error:
      // the devices stay connected until the app has closed and the broker drops them.
      say(
        'PostgreSQL is stopping already (a Ctrl-C in a terminal reaches it too), so the gateway can record ' +
          'no goodbye: the simulated devices stay connected until the broker closes.',
      );
      return;
    }
    say('Stopping the simulated fleet (status offline, then DISCONNECT) ...');
    // Goodbyes in batches: each one the gateway processes holds a pooled connection and needs another.
    await forEachLimited(fleet.devices(), Math.max(1, Math.floor(infra.config.dbPoolSize / 2)), (d) =>
      d.stop(),
    );
    await fleet.stop();
    say(`Simulated fleet stopped in ${seconds(Date.now() - t)}: ${describeRun(fleet.stats())}`);
  };
}

/** Whether the database takes a new connection and answers within `timeoutMs`. */
async function databaseAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface ProvisioningCounts {
  created: number;
  rotated: number;
  issued: number;
}

/**
 * Provisioning a simulated device goes through DeviceProvisioningService, as POST /api/v1/devices
 * does. A device provisioned by an earlier run (same data folder) gets a rotated credential: the
 * backend keeps only password hashes, and the simulator needs the passwords, so none is written to
 * disk and every run hands out new ones.
 */
class Provisioning {
  readonly counts: ProvisioningCounts = { created: 0, rotated: 0, issued: 0 };

  constructor(
    private readonly service: DeviceProvisioningService,
    private readonly credentials: DeviceCredentialStore,
  ) {}

  /** Provisions every device and puts its password in `passwords`; stops early when `signal` aborts. */
  async run(
    specs: readonly DeviceSpec[],
    passwords: Map<string, string>,
    signal: AbortSignal,
    concurrency = 8,
  ): Promise<void> {
    await forEachLimited(specs, concurrency, async (spec) => {
      if (!signal.aborted) passwords.set(spec.deviceId, await this.one(spec));
    });
  }

  private async one(spec: DeviceSpec): Promise<string> {
    const { deviceId, deviceClass, site, tags } = spec;
    try {
      const issued = await this.service.provision({ deviceId, deviceClass, site, tags });
      this.counts.created++;
      return issued.mqtt.password;
    } catch (err) {
      if (!(err instanceof DomainRejection && err.code === 'DEVICE_ALREADY_PROVISIONED')) {
        throw new Error(`provisioning simulated device ${deviceId} failed: ${(err as Error).message}`);
      }
    }
    try {
      const rotated = await this.service.rotate(deviceId);
      this.counts.rotated++;
      return rotated.mqtt.password;
    } catch (err) {
      // Provisioned earlier as another class or site (another --seed) and never given a credential.
      if (!(err instanceof CredentialError && err.code === 'CREDENTIAL_NOT_FOUND')) throw err;
    }
    const issued = await this.credentials.issue(deviceId);
    this.counts.issued++;
    return issued.password;
  }
}

/**
 * One line about the backend every few seconds, from its own tables: devices online as the gateway
 * sees them (hf.device_sessions), messages the gateway processed (hf.device_messages), the event log.
 */
class BackendSummary {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private previous: { at: number; events: number } | undefined;
  private readonly startedAt = Date.now();
  private failed = false;

  constructor(
    private readonly pool: Pool,
    private readonly idPrefix: string,
    private readonly count: number,
    private readonly say: (line: string) => void,
  ) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.print(intervalMs), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async print(intervalMs: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const prefix = `${this.idPrefix}-`;
      const { rows } = await this.pool.query<{ online: number; messages: number; events: string }>(
        `SELECT
           (SELECT count(*) FROM hf.device_sessions WHERE online AND left(device_id, $2) = $1)::int AS online,
           (SELECT count(*) FROM hf.device_messages
              WHERE received_at > now() - $3::int * interval '1 millisecond')::int AS messages,
           (SELECT coalesce(max(global_position), 0) FROM hf.events)::text AS events`,
        [prefix, prefix.length, intervalMs],
      );
      if (!this.timer) return;
      const now = Date.now();
      const events = Number(rows[0].events);
      const rate = this.previous
        ? ` (+${formatCount(((events - this.previous.events) * 1000) / (now - this.previous.at))}/s)`
        : '';
      this.previous = { at: now, events };
      this.say(
        `backend ${formatElapsed(now - this.startedAt)} | devices online ${formatCount(rows[0].online)}/${formatCount(this.count)} ` +
          `(gateway sessions) | gateway ${formatCount((rows[0].messages * 1000) / intervalMs)} msg/s | ` +
          `event log ${formatCount(events)}${rate}`,
      );
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.say(`backend summary unavailable: ${(err as Error).message}`);
      this.failed = true;
    } finally {
      this.busy = false;
    }
  }
}

/** Whole lines on an output that may also carry the progress line, redrawn in place on a terminal. */
function lineWriter(out: Out): (line: string) => void {
  return (line) => out.write(`${out.isTTY ? '\r\x1b[2K' : ''}${line}\n`);
}

/** A broker bound to every interface is reached on loopback. */
function reachable(mqttUrl: string): string {
  return mqttUrl.replace(/^(mqtts?:\/\/)(0\.0\.0\.0|\[::\])(?=:|\/|$)/, '$1127.0.0.1');
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function describeRun(s: StatsSnapshot): string {
  return (
    `${formatCount(s.devicesOnline)} still online, ${formatCount(s.birthsAccepted)} births accepted, ` +
    `${formatCount(s.sent)} messages sent, ${formatCount(s.accepted)} accepted, ${formatCount(s.rejected)} rejected` +
    (s.timedOut ? `, ${formatCount(s.timedOut)} unanswered` : '')
  );
}
