/** Tunables of the device gateway; defaults suit a small fleet on one machine. */
export interface GatewayOptions {
  /** RTVM latency budget (µs) for a VM first seen in a birth, until an operator sets one. */
  readonly defaultLatencyBudgetUs: number;
  /** A device heard from neither by message nor by will for this long is marked offline. */
  readonly heartbeatTimeoutMs: number;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** Replies are remembered for dedupe this long (docs/protocol.md: at least 24 h). */
  readonly replyRetentionMs: number;
  /** MQTT connections to an external broker, sharing one MQTT 5 shared subscription group. */
  readonly mqttConnections: number;
  /**
   * Messages each of those connections takes before the first is acknowledged (MQTT 5 Receive
   * Maximum). They are decided together; their PUBACKs still go out in order, each once its effect
   * is durable.
   */
  readonly mqttInflight: number;
  readonly sharedGroup: string;
  /** Identifies this gateway instance's MQTT sessions (persistent: redelivery after a crash). */
  readonly instanceId: string;
  /** How long the broker keeps a disconnected gateway session's unacknowledged messages. */
  readonly sessionExpirySeconds: number;
  /** Embedded broker: devices log in with their credential. Off only in tests of the protocol itself. */
  readonly authenticateDevices: boolean;
  /**
   * Batches of device messages decided at once. Each holds its devices' session row locks on a
   * connection of the gateway's own pool of this size while its commands use the shared pool, so
   * the two never starve each other; what arrives meanwhile forms the next batches.
   */
  readonly deviceConcurrency: number;
  /** How often commands past a deadline are moved to expired / timed-out. */
  readonly commandSweepIntervalMs: number;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  defaultLatencyBudgetUs: 50,
  heartbeatTimeoutMs: 90_000,
  rateLimitPerSecond: 50,
  rateLimitBurst: 200,
  replyRetentionMs: 48 * 3600_000,
  mqttConnections: 16,
  mqttInflight: 64,
  sharedGroup: 'hyperfleet-gateway',
  instanceId: 'gw-1',
  sessionExpirySeconds: 24 * 3600,
  authenticateDevices: true,
  deviceConcurrency: 4,
  commandSweepIntervalMs: 5000,
};

export const GATEWAY_OPTIONS = Symbol('GatewayOptions');
export const GATEWAY_TRANSPORT = Symbol('GatewayEventTransport');

/** GATEWAY_* environment variables over the defaults (validated: a bad value is a startup error). */
export function gatewayOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayOptions {
  const num = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`${name}: must be a number >= ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
  return {
    defaultLatencyBudgetUs: num(
      'GATEWAY_DEFAULT_LATENCY_BUDGET_US',
      DEFAULT_GATEWAY_OPTIONS.defaultLatencyBudgetUs,
      1,
    ),
    heartbeatTimeoutMs: num('GATEWAY_HEARTBEAT_TIMEOUT_MS', DEFAULT_GATEWAY_OPTIONS.heartbeatTimeoutMs, 1000),
    rateLimitPerSecond: num('GATEWAY_RATE_LIMIT_PER_SECOND', DEFAULT_GATEWAY_OPTIONS.rateLimitPerSecond, 1),
    rateLimitBurst: num('GATEWAY_RATE_LIMIT_BURST', DEFAULT_GATEWAY_OPTIONS.rateLimitBurst, 1),
    replyRetentionMs: DEFAULT_GATEWAY_OPTIONS.replyRetentionMs,
    mqttConnections: num('GATEWAY_MQTT_CONNECTIONS', DEFAULT_GATEWAY_OPTIONS.mqttConnections, 1),
    mqttInflight: num('GATEWAY_MQTT_INFLIGHT', DEFAULT_GATEWAY_OPTIONS.mqttInflight, 1),
    sharedGroup: env.GATEWAY_SHARED_GROUP || DEFAULT_GATEWAY_OPTIONS.sharedGroup,
    instanceId: env.GATEWAY_INSTANCE_ID || DEFAULT_GATEWAY_OPTIONS.instanceId,
    sessionExpirySeconds: num(
      'GATEWAY_SESSION_EXPIRY_SECONDS',
      DEFAULT_GATEWAY_OPTIONS.sessionExpirySeconds,
      0,
    ),
    authenticateDevices: DEFAULT_GATEWAY_OPTIONS.authenticateDevices,
    deviceConcurrency: num('GATEWAY_DEVICE_CONCURRENCY', DEFAULT_GATEWAY_OPTIONS.deviceConcurrency, 1),
    commandSweepIntervalMs: num(
      'GATEWAY_COMMAND_SWEEP_INTERVAL_MS',
      DEFAULT_GATEWAY_OPTIONS.commandSweepIntervalMs,
      100,
    ),
  };
}
