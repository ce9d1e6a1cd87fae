import { readFileSync } from 'node:fs';

/** What a device's password is; undefined for none. The backend authenticates username = device id. */
export type CredentialsSource = (deviceId: string) => string | undefined | Promise<string | undefined>;

/**
 * Everything a fleet run can be told. Intervals and delays are in milliseconds; an interval of 0 turns
 * that behaviour off. Probabilities are per minute unless said otherwise.
 */
export interface FleetOptions {
  /** Number of simulated devices. */
  count: number;
  mqttUrl: string;
  /** The seed everything is drawn from: the same seed gives the same devices. */
  seed: number;
  /** Device ids are `<idPrefix>-<index, 5 digits>`. */
  idPrefix: string;
  /** Index of the first device (to split one fleet over several processes). */
  firstIndex: number;
  /** Health (cyclictest window, Service VM load, Device Model) every this often; 0: never. */
  healthIntervalMs: number;
  /** A telemetry batch every this often; 0: never. */
  telemetryIntervalMs: number;
  /** Samples per telemetry batch (spread over the VMs and the interval). */
  telemetryBatch: number;
  /** Telemetry batches in flight per device at most (telemetry is pipelined; ordered kinds are not). */
  maxTelemetryInFlight: number;
  /** Per running post-launched RT VM and minute: a triple fault (VM_EVENT_TRIPLE_FAULT). */
  tripleFaultProb: number;
  /** Per post-launched VM and minute: the VM powers off (VM_EVENT_POWEROFF) or, if stopped, is started. */
  vmChurnProb: number;
  /** Per device and minute: the connection drops without DISCONNECT (the broker fires the will). */
  reconnectProb: number;
  /** Per update: the update fails (download, verification, installation, or boot). */
  updateFailProb: number;
  /** Per activated update: RT latency regresses by `latencyRegressFactor`. */
  latencyRegressProb: number;
  latencyRegressFactor: number;
  /** New MQTT connections per second across the fleet (reconnects included); 0: no limit. */
  connectRate: number;
  /** MQTT keep-alive in seconds. */
  keepaliveSec: number;
  /** No reply by then: re-publish the same message once, then give up. */
  replyTimeoutMs: number;
  /** Retryable rejections (RATE_LIMITED, INTERNAL_ERROR, NOT_REGISTERED): new messages at most this often per fact. */
  maxRetries: number;
  /** How long an update stage takes. */
  updateStageMs: number;
  /** How long acrnctl takes for a start, stop or reset. */
  commandDelayMs: number;
  /** Per command: the agent accepts it, then answers failed with an agent error code (ACRNCTL_FAILED, …). */
  commandFailureRate: number;
  /** Per command: the agent never answers (the backend times it out). */
  commandSilenceRate: number;
  /** How long a device stays powered off after a shutdown command; 0: it stays off. */
  shutdownOffMs: number;
  /** From DISCONNECT to the next CONNECT when the platform reboots. */
  rebootDelayMs: number;
  /** First delay before reconnecting after a lost connection (doubles on failures, up to a minute). */
  reconnectDelayMs: number;
  /** How long a triple-faulted RT VM stays down before the Service VM's watchdog starts it again. */
  faultRestartMs: number;
  /** On stop: how long to wait for queued messages to be answered before saying goodbye. */
  drainTimeoutMs: number;
  /** Check every outgoing message against the contracts' zod schemas (encodeDeviceMessage). */
  validate: boolean;
  /** Passwords; the username is always the device id. Default: none. */
  credentialsFor?: CredentialsSource;
}

export const DEFAULT_FLEET_OPTIONS: FleetOptions = {
  count: 10,
  mqttUrl: 'mqtt://127.0.0.1:1883',
  seed: 1,
  idPrefix: 'sim',
  firstIndex: 0,
  healthIntervalMs: 60_000,
  telemetryIntervalMs: 10_000,
  telemetryBatch: 20,
  maxTelemetryInFlight: 4,
  tripleFaultProb: 0.001,
  vmChurnProb: 0.01,
  reconnectProb: 0.002,
  updateFailProb: 0.05,
  latencyRegressProb: 0,
  latencyRegressFactor: 3,
  connectRate: 200,
  keepaliveSec: 60,
  replyTimeoutMs: 30_000,
  maxRetries: 5,
  updateStageMs: 2_000,
  commandDelayMs: 500,
  commandFailureRate: 0,
  commandSilenceRate: 0,
  shutdownOffMs: 30_000,
  rebootDelayMs: 5_000,
  reconnectDelayMs: 2_000,
  faultRestartMs: 20_000,
  drainTimeoutMs: 10_000,
  validate: true,
};

/** No spontaneous behaviour (periodic reports, faults, churn, reconnects, failed updates): the caller drives. */
export const BEHAVIOURS_OFF = {
  healthIntervalMs: 0,
  telemetryIntervalMs: 0,
  tripleFaultProb: 0,
  vmChurnProb: 0,
  reconnectProb: 0,
  updateFailProb: 0,
} as const satisfies Partial<FleetOptions>;

export function resolveFleetOptions(options: Partial<FleetOptions> = {}): FleetOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...DEFAULT_FLEET_OPTIONS, ...defined } as FleetOptions;
  const problems = fleetOptionProblems(resolved);
  if (problems.length > 0) throw new Error(`invalid fleet options: ${problems.join('; ')}`);
  return resolved;
}

export function fleetOptionProblems(o: FleetOptions): string[] {
  const problems: string[] = [];
  const nonNegative = (name: keyof FleetOptions) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.push(`${name} must be a number ≥ 0`);
  };
  const probability = (name: keyof FleetOptions) => {
    const v = o[name];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) problems.push(`${name} must be a probability (0–1)`);
  };
  if (!Number.isInteger(o.count) || o.count < 0) problems.push('count must be a whole number ≥ 0');
  if (!Number.isInteger(o.firstIndex) || o.firstIndex < 0)
    problems.push('firstIndex must be a whole number ≥ 0');
  if (!Number.isInteger(o.seed)) problems.push('seed must be a whole number');
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,100}$/.test(o.idPrefix)) {
    problems.push('idPrefix must be 1–101 of letters, digits, ".", "_", ":" or "-", starting alphanumeric');
  }
  if (!/^(mqtts?|tcp|ssl|wss?):\/\//.test(o.mqttUrl))
    problems.push(`mqttUrl ${o.mqttUrl} is not an MQTT URL`);
  for (const n of [
    'healthIntervalMs',
    'telemetryIntervalMs',
    'connectRate',
    'updateStageMs',
    'commandDelayMs',
    'shutdownOffMs',
    'rebootDelayMs',
    'reconnectDelayMs',
    'faultRestartMs',
    'drainTimeoutMs',
    'maxRetries',
  ] as const)
    nonNegative(n);
  for (const n of [
    'tripleFaultProb',
    'vmChurnProb',
    'reconnectProb',
    'updateFailProb',
    'latencyRegressProb',
    'commandFailureRate',
    'commandSilenceRate',
  ] as const)
    probability(n);
  if (!Number.isInteger(o.telemetryBatch) || o.telemetryBatch < 1 || o.telemetryBatch > 500) {
    problems.push('telemetryBatch must be 1–500 samples');
  }
  if (!Number.isInteger(o.maxTelemetryInFlight) || o.maxTelemetryInFlight < 1) {
    problems.push('maxTelemetryInFlight must be ≥ 1');
  }
  if (!(o.latencyRegressFactor >= 1)) problems.push('latencyRegressFactor must be ≥ 1');
  if (!Number.isInteger(o.keepaliveSec) || o.keepaliveSec < 0 || o.keepaliveSec > 65535) {
    problems.push('keepaliveSec must be 0–65535');
  }
  if (!(o.replyTimeoutMs > 0)) problems.push('replyTimeoutMs must be > 0');
  if (o.commandFailureRate + o.commandSilenceRate > 1) {
    problems.push('commandFailureRate + commandSilenceRate must be ≤ 1');
  }
  return problems;
}

/**
 * A duration as people write it: `500ms`, `30s`, `5m`, `2h`, or a bare number of seconds.
 * Returns milliseconds.
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 2h, or seconds)`);
  const value = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(value * factor);
}

/** `{ "<deviceId>": "<password>" }` from a JSON file, as a credentials source. */
export function credentialsFromFile(path: string): CredentialsSource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read credentials from ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return credentialsFromObject(parsed, path);
}

export function credentialsFromObject(value: unknown, what = 'credentials'): CredentialsSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object of device id → password`);
  }
  const map = new Map<string, string>();
  for (const [id, password] of Object.entries(value)) {
    if (typeof password !== 'string') throw new Error(`${what}: the password of ${id} is not a string`);
    map.set(id, password);
  }
  return (deviceId) => map.get(deviceId);
}
