import { deviceIdProblem } from './ids';
import {
  COMMAND_NAMES,
  DEVICE_MESSAGE_KINDS,
  PROTOCOL_VERSION,
  TOPIC_ROOT,
  isCommandName,
  isDeviceMessageKind,
  type CommandName,
  type DeviceMessageKind,
  type TopicKind,
} from './protocol';

/**
 * Topics: `hf/v1/<deviceId>/<kind>` for device messages, `reply` and `desired`;
 * `hf/v1/<deviceId>/cmd/<name>` for commands.
 */

/** Thrown by the topic builders for a device id that cannot be a topic level. */
export class InvalidDeviceIdError extends Error {
  constructor(
    readonly deviceId: string,
    readonly problem: string,
  ) {
    super(`invalid device id ${JSON.stringify(deviceId)}: ${problem}`);
    this.name = 'InvalidDeviceIdError';
  }
}

function level(deviceId: string): string {
  const problem = deviceIdProblem(deviceId);
  if (problem) throw new InvalidDeviceIdError(deviceId, problem);
  return deviceId;
}

export function deviceTopic(deviceId: string, kind: DeviceMessageKind): string {
  return `${TOPIC_ROOT}/${level(deviceId)}/${kind}`;
}

export function replyTopic(deviceId: string): string {
  return `${TOPIC_ROOT}/${level(deviceId)}/reply`;
}

export function desiredTopic(deviceId: string): string {
  return `${TOPIC_ROOT}/${level(deviceId)}/desired`;
}

export function commandTopic(deviceId: string, command: CommandName): string {
  return `${TOPIC_ROOT}/${level(deviceId)}/cmd/${command}`;
}

/** Every topic of one device, by kind (`topics('dev-1').vmState` …). */
export function topicsFor(deviceId: string) {
  level(deviceId);
  return {
    birth: deviceTopic(deviceId, 'birth'),
    vmState: deviceTopic(deviceId, 'vm-state'),
    updateProgress: deviceTopic(deviceId, 'update-progress'),
    health: deviceTopic(deviceId, 'health'),
    telemetry: deviceTopic(deviceId, 'telemetry'),
    status: deviceTopic(deviceId, 'status'),
    cmdAck: deviceTopic(deviceId, 'cmd-ack'),
    reply: replyTopic(deviceId),
    desired: desiredTopic(deviceId),
    command: (name: CommandName) => commandTopic(deviceId, name),
  };
}

/** What the gateway subscribes to: every device kind of every device (never `hf/v1/+/+`, which would catch replies). */
export const GATEWAY_SUBSCRIPTIONS: readonly string[] = DEVICE_MESSAGE_KINDS.map(
  (k) => `${TOPIC_ROOT}/+/${k}`,
);

/** What an agent subscribes to. */
export function agentSubscriptions(deviceId: string): string[] {
  return [replyTopic(deviceId), desiredTopic(deviceId), `${TOPIC_ROOT}/${level(deviceId)}/cmd/+`];
}

/** AsyncAPI channel address of a kind, with the `{deviceId}` parameter. */
export function channelAddress(kind: Exclude<TopicKind, 'cmd'>): string;
export function channelAddress(kind: 'cmd', command: CommandName): string;
export function channelAddress(kind: TopicKind, command?: CommandName): string {
  return kind === 'cmd' ? `${TOPIC_ROOT}/{deviceId}/cmd/${command}` : `${TOPIC_ROOT}/{deviceId}/${kind}`;
}

export type ParsedTopic =
  | { ok: true; deviceId: string; direction: 'device-to-backend'; kind: DeviceMessageKind }
  | { ok: true; deviceId: string; direction: 'backend-to-device'; kind: 'reply' | 'desired' }
  | { ok: true; deviceId: string; direction: 'backend-to-device'; kind: 'cmd'; command: CommandName };

export interface TopicRejection {
  ok: false;
  code: 'INVALID_TOPIC' | 'UNKNOWN_TYPE' | 'UNSUPPORTED_VERSION';
  /** A clause saying what is wrong, e.g. `the device id contains an MQTT wildcard (+ or #)`. */
  problem: string;
  /** The device id level, when it is a valid one. */
  deviceId?: string;
  /** The kind level, when the topic got that far. */
  kind?: string;
}

function invalid(problem: string, extra: Partial<TopicRejection> = {}): TopicRejection {
  return { ok: false, code: 'INVALID_TOPIC', problem, ...extra };
}

/**
 * Reads a topic: `parseTopic('hf/v1/dev-1/vm-state')` → `{ ok: true, deviceId: 'dev-1', kind: 'vm-state', … }`.
 * Never throws; a bad topic gives INVALID_TOPIC (shape, wildcards, device id), UNSUPPORTED_VERSION
 * (`hf/v2/…`) or UNKNOWN_TYPE (an unknown kind or command under a valid device).
 */
export function parseTopic(topic: string): ParsedTopic | TopicRejection {
  if (topic.length === 0) return invalid('the topic is empty');
  if (topic.includes('\u0000')) return invalid('the topic contains a NUL character');
  if (/[+#]/.test(topic)) return invalid('the topic contains an MQTT wildcard (+ or #)');
  const levels = topic.split('/');
  const [root, version, deviceId, kind, ...rest] = levels;
  if (root !== 'hf') return invalid('the root level is not "hf"');
  if (version === undefined || !/^v[0-9]+$/.test(version))
    return invalid('the second level is not a version like v1');
  if (version !== `v${PROTOCOL_VERSION}`) {
    return { ok: false, code: 'UNSUPPORTED_VERSION', problem: `version ${version} is not supported` };
  }
  if (deviceId === undefined || kind === undefined) return invalid('it has no device id and kind levels');
  const idProblem = deviceIdProblem(deviceId);
  if (idProblem) return invalid(idProblem);
  if (kind === '') return invalid('the kind level is empty', { deviceId });
  if (kind === 'cmd') {
    const [command, ...extra] = rest;
    if (command === undefined || command === '')
      return invalid('a cmd topic needs a command name', { deviceId });
    if (extra.length > 0) return invalid('it has levels after the command name', { deviceId, kind });
    if (!isCommandName(command)) {
      return {
        ok: false,
        code: 'UNKNOWN_TYPE',
        problem: `"${command}" is not a command; expected one of ${COMMAND_NAMES.join(', ')}`,
        deviceId,
        kind: `cmd/${command}`,
      };
    }
    return { ok: true, deviceId, direction: 'backend-to-device', kind: 'cmd', command };
  }
  if (rest.length > 0) return invalid('it has levels after the kind', { deviceId, kind });
  if (isDeviceMessageKind(kind)) return { ok: true, deviceId, direction: 'device-to-backend', kind };
  if (kind === 'reply' || kind === 'desired')
    return { ok: true, deviceId, direction: 'backend-to-device', kind };
  return {
    ok: false,
    code: 'UNKNOWN_TYPE',
    problem: `"${kind}" is not a message kind`,
    deviceId,
    kind,
  };
}

/** The kind level of a device topic, without validating the rest (for picking a size limit). */
export function peekDeviceKind(topic: string): DeviceMessageKind | undefined {
  const kind = topic.split('/')[3];
  return kind !== undefined && isDeviceMessageKind(kind) && topic.split('/').length === 4 ? kind : undefined;
}
