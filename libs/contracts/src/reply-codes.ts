import { MAX_REPORTED_ISSUES, PROTOCOL_VERSION } from './protocol';

/**
 * Reply codes the protocol itself defines. Domain rejections (`RTVM_NOT_STOPPED`, `DEVICE_NOT_PROVISIONED`,
 * …) pass through unchanged as further codes: any UPPER_SNAKE_CASE code is valid in a reply.
 */
export const PROTOCOL_REPLY_CODES = [
  'PAYLOAD_TOO_LARGE',
  'INVALID_TOPIC',
  'UNKNOWN_TYPE',
  'IDENTITY_MISMATCH',
  'MALFORMED_JSON',
  'UNSUPPORTED_VERSION',
  'SCHEMA_INVALID',
  'RATE_LIMITED',
  'DUPLICATE_MESSAGE',
  'NOT_REGISTERED',
  'STALE_SEQUENCE',
  'OUT_OF_ORDER',
  'UNKNOWN_COMMAND',
  'COMMAND_ALREADY_FINAL',
  'INTERNAL_ERROR',
] as const;
export type ProtocolReplyCode = (typeof PROTOCOL_REPLY_CODES)[number];

export interface ReplyCodeInfo {
  /** The reply status that goes with the code. */
  status: 'accepted' | 'rejected';
  /**
   * Whether the same fact may be sent again, as a new message (new msgId, next seq): true for
   * conditions that pass (RATE_LIMITED, INTERNAL_ERROR, NOT_REGISTERED after a birth). A retryable
   * rejection is never remembered under the msgId and never moves the sequence.
   */
  retryable: boolean;
  /** What it means, for docs/protocol.md and the AsyncAPI document. */
  meaning: string;
}

export const REPLY_CODES: { readonly [C in ProtocolReplyCode]: ReplyCodeInfo } = {
  PAYLOAD_TOO_LARGE: {
    status: 'rejected',
    retryable: false,
    meaning:
      "The payload is larger than its kind's limit (the largest limit when the kind is unknown). Checked first, before anything is parsed.",
  },
  INVALID_TOPIC: {
    status: 'rejected',
    retryable: false,
    meaning:
      'The topic is not hf/v1/<deviceId>/<kind>: wrong root or depth, an empty level, MQTT wildcards, or a device id outside the safe charset.',
  },
  UNKNOWN_TYPE: {
    status: 'rejected',
    retryable: false,
    meaning: 'The topic suffix is not a device message kind (birth, vm-state, …).',
  },
  IDENTITY_MISMATCH: {
    status: 'rejected',
    retryable: false,
    meaning: 'The device id in the topic is not the identity the connection authenticated as.',
  },
  MALFORMED_JSON: {
    status: 'rejected',
    retryable: false,
    meaning: 'The payload is empty, not UTF-8, or not JSON.',
  },
  UNSUPPORTED_VERSION: {
    status: 'rejected',
    retryable: false,
    meaning: `protocolVersion is not ${PROTOCOL_VERSION}, or the topic root is another version than hf/v${PROTOCOL_VERSION}.`,
  },
  SCHEMA_INVALID: {
    status: 'rejected',
    retryable: false,
    meaning: `The JSON does not match the kind's schema; the sentence and details list the zod issue paths (at most ${MAX_REPORTED_ISSUES}).`,
  },
  RATE_LIMITED: {
    status: 'rejected',
    retryable: true,
    meaning: 'The device sends faster than the gateway allows; details.retryAfterMs says when to send again.',
  },
  DUPLICATE_MESSAGE: {
    status: 'accepted',
    retryable: false,
    meaning:
      'The msgId was already accepted (a QoS 1 redelivery or a re-publication): the reply is accepted with duplicate: true and nothing is applied twice.',
  },
  NOT_REGISTERED: {
    status: 'rejected',
    retryable: true,
    meaning:
      'No birth has been accepted for the epoch the message carries (none at all, or the message is from a newer epoch whose birth the gateway has not seen). Send a birth first.',
  },
  STALE_SEQUENCE: {
    status: 'rejected',
    retryable: false,
    meaning:
      "The message belongs to an epoch older than the device's current one (or is a birth whose epoch is not above it): a previous session's message, a late last will. details.currentEpoch lets an agent that lost its epoch counter resynchronise.",
  },
  OUT_OF_ORDER: {
    status: 'rejected',
    retryable: false,
    meaning:
      'An ordered message of the current epoch whose seq is not above the last one processed: a later message was handled first.',
  },
  UNKNOWN_COMMAND: {
    status: 'rejected',
    retryable: false,
    meaning:
      "A cmd-ack for a commandId the backend never sent to this device (unknown, another device's, or still queued): nothing is recorded. Drop it.",
  },
  COMMAND_ALREADY_FINAL: {
    status: 'accepted',
    retryable: false,
    meaning:
      'A cmd-ack for a command that is already final (succeeded, failed, rejected, timed-out, expired): recorded for audit, the outcome stays. Do not send it again.',
  },
  INTERNAL_ERROR: {
    status: 'rejected',
    retryable: true,
    meaning: 'The gateway failed; nothing was applied. Send the fact again.',
  },
};

export function isProtocolReplyCode(code: string): code is ProtocolReplyCode {
  return (PROTOCOL_REPLY_CODES as readonly string[]).includes(code);
}

export interface SchemaIssue {
  /** Dotted path into the message, e.g. `payload.vms.0.state`; `(root)` for the whole message. */
  path: string;
  message: string;
}

/** The particulars each protocol code carries in `details`; they also fill its default sentence. */
export interface ReplyDetailsByCode {
  PAYLOAD_TOO_LARGE: { kind?: string; sizeBytes: number; limitBytes: number };
  INVALID_TOPIC: { topic: string; problem: string };
  UNKNOWN_TYPE: { kind: string; known: string[] };
  IDENTITY_MISMATCH: { topicDeviceId: string; authenticatedDeviceId: string };
  MALFORMED_JSON: { kind?: string; error: string };
  UNSUPPORTED_VERSION: { received: string; supported: number };
  SCHEMA_INVALID: { kind: string; issues: SchemaIssue[]; issueCount: number };
  RATE_LIMITED: { retryAfterMs: number };
  DUPLICATE_MESSAGE: { msgId: string };
  NOT_REGISTERED: { epoch: number; currentEpoch: number | null };
  STALE_SEQUENCE: { epoch: number; currentEpoch: number; birth: boolean };
  OUT_OF_ORDER: { epoch: number; seq: number; lastSeq: number };
  UNKNOWN_COMMAND: { commandId: string };
  COMMAND_ALREADY_FINAL: { commandId: string; status: string };
  INTERNAL_ERROR: { reference?: string };
}

const SENTENCES: { [C in ProtocolReplyCode]: (d: ReplyDetailsByCode[C]) => string } = {
  PAYLOAD_TOO_LARGE: (d) =>
    `The ${d.kind ?? 'message'} payload is ${d.sizeBytes} bytes; the limit is ${d.limitBytes} bytes.`,
  INVALID_TOPIC: (d) => `Topic "${d.topic}" is not hf/v${PROTOCOL_VERSION}/<deviceId>/<kind>: ${d.problem}.`,
  UNKNOWN_TYPE: (d) => `"${d.kind}" is not a device message kind; expected one of ${d.known.join(', ')}.`,
  IDENTITY_MISMATCH: (d) =>
    `The topic names device "${d.topicDeviceId}" but this connection is authenticated as "${d.authenticatedDeviceId}".`,
  MALFORMED_JSON: (d) => `The ${d.kind ?? 'message'} payload is not valid JSON: ${d.error}.`,
  UNSUPPORTED_VERSION: (d) =>
    `Protocol version ${d.received} is not supported; this gateway speaks version ${d.supported}.`,
  SCHEMA_INVALID: (d) => {
    const listed = d.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    const more = d.issueCount > d.issues.length ? ` (and ${d.issueCount - d.issues.length} more)` : '';
    return `The ${d.kind} message does not match its schema: ${listed}${more}.`;
  },
  RATE_LIMITED: (d) => `Too many messages from this device; send again in ${d.retryAfterMs} ms.`,
  DUPLICATE_MESSAGE: (d) => `Message ${d.msgId} was already accepted; it was not applied again.`,
  NOT_REGISTERED: (d) =>
    d.currentEpoch === null
      ? `No birth has been accepted from this device; send a birth (epoch ${d.epoch} or above) first.`
      : `No birth has been accepted for epoch ${d.epoch} (the current epoch is ${d.currentEpoch}); send that epoch's birth first.`,
  STALE_SEQUENCE: (d) =>
    d.birth
      ? `A birth must open a new epoch: epoch ${d.epoch} is not above the current epoch ${d.currentEpoch}.`
      : `Epoch ${d.epoch} is older than the current epoch ${d.currentEpoch}; the message is from a previous session.`,
  OUT_OF_ORDER: (d) =>
    `Sequence ${d.seq} of epoch ${d.epoch} is not above the last processed sequence ${d.lastSeq}; a later message was handled first.`,
  UNKNOWN_COMMAND: (d) =>
    `Command ${d.commandId} was never sent to this device; the acknowledgement is ignored.`,
  COMMAND_ALREADY_FINAL: (d) =>
    `Command ${d.commandId} is already ${d.status}; the acknowledgement is recorded but changes nothing.`,
  INTERNAL_ERROR: (d) =>
    `The gateway could not process the message and applied nothing; send it again${d.reference ? ` (reference ${d.reference})` : ''}.`,
};

/** The default human sentence for a protocol code. */
export function replySentence<C extends ProtocolReplyCode>(code: C, details: ReplyDetailsByCode[C]): string {
  return SENTENCES[code](details);
}

/**
 * Error codes agents use in `cmd-ack` (outcome failed) and `update-progress` (failed, rolled-back).
 * Not enforced (any UPPER_SNAKE_CASE code is valid), listed so that agents and the simulator agree.
 */
export const AGENT_ERROR_CODES = {
  COMMAND_EXPIRED: 'The command reached the agent after its expiresAt; it was not started.',
  UNSUPPORTED_COMMAND: 'The agent does not implement this command.',
  VM_NOT_FOUND: 'No VM of that name on this device.',
  VM_STATE_CONFLICT:
    "The VM's acrnctl state does not allow the command (start needs stopped, reset started or suspended).",
  FORCE_STOP_UNSUPPORTED:
    'The Device Model refuses to destroy a post-launched RTVM (acrnctl stop --force); stop it without force, the guest powers off.',
  /** Deprecated: ACRN never needs force to stop an RTVM; agents answer FORCE_STOP_UNSUPPORTED instead. */
  FORCE_REQUIRED: 'Deprecated (kept for agents that still send it): stop the VM with force.',
  ACRNCTL_FAILED: 'acrnctl or the Device Model returned an error.',
  DOWNLOAD_FAILED: 'The artefact could not be downloaded.',
  VERIFICATION_FAILED: "The artefact's SHA-256 or signature does not match.",
  INSUFFICIENT_STORAGE: 'Not enough space to stage the artefact.',
  INSTALL_FAILED: 'Installing the artefact failed; the previous version stays.',
  BOOT_FAILED: 'The new version did not come up; the agent went back to the last known good one.',
  SUPERSEDED: 'A newer desired-state document changed this component; the update stopped at a safe point.',
  AGENT_ERROR: 'Anything else that went wrong in the agent.',
} as const;
export type AgentErrorCode = keyof typeof AGENT_ERROR_CODES;
