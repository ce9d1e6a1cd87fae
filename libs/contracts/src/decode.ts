import type { z } from 'zod';
import { isExactDeviceMessage } from './exact-shape';
import { isValidDeviceId } from './ids';
import {
  DEVICE_PAYLOAD_LIMITS,
  MAX_DEVICE_PAYLOAD_BYTES,
  MAX_REPORTED_ISSUES,
  PROTOCOL_VERSION,
  BACKEND_PAYLOAD_LIMITS,
  DEVICE_MESSAGE_KINDS,
  type CommandName,
  type DeviceMessageKind,
} from './protocol';
import { Reply } from './reply';
import { type ProtocolReplyCode, type ReplyDetailsByCode, type SchemaIssue } from './reply-codes';
import {
  COMMAND_SCHEMAS,
  desiredStateSchema,
  replySchema,
  type CommandMap,
  type DesiredState,
} from './schemas/backend';
import { messageIdSchema } from './schemas/common';
import { DEVICE_MESSAGE_SCHEMAS, type DeviceMessageMap } from './schemas/device';
import { parseTopic, peekDeviceKind, replyTopic as replyTopicOf } from './topics';

/** An MQTT payload as a client hands it over (a Buffer is a Uint8Array), or a string. */
export type MqttPayload = Uint8Array | string;

/** Zod issues as `{ path, message }`, the path dotted from the message root (`payload.vms.0.state`). */
export function schemaIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

function bytesOf(payload: MqttPayload): Uint8Array {
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
}

type JsonResult = { ok: true; value: unknown; text: string } | { ok: false; error: string };

/** Stateless between calls (no `stream` option), so one serves every message. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8, then JSON.parse. An empty payload is not JSON. */
export function parseJsonPayload(bytes: Uint8Array): JsonResult {
  if (bytes.byteLength === 0) return { ok: false, error: 'the payload is empty' };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, error: 'the payload is not UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, text };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function readableId(value: unknown): string | null {
  const parsed = messageIdSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function schemaDetails(kind: string, error: z.ZodError): ReplyDetailsByCode['SCHEMA_INVALID'] {
  // Paths and messages may quote the sender's keys: clip them so that the reply stays within its limit.
  const issues = schemaIssues(error);
  return {
    kind,
    issues: issues
      .slice(0, MAX_REPORTED_ISSUES)
      .map((i) => ({ path: clip(i.path, 160), message: clip(i.message, 240) })),
    issueCount: issues.length,
  };
}

// ------------------------------------------------------------------------------------ device messages

export interface DecodeDeviceOptions {
  /**
   * The device the MQTT connection authenticated as (client certificate CN, or username). With a broker
   * whose ACL already binds `hf/v1/%u/#` to the user, the topic's id cannot differ from it.
   */
  authenticatedDeviceId: string;
}

/** A device message that passed every check: the gateway goes on with dedupe and the sequence rule. */
export type DecodedDeviceMessage = {
  [K in DeviceMessageKind]: {
    ok: true;
    kind: K;
    deviceId: string;
    message: DeviceMessageMap[K];
    sizeBytes: number;
    /** Where the reply goes: `hf/v1/<deviceId>/reply`. */
    replyTopic: string;
    /**
     * The message's JSON text when `message` is JSON.parse of it as it is (the exact-shape path):
     * lets the payload travel on as the device wrote it. Absent when zod rebuilt the message.
     */
    text?: string;
  };
}[DeviceMessageKind];

/** Why a device message is refused, with the reply to send. */
export interface DeviceMessageRejection {
  ok: false;
  code: ProtocolReplyCode;
  /** The default sentence for the code. */
  message: string;
  details: Record<string, unknown>;
  /** The topic's kind level, when the topic got that far. */
  kind?: string;
  /** The topic's device id, when it is a valid one. */
  deviceId?: string;
  /** The message's msgId when it could be read, else null. */
  msgId: string | null;
  reply: Reply;
  /** The authenticated device's reply topic (never the topic's device); null if that identity is not a valid device id. */
  replyTopic: string | null;
}

export type DeviceDecodeResult = DecodedDeviceMessage | DeviceMessageRejection;

/**
 * Checks one device message, in this order: size, topic and kind, identity, JSON (UTF-8, then the
 * protocol version), schema. Pure: no clock, no I/O. Dedupe, rate limits and the epoch/sequence rule
 * (checkSequence) need state and come after, in the gateway.
 */
export function decodeDeviceMessage(
  topic: string,
  payload: MqttPayload,
  options: DecodeDeviceOptions,
): DeviceDecodeResult {
  const { authenticatedDeviceId } = options;
  const replyTo = isValidDeviceId(authenticatedDeviceId) ? replyTopicOf(authenticatedDeviceId) : null;
  const reject = <C extends ProtocolReplyCode>(
    code: C,
    details: ReplyDetailsByCode[C],
    context: { kind?: string; deviceId?: string; msgId?: string | null } = {},
  ): DeviceMessageRejection => {
    const msgId = context.msgId ?? null;
    const reply = Reply.protocol(msgId, code, details, { kind: context.kind });
    return {
      ok: false,
      code,
      message: reply.message ?? code,
      details: reply.details ?? {},
      ...(context.kind !== undefined ? { kind: context.kind } : {}),
      ...(context.deviceId !== undefined ? { deviceId: context.deviceId } : {}),
      msgId,
      reply,
      replyTopic: replyTo,
    };
  };

  // 1. Size, before anything is read: the kind's limit if the topic names one, else the largest.
  const bytes = bytesOf(payload);
  const peeked = peekDeviceKind(topic);
  const limitBytes = peeked ? DEVICE_PAYLOAD_LIMITS[peeked] : MAX_DEVICE_PAYLOAD_BYTES;
  if (bytes.byteLength > limitBytes) {
    return reject(
      'PAYLOAD_TOO_LARGE',
      { kind: peeked, sizeBytes: bytes.byteLength, limitBytes },
      { kind: peeked },
    );
  }

  // 2. Topic and kind.
  const parsed = parseTopic(topic);
  if (!parsed.ok) {
    // The kind level is whatever the publisher wrote: keep the reply small.
    const unknownKind = parsed.kind === undefined ? undefined : clip(parsed.kind, 64);
    const context = { kind: unknownKind, deviceId: parsed.deviceId };
    switch (parsed.code) {
      case 'UNKNOWN_TYPE':
        return reject('UNKNOWN_TYPE', { kind: unknownKind ?? '', known: [...DEVICE_MESSAGE_KINDS] }, context);
      case 'UNSUPPORTED_VERSION':
        return reject(
          'UNSUPPORTED_VERSION',
          { received: topic.split('/')[1] ?? '', supported: PROTOCOL_VERSION },
          context,
        );
      default:
        return reject('INVALID_TOPIC', { topic: clip(topic, 256), problem: parsed.problem }, context);
    }
  }
  if (parsed.direction !== 'device-to-backend') {
    const kind = parsed.kind === 'cmd' ? `cmd/${parsed.command}` : parsed.kind;
    return reject(
      'UNKNOWN_TYPE',
      { kind, known: [...DEVICE_MESSAGE_KINDS] },
      { kind, deviceId: parsed.deviceId },
    );
  }
  const { kind, deviceId } = parsed;

  // 3. Identity.
  if (deviceId !== authenticatedDeviceId) {
    return reject(
      'IDENTITY_MISMATCH',
      { topicDeviceId: deviceId, authenticatedDeviceId },
      { kind, deviceId },
    );
  }

  // 4. JSON, then the protocol version it claims.
  const json = parseJsonPayload(bytes);
  if (!json.ok) return reject('MALFORMED_JSON', { kind, error: clip(json.error, 200) }, { kind, deviceId });
  const msgId = readableId(field(json.value, 'msgId'));
  const version = field(json.value, 'protocolVersion');
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return reject(
      'UNSUPPORTED_VERSION',
      { received: JSON.stringify(version).slice(0, 32), supported: PROTOCOL_VERSION },
      { kind, deviceId, msgId },
    );
  }

  // 5. Schema: the hot kinds' exact shape first (the parsed JSON as it is), else zod.
  const exact = isExactDeviceMessage(kind, json.value);
  let message: unknown = json.value;
  if (!exact) {
    const result = DEVICE_MESSAGE_SCHEMAS[kind].safeParse(json.value);
    if (!result.success)
      return reject('SCHEMA_INVALID', schemaDetails(kind, result.error), { kind, deviceId, msgId });
    message = result.data;
  }

  return {
    ok: true,
    kind,
    deviceId,
    message,
    sizeBytes: bytes.byteLength,
    replyTopic: replyTopicOf(deviceId),
    ...(exact ? { text: json.text } : {}),
  } as DecodedDeviceMessage;
}

// ----------------------------------------------------------------------------------- backend messages

export type DecodedBackendMessage =
  | { ok: true; kind: 'reply'; deviceId: string; message: Reply }
  /** message null: the retained document was cleared (zero-length payload). */
  | { ok: true; kind: 'desired'; deviceId: string; message: DesiredState | null }
  | {
      [K in CommandName]: { ok: true; kind: 'cmd'; command: K; deviceId: string; message: CommandMap[K] };
    }[CommandName];

export interface BackendMessageRejection {
  ok: false;
  code: ProtocolReplyCode;
  message: string;
  details: Record<string, unknown>;
  /** For a command the agent cannot read: what it needs to answer with cmd-ack failed. */
  command?: CommandName;
  commandId?: string;
}

/**
 * The agent's (and the simulator's) side: checks a message from the backend on one of its own topics.
 * Same order as decodeDeviceMessage; the identity is the agent's own device id.
 */
export function decodeBackendMessage(
  topic: string,
  payload: MqttPayload,
  options: { deviceId: string },
): DecodedBackendMessage | BackendMessageRejection {
  const fail = <C extends ProtocolReplyCode>(
    code: C,
    details: ReplyDetailsByCode[C],
    extra: { command?: CommandName; commandId?: string } = {},
  ): BackendMessageRejection => {
    const reply = Reply.protocol(null, code, details);
    return { ok: false, code, message: reply.message ?? code, details: reply.details ?? {}, ...extra };
  };

  const bytes = bytesOf(payload);
  const parsed = parseTopic(topic);
  if (!parsed.ok) {
    return parsed.code === 'UNKNOWN_TYPE'
      ? fail('UNKNOWN_TYPE', { kind: clip(parsed.kind ?? '', 64), known: ['reply', 'desired', 'cmd/<name>'] })
      : fail('INVALID_TOPIC', { topic: clip(topic, 256), problem: parsed.problem });
  }
  if (parsed.direction !== 'backend-to-device') {
    return fail('UNKNOWN_TYPE', { kind: parsed.kind, known: ['reply', 'desired', 'cmd/<name>'] });
  }
  const limitBytes = BACKEND_PAYLOAD_LIMITS[parsed.kind];
  if (bytes.byteLength > limitBytes) {
    return fail('PAYLOAD_TOO_LARGE', { kind: parsed.kind, sizeBytes: bytes.byteLength, limitBytes });
  }
  if (parsed.deviceId !== options.deviceId) {
    return fail('IDENTITY_MISMATCH', {
      topicDeviceId: parsed.deviceId,
      authenticatedDeviceId: options.deviceId,
    });
  }
  if (parsed.kind === 'desired' && bytes.byteLength === 0) {
    return { ok: true, kind: 'desired', deviceId: parsed.deviceId, message: null };
  }
  const json = parseJsonPayload(bytes);
  const commandExtra =
    parsed.kind === 'cmd'
      ? {
          command: parsed.command,
          ...(json.ok && readableId(field(json.value, 'commandId'))
            ? { commandId: readableId(field(json.value, 'commandId')) as string }
            : {}),
        }
      : {};
  if (!json.ok)
    return fail('MALFORMED_JSON', { kind: parsed.kind, error: clip(json.error, 200) }, commandExtra);
  const version = field(json.value, 'protocolVersion');
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return fail(
      'UNSUPPORTED_VERSION',
      { received: JSON.stringify(version).slice(0, 32), supported: PROTOCOL_VERSION },
      commandExtra,
    );
  }
  const { deviceId } = parsed;
  switch (parsed.kind) {
    case 'reply': {
      const r = replySchema.safeParse(json.value);
      return r.success
        ? { ok: true, kind: 'reply', deviceId, message: r.data }
        : fail('SCHEMA_INVALID', schemaDetails('reply', r.error));
    }
    case 'desired': {
      const r = desiredStateSchema.safeParse(json.value);
      return r.success
        ? { ok: true, kind: 'desired', deviceId, message: r.data }
        : fail('SCHEMA_INVALID', schemaDetails('desired', r.error));
    }
    case 'cmd': {
      const r = COMMAND_SCHEMAS[parsed.command].safeParse(json.value);
      return r.success
        ? ({
            ok: true,
            kind: 'cmd',
            command: parsed.command,
            deviceId,
            message: r.data,
          } as DecodedBackendMessage)
        : fail('SCHEMA_INVALID', schemaDetails(`cmd/${parsed.command}`, r.error), commandExtra);
    }
  }
}
