/**
 * Agent protocol v1: the constants every party shares. docs/protocol.md explains each of them; the
 * AsyncAPI document (docs/asyncapi.json) is generated from this library.
 */

/** The protocol version carried in every message and in the topic root (`hf/v1/…`). */
export const PROTOCOL_VERSION = 1 as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION;

/** Topic root: every topic is `hf/v1/<deviceId>/<kind>` (commands: `hf/v1/<deviceId>/cmd/<name>`). */
export const TOPIC_ROOT = `hf/v${PROTOCOL_VERSION}` as const;

/** What an agent publishes (device → backend). Each gets exactly one `reply`. */
export const DEVICE_MESSAGE_KINDS = [
  'birth',
  'vm-state',
  'update-progress',
  'health',
  'telemetry',
  'status',
  'cmd-ack',
] as const;
export type DeviceMessageKind = (typeof DEVICE_MESSAGE_KINDS)[number];

/** Commands the backend issues on `hf/v1/<deviceId>/cmd/<name>`. */
export const COMMAND_NAMES = [
  'start-vm',
  'stop-vm',
  'restart-vm',
  'delete-vm',
  'apply-plan',
  'reboot',
  'shutdown',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** What the backend publishes (backend → device). */
export const BACKEND_MESSAGE_KINDS = ['reply', 'desired', 'cmd'] as const;
export type BackendMessageKind = (typeof BACKEND_MESSAGE_KINDS)[number];

export type TopicKind = DeviceMessageKind | BackendMessageKind;

export function isDeviceMessageKind(value: string): value is DeviceMessageKind {
  return (DEVICE_MESSAGE_KINDS as readonly string[]).includes(value);
}

export function isCommandName(value: string): value is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(value);
}

export function isBackendMessageKind(value: string): value is BackendMessageKind {
  return (BACKEND_MESSAGE_KINDS as readonly string[]).includes(value);
}

const KiB = 1024;

/**
 * Largest payload (bytes of the MQTT PUBLISH payload, UTF-8 JSON) the gateway accepts per device kind;
 * anything larger is rejected with PAYLOAD_TOO_LARGE before it is parsed.
 */
export const DEVICE_PAYLOAD_LIMITS: { readonly [K in DeviceMessageKind]: number } = {
  birth: 256 * KiB,
  'vm-state': 8 * KiB,
  'update-progress': 16 * KiB,
  health: 64 * KiB,
  telemetry: 64 * KiB,
  status: 4 * KiB,
  'cmd-ack': 16 * KiB,
};

/** The largest limit of any device kind: what a topic of unknown kind is measured against. */
export const MAX_DEVICE_PAYLOAD_BYTES = Math.max(...Object.values(DEVICE_PAYLOAD_LIMITS));

/** Largest payload the backend publishes per kind; the encoders refuse to build anything larger. */
export const BACKEND_PAYLOAD_LIMITS: { readonly [K in BackendMessageKind]: number } = {
  reply: 8 * KiB,
  desired: 64 * KiB,
  cmd: 64 * KiB,
};

/**
 * Broker setting to pair with the limits: the largest MQTT packet a client may send. The payload limit
 * plus room for the fixed header, the topic and the packet id.
 */
export const RECOMMENDED_MAX_PACKET_BYTES = MAX_DEVICE_PAYLOAD_BYTES + 1 * KiB;

/** Longest human sentence a reply carries (`message`); longer sentences are cut with an ellipsis. */
export const MAX_REPLY_MESSAGE_LENGTH = 1024;
/** SCHEMA_INVALID lists at most this many zod issues in its sentence and its details. */
export const MAX_REPORTED_ISSUES = 10;
/** Telemetry: samples per batch (besides the byte limit). */
export const MAX_TELEMETRY_SAMPLES = 500;
/** Health: buckets of a latency histogram. */
export const MAX_HISTOGRAM_BUCKETS = 2000;

export type Qos = 0 | 1;
export type Direction = 'device-to-backend' | 'backend-to-device';

export interface Delivery {
  direction: Direction;
  qos: Qos;
  retain: boolean;
  /**
   * `ordered`: checked against the epoch and the sequence (must be above the last one processed).
   * `epoch-only`: checked against the epoch only and never moves the sequence (status, telemetry).
   * `none`: backend messages, which carry no device sequence.
   */
  ordering: 'ordered' | 'epoch-only' | 'none';
}

/** QoS, retain flag and ordering per topic kind. MQTT 3.1.1 is enough: no v5 feature is needed. */
export const DELIVERY: { readonly [K in TopicKind]: Delivery } = {
  birth: { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'ordered' },
  'vm-state': { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'ordered' },
  'update-progress': { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'ordered' },
  health: { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'ordered' },
  telemetry: { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'epoch-only' },
  status: { direction: 'device-to-backend', qos: 1, retain: true, ordering: 'epoch-only' },
  'cmd-ack': { direction: 'device-to-backend', qos: 1, retain: false, ordering: 'ordered' },
  reply: { direction: 'backend-to-device', qos: 1, retain: false, ordering: 'none' },
  desired: { direction: 'backend-to-device', qos: 1, retain: true, ordering: 'none' },
  cmd: { direction: 'backend-to-device', qos: 1, retain: false, ordering: 'none' },
};
