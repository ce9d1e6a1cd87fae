import { MESSAGE_ID_PATTERN } from './ids';
import { MAX_REPLY_MESSAGE_LENGTH, PROTOCOL_VERSION } from './protocol';
import { REPLY_CODES, replySentence, type ProtocolReplyCode, type ReplyDetailsByCode } from './reply-codes';
import type { ReplyMessage } from './schemas/backend';

/** The reply to one device message (`hf/v1/<deviceId>/reply`); `Reply.*` build them. */
export type Reply = ReplyMessage;

export interface ReplyOptions {
  /** The topic kind replied to, as received. */
  kind?: string;
}

/** Cuts a sentence to what a reply may carry. */
export function clampSentence(message: string): string {
  return message.length <= MAX_REPLY_MESSAGE_LENGTH
    ? message
    : `${message.slice(0, MAX_REPLY_MESSAGE_LENGTH - 1)}…`;
}

/** The fields whose value is not undefined (JSON drops them anyway; this keeps comparisons honest). */
function definedFields(details: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
}

function withKind(reply: Reply, kind: string | undefined): Reply {
  return kind === undefined ? reply : { ...reply, kind: kind.slice(0, 64) };
}

/** Minimal shape of a domain rejection (libs/domain's DomainRejection.toJSON()). */
export interface RejectionLike {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export const Reply = {
  /** The message was applied (or, for telemetry, handed on). */
  accepted(inReplyTo: string, options: ReplyOptions = {}): Reply {
    return withKind({ protocolVersion: PROTOCOL_VERSION, inReplyTo, status: 'accepted' }, options.kind);
  },

  /** Rejected with any code: a protocol code with a custom sentence, or a domain code passed through. */
  rejected(
    inReplyTo: string | null,
    code: string,
    message: string,
    options: ReplyOptions & { details?: Record<string, unknown> } = {},
  ): Reply {
    const reply: Reply = {
      protocolVersion: PROTOCOL_VERSION,
      inReplyTo,
      status: 'rejected',
      code,
      message: clampSentence(message),
    };
    if (options.details !== undefined) reply.details = options.details;
    return withKind(reply, options.kind);
  },

  /** A protocol code with its default sentence; details go into the reply as they are. */
  protocol<C extends ProtocolReplyCode>(
    inReplyTo: string | null,
    code: C,
    details: ReplyDetailsByCode[C],
    options: ReplyOptions = {},
  ): Reply {
    const reply: Reply = {
      protocolVersion: PROTOCOL_VERSION,
      inReplyTo,
      status: REPLY_CODES[code].status,
      code,
      message: clampSentence(replySentence(code, details)),
      details: definedFields(details),
    };
    if (code === 'DUPLICATE_MESSAGE') reply.duplicate = true;
    return withKind(reply, options.kind);
  },

  /** A domain rejection (e.g. RTVM_NOT_STOPPED) passed through to the agent. */
  fromRejection(inReplyTo: string, rejection: RejectionLike, options: ReplyOptions = {}): Reply {
    const details =
      rejection.details && Object.keys(rejection.details).length > 0 ? rejection.details : undefined;
    return Reply.rejected(inReplyTo, rejection.code, rejection.message, { ...options, details });
  },

  /**
   * The reply to a redelivered message id: the first reply again, flagged duplicate. A first reply that
   * was a plain acceptance becomes DUPLICATE_MESSAGE (status accepted). With only the id at hand (the
   * first reply was not kept), the message is taken as accepted.
   */
  duplicate(first: Reply | string, options: ReplyOptions = {}): Reply {
    if (typeof first === 'string')
      return Reply.protocol(first, 'DUPLICATE_MESSAGE', { msgId: first }, options);
    if (first.status === 'accepted' && first.code === undefined && first.inReplyTo !== null) {
      return Reply.protocol(
        first.inReplyTo,
        'DUPLICATE_MESSAGE',
        { msgId: first.inReplyTo },
        {
          kind: options.kind ?? first.kind,
        },
      );
    }
    return { ...first, duplicate: true };
  },

  isRetryable(reply: Reply): boolean {
    const code = reply.code;
    return code !== undefined && code in REPLY_CODES && REPLY_CODES[code as ProtocolReplyCode].retryable;
  },
} as const;

/**
 * What `Reply.accepted(...)` builds, with a valid id and kind: replySchema accepts it as it is. The
 * reply to almost every message, so it is encoded and stored without further checks.
 */
export function isPlainAcceptance(r: Reply): boolean {
  let n = 3;
  if (r.kind !== undefined) {
    if (typeof r.kind !== 'string' || r.kind.length < 1 || r.kind.length > 64) return false;
    n++;
  }
  return (
    r.status === 'accepted' &&
    r.protocolVersion === PROTOCOL_VERSION &&
    (r.inReplyTo === null || (typeof r.inReplyTo === 'string' && MESSAGE_ID_PATTERN.test(r.inReplyTo))) &&
    Object.keys(r).length === n
  );
}
