import type { z } from 'zod';
import {
  BACKEND_PAYLOAD_LIMITS,
  DELIVERY,
  DEVICE_PAYLOAD_LIMITS,
  PROTOCOL_VERSION,
  type CommandName,
  type DeviceMessageKind,
  type Qos,
} from './protocol';
import { isPlainAcceptance, type Reply } from './reply';
import { schemaIssues } from './decode';
import {
  COMMAND_SCHEMAS,
  desiredStateSchema,
  replySchema,
  type CommandInputMap,
  type DesiredStateInput,
} from './schemas/backend';
import { DEVICE_MESSAGE_SCHEMAS, type DeviceMessageInputMap } from './schemas/device';
import { commandTopic, desiredTopic, deviceTopic, replyTopic } from './topics';

/** What to hand to an MQTT client's publish: topic, UTF-8 JSON payload, QoS and retain flag. */
export interface OutboundMessage {
  topic: string;
  payload: Buffer;
  qos: Qos;
  retain: boolean;
}

/** Thrown when the code tries to send something the contract does not allow: a bug, not a runtime condition. */
export class ContractViolationError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`${what} breaks the agent protocol: ${problems.join('; ')}`);
    this.name = 'ContractViolationError';
  }
}

function encode(what: string, schema: z.ZodType, value: unknown, limitBytes: number): Buffer {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ContractViolationError(
      what,
      schemaIssues(parsed.error).map((i) => `${i.path}: ${i.message}`),
    );
  }
  const payload = Buffer.from(JSON.stringify(parsed.data), 'utf8');
  if (payload.byteLength > limitBytes) {
    throw new ContractViolationError(what, [
      `${payload.byteLength} bytes is above the limit of ${limitBytes}`,
    ]);
  }
  return payload;
}

export function encodeReply(deviceId: string, reply: Reply): OutboundMessage {
  return {
    topic: replyTopic(deviceId),
    payload: isPlainAcceptance(reply)
      ? // The reply to almost every message: checked here in a few comparisons instead of by zod,
        // written in the schema's key order (the bytes zod's output would give).
        Buffer.from(
          JSON.stringify({
            protocolVersion: reply.protocolVersion,
            inReplyTo: reply.inReplyTo,
            kind: reply.kind,
            status: reply.status,
          }),
          'utf8',
        )
      : encode('reply', replySchema, reply, BACKEND_PAYLOAD_LIMITS.reply),
    qos: DELIVERY.reply.qos,
    retain: DELIVERY.reply.retain,
  };
}

/** The retained desired-state document. */
export function encodeDesired(deviceId: string, desired: DesiredStateInput): OutboundMessage {
  return {
    topic: desiredTopic(deviceId),
    payload: encode('desired state', desiredStateSchema, desired, BACKEND_PAYLOAD_LIMITS.desired),
    qos: DELIVERY.desired.qos,
    retain: DELIVERY.desired.retain,
  };
}

/** A zero-length retained publish: removes the device's desired state from the broker (decommissioning). */
export function clearDesired(deviceId: string): OutboundMessage {
  return { topic: desiredTopic(deviceId), payload: Buffer.alloc(0), qos: DELIVERY.desired.qos, retain: true };
}

export function encodeCommand<K extends CommandName>(
  deviceId: string,
  command: K,
  message: CommandInputMap[K],
): OutboundMessage {
  return {
    topic: commandTopic(deviceId, command),
    payload: encode(`command ${command}`, COMMAND_SCHEMAS[command], message, BACKEND_PAYLOAD_LIMITS.cmd),
    qos: DELIVERY.cmd.qos,
    retain: DELIVERY.cmd.retain,
  };
}

/** How long the backend gives each command by default, from issuedAt to expiresAt. */
export const DEFAULT_COMMAND_TIMEOUT_MS: { readonly [K in CommandName]: number } = {
  'start-vm': 60_000,
  'stop-vm': 60_000,
  /** acrnctl reset waits up to 30 s for the stop. */
  'restart-vm': 120_000,
  /** acrnctl del of a stopped VM. */
  'delete-vm': 60_000,
  /** Download, install and reboot into a new hypervisor binary. */
  'apply-plan': 30 * 60_000,
  /** Up to 300 s for user VMs to shut down, then the boot. */
  reboot: 15 * 60_000,
  /** Up to 300 s for user VMs to shut down; done comes after the next power-on's birth. */
  shutdown: 15 * 60_000,
};

/** Fills issuedAt/expiresAt from a clock reading and a timeout (the command's default unless given). */
export function buildCommand<K extends CommandName>(
  command: K,
  args: z.input<(typeof COMMAND_SCHEMAS)[K]>['args'],
  options: { commandId: string; issuedAt: Date; timeoutMs?: number },
): CommandInputMap[K] {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS[command];
  return {
    protocolVersion: PROTOCOL_VERSION,
    commandId: options.commandId,
    issuedAt: options.issuedAt.toISOString(),
    expiresAt: new Date(options.issuedAt.getTime() + timeoutMs).toISOString(),
    args,
  } as CommandInputMap[K];
}

/** The agent's (and the simulator's) side: a device message on its topic. */
export function encodeDeviceMessage<K extends DeviceMessageKind>(
  deviceId: string,
  kind: K,
  message: DeviceMessageInputMap[K],
): OutboundMessage {
  return {
    topic: deviceTopic(deviceId, kind),
    payload: encode(kind, DEVICE_MESSAGE_SCHEMAS[kind], message, DEVICE_PAYLOAD_LIMITS[kind]),
    qos: DELIVERY[kind].qos,
    retain: DELIVERY[kind].retain,
  };
}

/**
 * The last will an agent registers in CONNECT: status offline (connection-lost), retained, carrying the
 * epoch the connection's birth will open. Its seq is 0: status is checked against the epoch only.
 */
export function lastWill(
  deviceId: string,
  will: { msgId: string; epoch: number; sentAt: string },
): OutboundMessage {
  return encodeDeviceMessage(deviceId, 'status', {
    protocolVersion: PROTOCOL_VERSION,
    msgId: will.msgId,
    epoch: will.epoch,
    seq: 0,
    sentAt: will.sentAt,
    payload: { state: 'offline', reason: 'connection-lost' },
  });
}
