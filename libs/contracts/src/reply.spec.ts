import {
  MAX_REPLY_MESSAGE_LENGTH,
  PROTOCOL_REPLY_CODES,
  REPLY_CODES,
  Reply,
  exampleReplies,
  isProtocolReplyCode,
  replySchema,
  replySentence,
  type ProtocolReplyCode,
  type ReplyDetailsByCode,
} from '.';

const SAMPLE_DETAILS: { [C in ProtocolReplyCode]: ReplyDetailsByCode[C] } = {
  PAYLOAD_TOO_LARGE: { kind: 'birth', sizeBytes: 300000, limitBytes: 262144 },
  INVALID_TOPIC: { topic: 'hf/v1/+/birth', problem: 'the topic contains an MQTT wildcard (+ or #)' },
  UNKNOWN_TYPE: { kind: 'heartbeat', known: ['birth', 'status'] },
  IDENTITY_MISMATCH: { topicDeviceId: 'ipc-2', authenticatedDeviceId: 'ipc-1' },
  MALFORMED_JSON: { kind: 'status', error: 'Unexpected end of JSON input' },
  UNSUPPORTED_VERSION: { received: '2', supported: 1 },
  SCHEMA_INVALID: {
    kind: 'vm-state',
    issues: [{ path: 'payload.state', message: 'Invalid option' }],
    issueCount: 3,
  },
  RATE_LIMITED: { retryAfterMs: 5000 },
  DUPLICATE_MESSAGE: { msgId: 'm-1' },
  NOT_REGISTERED: { epoch: 4, currentEpoch: null },
  STALE_SEQUENCE: { epoch: 3, currentEpoch: 4, birth: false },
  OUT_OF_ORDER: { epoch: 4, seq: 7, lastSeq: 9 },
  UNKNOWN_COMMAND: { commandId: 'c-9' },
  COMMAND_ALREADY_FINAL: { commandId: 'c-8', status: 'timed-out' },
  INTERNAL_ERROR: { reference: 'req-81' },
};

describe('reply codes', () => {
  it('include every code the protocol needs', () => {
    expect([...PROTOCOL_REPLY_CODES].sort()).toEqual(
      [
        'MALFORMED_JSON',
        'PAYLOAD_TOO_LARGE',
        'SCHEMA_INVALID',
        'UNKNOWN_TYPE',
        'IDENTITY_MISMATCH',
        'DUPLICATE_MESSAGE',
        'STALE_SEQUENCE',
        'OUT_OF_ORDER',
        'NOT_REGISTERED',
        'RATE_LIMITED',
        'INTERNAL_ERROR',
        'INVALID_TOPIC',
        'UNSUPPORTED_VERSION',
        'UNKNOWN_COMMAND',
        'COMMAND_ALREADY_FINAL',
      ].sort(),
    );
  });

  it.each(PROTOCOL_REPLY_CODES)('%s has a meaning and a default sentence', (code) => {
    expect(REPLY_CODES[code].meaning.length).toBeGreaterThan(20);
    const sentence = replySentence(code, SAMPLE_DETAILS[code] as never);
    expect(sentence).toMatch(/^[A-Z"].*\.$/);
    const reply = Reply.protocol('m-1', code, SAMPLE_DETAILS[code] as never);
    expect(reply.status).toBe(REPLY_CODES[code].status);
    expect(reply.message).toBe(sentence);
    expect(reply.details).toEqual(SAMPLE_DETAILS[code]);
    expect(replySchema.safeParse(reply).success).toBe(true);
  });

  it('writes the sentences an operator reads', () => {
    expect(replySentence('SCHEMA_INVALID', SAMPLE_DETAILS.SCHEMA_INVALID)).toBe(
      'The vm-state message does not match its schema: payload.state: Invalid option (and 2 more).',
    );
    expect(replySentence('STALE_SEQUENCE', { epoch: 4, currentEpoch: 4, birth: true })).toBe(
      'A birth must open a new epoch: epoch 4 is not above the current epoch 4.',
    );
    expect(replySentence('NOT_REGISTERED', { epoch: 5, currentEpoch: 4 })).toBe(
      "No birth has been accepted for epoch 5 (the current epoch is 4); send that epoch's birth first.",
    );
  });

  it('marks only passing conditions retryable', () => {
    const retryable = PROTOCOL_REPLY_CODES.filter((c) => REPLY_CODES[c].retryable).sort();
    expect(retryable).toEqual(['INTERNAL_ERROR', 'NOT_REGISTERED', 'RATE_LIMITED']);
    expect(PROTOCOL_REPLY_CODES.filter((c) => REPLY_CODES[c].status === 'accepted')).toEqual([
      'DUPLICATE_MESSAGE',
      'COMMAND_ALREADY_FINAL',
    ]);
  });

  it('tells protocol codes from domain codes', () => {
    expect(isProtocolReplyCode('OUT_OF_ORDER')).toBe(true);
    expect(isProtocolReplyCode('RTVM_NOT_STOPPED')).toBe(false);
  });
});

describe('Reply builders', () => {
  it('accepted', () => {
    expect(Reply.accepted('m-1', { kind: 'vm-state' })).toEqual({
      protocolVersion: 1,
      inReplyTo: 'm-1',
      kind: 'vm-state',
      status: 'accepted',
    });
  });

  it('passes a domain rejection through with its code, sentence and details', () => {
    const reply = Reply.fromRejection(
      'm-2',
      {
        code: 'RTVM_NOT_STOPPED',
        message: 'RT_VM0 is started; stop it first.',
        details: { vmName: 'RT_VM0' },
      },
      { kind: 'cmd-ack' },
    );
    expect(reply).toEqual({
      protocolVersion: 1,
      inReplyTo: 'm-2',
      kind: 'cmd-ack',
      status: 'rejected',
      code: 'RTVM_NOT_STOPPED',
      message: 'RT_VM0 is started; stop it first.',
      details: { vmName: 'RT_VM0' },
    });
    expect(replySchema.safeParse(reply).success).toBe(true);
    expect(Reply.fromRejection('m-2', { code: 'X_Y', message: 'z', details: {} })).not.toHaveProperty(
      'details',
    );
  });

  it('turns a first acceptance into DUPLICATE_MESSAGE, accepted, flagged duplicate', () => {
    const first = Reply.accepted('m-3', { kind: 'vm-state' });
    expect(Reply.duplicate(first)).toEqual({
      protocolVersion: 1,
      inReplyTo: 'm-3',
      kind: 'vm-state',
      status: 'accepted',
      code: 'DUPLICATE_MESSAGE',
      message: 'Message m-3 was already accepted; it was not applied again.',
      duplicate: true,
      details: { msgId: 'm-3' },
    });
    expect(Reply.duplicate('m-3', { kind: 'vm-state' })).toEqual(Reply.duplicate(first));
  });

  it('repeats a first rejection, flagged duplicate', () => {
    const first = Reply.fromRejection('m-4', { code: 'RTVM_NOT_STOPPED', message: 'stop it first' });
    expect(Reply.duplicate(first)).toEqual({ ...first, duplicate: true });
  });

  it('cuts sentences that are too long', () => {
    const reply = Reply.rejected('m-5', 'SOMETHING', 'x'.repeat(5000));
    expect(reply.message).toHaveLength(MAX_REPLY_MESSAGE_LENGTH);
    expect(reply.message?.endsWith('…')).toBe(true);
    expect(replySchema.safeParse(reply).success).toBe(true);
  });

  it('says which rejections may be sent again', () => {
    expect(Reply.isRetryable(Reply.protocol('m', 'RATE_LIMITED', { retryAfterMs: 10 }))).toBe(true);
    expect(Reply.isRetryable(Reply.protocol('m', 'OUT_OF_ORDER', { epoch: 1, seq: 1, lastSeq: 2 }))).toBe(
      false,
    );
    expect(Reply.isRetryable(Reply.rejected('m', 'RTVM_NOT_STOPPED', 'no'))).toBe(false);
    expect(Reply.isRetryable(Reply.accepted('m'))).toBe(false);
  });

  it('the reply schema refuses a rejection without code or sentence, and bad codes', () => {
    const base = { protocolVersion: 1, inReplyTo: 'm', status: 'rejected' };
    expect(replySchema.safeParse(base).success).toBe(false);
    expect(replySchema.safeParse({ ...base, code: 'lower_case', message: 'x' }).success).toBe(false);
    expect(replySchema.safeParse({ ...base, code: 'OK_CODE', message: 'x' }).success).toBe(true);
    expect(
      replySchema.safeParse({ protocolVersion: 1, inReplyTo: 'm', status: 'accepted', code: 'X' }).success,
    ).toBe(false);
  });

  it('the examples are valid replies', () => {
    for (const reply of Object.values(exampleReplies())) expect(replySchema.parse(reply)).toEqual(reply);
    expect(exampleReplies().duplicate).toEqual(Reply.duplicate(exampleReplies().accepted));
  });
});
