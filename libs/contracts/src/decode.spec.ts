import {
  BACKEND_PAYLOAD_LIMITS,
  COMMAND_NAMES,
  DEVICE_MESSAGE_KINDS,
  DEVICE_PAYLOAD_LIMITS,
  EXAMPLE_DEVICE_ID,
  MAX_DEVICE_PAYLOAD_BYTES,
  MAX_REPORTED_ISSUES,
  MAX_TELEMETRY_SAMPLES,
  commandTopic,
  decodeBackendMessage,
  decodeDeviceMessage,
  encodeReply,
  desiredTopic,
  deviceTopic,
  exampleCommands,
  exampleDesiredState,
  exampleDeviceMessages,
  exampleReplies,
  replySchema,
  replyTopic,
  type DeviceDecodeResult,
  type DeviceMessageKind,
  type DeviceMessageRejection,
} from '.';

const DEVICE = EXAMPLE_DEVICE_ID;
const AUTH = { authenticatedDeviceId: DEVICE };
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
/** A message as loose JSON, so that tests may break it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
const example = (kind: DeviceMessageKind): Loose => JSON.parse(JSON.stringify(exampleDeviceMessages()[kind]));

function rejected(result: DeviceDecodeResult): DeviceMessageRejection {
  if (result.ok) throw new Error(`expected a rejection, got an accepted ${result.kind}`);
  return result;
}

/** One schema error per kind, and the path the sentence must name. */
const BREAKAGES: { [K in DeviceMessageKind]: [(m: Loose) => void, string] } = {
  birth: [(m) => (m.payload.vms[0].state = 'running'), 'payload.vms.0.state'],
  'vm-state': [(m) => (m.payload.state = 'running'), 'payload.state'],
  'update-progress': [(m) => (m.payload.stage = 'exploded'), 'payload.stage'],
  health: [(m) => (m.payload.rtVms[0].worstCaseLatencyUs = -1), 'payload.rtVms.0.worstCaseLatencyUs'],
  telemetry: [(m) => (m.payload.samples = []), 'payload.samples'],
  status: [(m) => (m.payload.state = 'away'), 'payload.state'],
  'cmd-ack': [(m) => (m.payload.command = 'format-disk'), 'payload.command'],
};

describe('decodeDeviceMessage', () => {
  describe.each(DEVICE_MESSAGE_KINDS)('%s', (kind) => {
    const topic = deviceTopic(DEVICE, kind);

    it('decodes the valid example', () => {
      const m = example(kind);
      const result = decodeDeviceMessage(topic, json(m), AUTH);
      expect(result).toMatchObject({ ok: true, kind, deviceId: DEVICE, replyTopic: replyTopic(DEVICE) });
      if (result.ok) {
        expect(result.message.msgId).toBe(m.msgId);
        expect(result.message.epoch).toBe(m.epoch);
        expect(result.message.seq).toBe(m.seq);
      }
    });

    it('rejects malformed JSON with MALFORMED_JSON and no inReplyTo', () => {
      const r = rejected(decodeDeviceMessage(topic, Buffer.from('{"msgId": "m-1", '), AUTH));
      expect(r.code).toBe('MALFORMED_JSON');
      expect(r.reply).toMatchObject({ status: 'rejected', code: 'MALFORMED_JSON', inReplyTo: null, kind });
      expect(r.message).toMatch(new RegExp(`^The ${kind} payload is not valid JSON: `));
    });

    it(`rejects more than ${DEVICE_PAYLOAD_LIMITS[kind]} bytes with PAYLOAD_TOO_LARGE, and takes exactly the limit`, () => {
      const limit = DEVICE_PAYLOAD_LIMITS[kind];
      const base = JSON.stringify(example(kind));
      const atLimit = Buffer.from(base + ' '.repeat(limit - Buffer.byteLength(base)));
      expect(atLimit.byteLength).toBe(limit);
      expect(decodeDeviceMessage(topic, atLimit, AUTH).ok).toBe(true);
      const r = rejected(decodeDeviceMessage(topic, Buffer.concat([atLimit, Buffer.from(' ')]), AUTH));
      expect(r.code).toBe('PAYLOAD_TOO_LARGE');
      expect(r.details).toEqual({ kind, sizeBytes: limit + 1, limitBytes: limit });
      expect(r.message).toBe(`The ${kind} payload is ${limit + 1} bytes; the limit is ${limit} bytes.`);
    });

    it('rejects a payload off the schema with SCHEMA_INVALID naming the path, replying to its msgId', () => {
      const m = example(kind);
      const [breakIt, path] = BREAKAGES[kind];
      breakIt(m);
      const r = rejected(decodeDeviceMessage(topic, json(m), AUTH));
      expect(r.code).toBe('SCHEMA_INVALID');
      expect(r.message).toContain(`${path}: `);
      expect(r.msgId).toBe(m.msgId);
      expect(r.reply.inReplyTo).toBe(m.msgId);
      expect((r.details.issues as { path: string }[]).map((i) => i.path)).toContain(path);
    });

    it('rejects a topic device id other than the authenticated one with IDENTITY_MISMATCH', () => {
      const r = rejected(decodeDeviceMessage(deviceTopic('ipc-0043', kind), json(example(kind)), AUTH));
      expect(r.code).toBe('IDENTITY_MISMATCH');
      expect(r.message).toBe(
        `The topic names device "ipc-0043" but this connection is authenticated as "${DEVICE}".`,
      );
      // The reply goes to the authenticated device, never to the one the topic names.
      expect(r.replyTopic).toBe(replyTopic(DEVICE));
    });

    it.each([
      ['a wildcard device id', `hf/v1/+/${kind}`],
      ['a # in the device id', `hf/v1/ipc#42/${kind}`],
      ['a device id with a space', `hf/v1/ipc 42/${kind}`],
      ['a device id over 128 characters', `hf/v1/${'a'.repeat(129)}/${kind}`],
    ])('rejects %s with INVALID_TOPIC', (_what, badTopic) => {
      const r = rejected(decodeDeviceMessage(badTopic, json(example(kind)), AUTH));
      expect(r.code).toBe('INVALID_TOPIC');
      expect(r.replyTopic).toBe(replyTopic(DEVICE));
      expect(r.message).toMatch(/^Topic ".*" is not hf\/v1\/<deviceId>\/<kind>: /);
    });

    it('rejects another protocolVersion with UNSUPPORTED_VERSION', () => {
      const m = example(kind);
      m.protocolVersion = 2;
      const r = rejected(decodeDeviceMessage(topic, json(m), AUTH));
      expect(r.code).toBe('UNSUPPORTED_VERSION');
      expect(r.reply.inReplyTo).toBe(m.msgId);
    });

    it('rejects a message without an envelope with SCHEMA_INVALID', () => {
      const r = rejected(decodeDeviceMessage(topic, json({ payload: example(kind).payload }), AUTH));
      expect(r.code).toBe('SCHEMA_INVALID');
      for (const field of ['protocolVersion', 'msgId', 'epoch', 'seq', 'sentAt'])
        expect(r.message).toContain(`${field}: `);
      expect(r.reply.inReplyTo).toBeNull();
    });
  });

  it('rejects an unknown topic suffix with UNKNOWN_TYPE listing the kinds', () => {
    const r = rejected(decodeDeviceMessage(`hf/v1/${DEVICE}/heartbeat`, json(example('status')), AUTH));
    expect(r.code).toBe('UNKNOWN_TYPE');
    expect(r.kind).toBe('heartbeat');
    expect(r.message).toBe(
      '"heartbeat" is not a device message kind; expected one of birth, vm-state, update-progress, health, telemetry, status, cmd-ack.',
    );
  });

  it.each([replyTopic(DEVICE), desiredTopic(DEVICE), commandTopic(DEVICE, 'reboot')])(
    'rejects a device publishing on the backend topic %s with UNKNOWN_TYPE',
    (topic) => {
      expect(rejected(decodeDeviceMessage(topic, json(example('status')), AUTH)).code).toBe('UNKNOWN_TYPE');
    },
  );

  it('rejects a topic of another protocol version with UNSUPPORTED_VERSION', () => {
    const r = rejected(decodeDeviceMessage(`hf/v2/${DEVICE}/birth`, json(example('birth')), AUTH));
    expect(r.code).toBe('UNSUPPORTED_VERSION');
    expect(r.details).toEqual({ received: 'v2', supported: 1 });
  });

  it('measures a topic of unknown kind against the largest limit', () => {
    const big = Buffer.alloc(MAX_DEVICE_PAYLOAD_BYTES + 1, 0x20);
    expect(rejected(decodeDeviceMessage(`hf/v1/${DEVICE}/heartbeat`, big, AUTH)).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    const fits = Buffer.alloc(MAX_DEVICE_PAYLOAD_BYTES, 0x20);
    expect(rejected(decodeDeviceMessage(`hf/v1/${DEVICE}/heartbeat`, fits, AUTH)).code).toBe('UNKNOWN_TYPE');
  });

  describe('checks in the documented order: size, topic/kind, identity, JSON, schema', () => {
    const tooBig = Buffer.alloc(DEVICE_PAYLOAD_LIMITS['vm-state'] + 1, 0x7b);
    it('size before topic', () => {
      expect(rejected(decodeDeviceMessage('hf/v1/+/vm-state', tooBig, AUTH)).code).toBe('PAYLOAD_TOO_LARGE');
    });
    it('size before identity', () => {
      expect(rejected(decodeDeviceMessage('hf/v1/other/vm-state', tooBig, AUTH)).code).toBe(
        'PAYLOAD_TOO_LARGE',
      );
    });
    it('topic and kind before identity', () => {
      expect(rejected(decodeDeviceMessage('hf/v1/other/heartbeat', Buffer.from('{'), AUTH)).code).toBe(
        'UNKNOWN_TYPE',
      );
    });
    it('identity before JSON', () => {
      expect(rejected(decodeDeviceMessage('hf/v1/other/vm-state', Buffer.from('{'), AUTH)).code).toBe(
        'IDENTITY_MISMATCH',
      );
    });
    it('JSON before schema', () => {
      expect(
        rejected(decodeDeviceMessage(deviceTopic(DEVICE, 'vm-state'), Buffer.from('[1,'), AUTH)).code,
      ).toBe('MALFORMED_JSON');
    });
  });

  it('rejects an empty payload and invalid UTF-8 as MALFORMED_JSON', () => {
    const topic = deviceTopic(DEVICE, 'status');
    expect(rejected(decodeDeviceMessage(topic, Buffer.alloc(0), AUTH)).details).toEqual({
      kind: 'status',
      error: 'the payload is empty',
    });
    const latin1 = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]); // {"é":1} in Latin-1
    expect(rejected(decodeDeviceMessage(topic, latin1, AUTH)).details).toEqual({
      kind: 'status',
      error: 'the payload is not UTF-8',
    });
  });

  it('rejects JSON that is not an object with SCHEMA_INVALID at the root', () => {
    const r = rejected(decodeDeviceMessage(deviceTopic(DEVICE, 'status'), Buffer.from('42'), AUTH));
    expect(r.code).toBe('SCHEMA_INVALID');
    expect(r.message).toContain('(root): ');
  });

  it('accepts a string payload too', () => {
    expect(
      decodeDeviceMessage(deviceTopic(DEVICE, 'status'), JSON.stringify(example('status')), AUTH).ok,
    ).toBe(true);
  });

  it('ignores (strips) fields it does not know, so v1 can grow optional fields', () => {
    const m = example('vm-state');
    m.payload.futureField = 'x';
    m.traceId = 'abc';
    const result = decodeDeviceMessage(deviceTopic(DEVICE, 'vm-state'), json(m), AUTH);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.message).not.toHaveProperty('traceId');
  });

  it('fills defaults', () => {
    const m = example('telemetry');
    delete m.payload.droppedSamples;
    const result = decodeDeviceMessage(deviceTopic(DEVICE, 'telemetry'), json(m), AUTH);
    expect(result.ok && result.kind === 'telemetry' && result.message.payload.droppedSamples).toBe(0);
  });

  it('lists at most 10 issues and says how many more there are', () => {
    const m = example('telemetry');
    m.payload.samples = Array.from({ length: 15 }, () => ({
      at: 'yesterday',
      vmName: 'RT_VM0',
      cpuPercent: 5,
      memoryUsedBytes: 1,
    }));
    const r = rejected(decodeDeviceMessage(deviceTopic(DEVICE, 'telemetry'), json(m), AUTH));
    expect((r.details.issues as unknown[]).length).toBe(MAX_REPORTED_ISSUES);
    expect(r.details.issueCount).toBe(15);
    expect(r.message).toMatch(/\(and 5 more\)\.$/);
  });

  it('keeps every reply it builds within the reply schema and size limit', () => {
    const m = example('birth');
    m.payload.board.pcpus = Array.from({ length: 40 }, () => ({ id: 'x'.repeat(200) }));
    for (let i = 0; i < 12; i++) m.payload.board[`${i}${'k'.repeat(10000)}`] = 1;
    const r = rejected(decodeDeviceMessage(deviceTopic(DEVICE, 'birth'), json(m), AUTH));
    expect(r.code).toBe('SCHEMA_INVALID');
    expect(replySchema.safeParse(r.reply).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(r.reply))).toBeLessThanOrEqual(BACKEND_PAYLOAD_LIMITS.reply);
  });

  it('keeps the reply small whatever the topic holds', () => {
    const longKind = `hf/v1/${DEVICE}/${'k'.repeat(60000)}`;
    const r = rejected(decodeDeviceMessage(longKind, json(example('status')), AUTH));
    expect(r.code).toBe('UNKNOWN_TYPE');
    expect(() => encodeReply(DEVICE, r.reply)).not.toThrow();
    const longTopic = `hf/v1/${DEVICE}/status/${'x'.repeat(60000)}`;
    const t = rejected(decodeDeviceMessage(longTopic, json(example('status')), AUTH));
    expect(t.code).toBe('INVALID_TOPIC');
    expect(() => encodeReply(DEVICE, t.reply)).not.toThrow();
  });

  it('has no reply topic when the authenticated identity is not a device id', () => {
    const r = rejected(
      decodeDeviceMessage('hf/v1/dev-1/status', Buffer.from('{'), { authenticatedDeviceId: 'a/b' }),
    );
    expect(r.code).toBe('IDENTITY_MISMATCH');
    expect(r.replyTopic).toBeNull();
  });

  describe('cross-field rules', () => {
    const decode = (kind: DeviceMessageKind, m: unknown) =>
      decodeDeviceMessage(deviceTopic(DEVICE, kind), json(m), AUTH);
    const issuesOf = (kind: DeviceMessageKind, m: unknown) => {
      const r = rejected(decode(kind, m));
      expect(r.code).toBe('SCHEMA_INVALID');
      return r.message;
    };

    it('birth: seq is 0', () => {
      const m = example('birth');
      m.seq = 1;
      expect(issuesOf('birth', m)).toContain('seq: ');
    });
    it('birth: every pinned pCPU exists on the board', () => {
      const m = example('birth');
      m.payload.vms[0].pcpus = [1, 9];
      expect(issuesOf('birth', m)).toContain('payload.vms.0.pcpus.1: VM RT_VM0 is pinned to pCPU 9');
    });
    it('birth: VM names are unique, the Service VM included', () => {
      const m = example('birth');
      m.payload.vms[1].name = 'Service_VM';
      expect(issuesOf('birth', m)).toContain('payload.vms.1.name: VM name Service_VM is used twice');
    });
    it('birth: the board is checked by @hyperfleet/acrn, strictly', () => {
      const m = example('birth');
      m.payload.board.pcpus[1].id = 0;
      m.payload.board.vendor = 'Intel';
      const message = issuesOf('birth', m);
      expect(message).toContain('payload.board.pcpus.1.id: pCPU 0 is listed twice');
      expect(message).toContain('payload.board: Unrecognized key: "vendor"');
    });
    it('update-progress: failed and rolled-back need an error; other stages take none', () => {
      const failed = example('update-progress');
      failed.payload.stage = 'failed';
      expect(issuesOf('update-progress', failed)).toContain('payload.error: stage failed needs an error');
      failed.payload.error = { code: 'VERIFICATION_FAILED', message: 'sha256 mismatch' };
      expect(decode('update-progress', failed).ok).toBe(true);
      const downloading = example('update-progress');
      downloading.payload.error = { code: 'X', message: 'y' };
      expect(issuesOf('update-progress', downloading)).toContain(
        'payload.error: stage downloading takes no error',
      );
    });
    it('update-progress: an RT VM image names its VM', () => {
      const m = example('update-progress');
      delete m.payload.target.vmName;
      expect(issuesOf('update-progress', m)).toContain('payload.target.vmName');
    });
    it('cmd-ack: failed needs an error', () => {
      const m = example('cmd-ack');
      m.payload.outcome = 'failed';
      expect(issuesOf('cmd-ack', m)).toContain('payload.error: outcome failed needs an error');
    });
    it('vm-state: rtcDeltaSeconds only with VM_EVENT_RTC_CHG', () => {
      const m = example('vm-state');
      m.payload.rtcDeltaSeconds = 3600;
      expect(issuesOf('vm-state', m)).toContain('payload.rtcDeltaSeconds');
      m.payload.event = 'VM_EVENT_RTC_CHG';
      expect(decode('vm-state', m).ok).toBe(true);
    });
    it('health: the window does not end before it starts; avg ≤ worst case', () => {
      const m = example('health');
      m.payload.windowEnd = '2025-02-03T08:00:00.000Z';
      m.payload.rtVms[0].avgLatencyUs = 50;
      const message = issuesOf('health', m);
      expect(message).toContain('payload.windowEnd: the window ends before it starts');
      expect(message).toContain('payload.rtVms.0.avgLatencyUs: the average is above the worst case');
    });
    it(`telemetry: at most ${MAX_TELEMETRY_SAMPLES} samples`, () => {
      const m = example('telemetry');
      const sample = { at: '2025-02-03T08:05:00Z', vmName: 'A', cpuPercent: 1, memoryUsedBytes: 1 };
      m.payload.samples = Array.from({ length: MAX_TELEMETRY_SAMPLES }, () => sample);
      expect(decode('telemetry', m).ok).toBe(true);
      m.payload.samples.push(sample);
      expect(issuesOf('telemetry', m)).toContain('payload.samples: ');
    });
    it('envelope: epoch ≥ 1, seq ≥ 0, sentAt with a time zone, msgId in the safe charset', () => {
      const m = example('status');
      Object.assign(m, { epoch: 0, seq: -1, sentAt: '2025-02-03 08:00', msgId: 'has space' });
      const message = issuesOf('status', m);
      for (const path of ['epoch: ', 'seq: ', 'sentAt: ', 'msgId: ']) expect(message).toContain(path);
    });
  });
});

describe('decodeBackendMessage (the agent side)', () => {
  const opts = { deviceId: DEVICE };

  it('decodes replies, the desired state and every command', () => {
    for (const reply of Object.values(exampleReplies())) {
      expect(decodeBackendMessage(replyTopic(DEVICE), json(reply), opts)).toMatchObject({
        ok: true,
        kind: 'reply',
      });
    }
    expect(decodeBackendMessage(desiredTopic(DEVICE), json(exampleDesiredState()), opts)).toMatchObject({
      ok: true,
      kind: 'desired',
      message: { version: 13 },
    });
    const commands = exampleCommands();
    for (const command of COMMAND_NAMES) {
      expect(
        decodeBackendMessage(commandTopic(DEVICE, command), json(commands[command]), opts),
      ).toMatchObject({
        ok: true,
        kind: 'cmd',
        command,
        message: { commandId: commands[command].commandId },
      });
    }
  });

  it('fills command defaults', () => {
    const cmd = exampleCommands()['stop-vm'];
    delete (cmd.args as { force?: boolean }).force;
    const r = decodeBackendMessage(commandTopic(DEVICE, 'stop-vm'), json(cmd), opts);
    expect(r.ok && r.kind === 'cmd' && r.command === 'stop-vm' && r.message.args.force).toBe(false);
  });

  it('reads a zero-length retained desired state as cleared', () => {
    expect(decodeBackendMessage(desiredTopic(DEVICE), Buffer.alloc(0), opts)).toEqual({
      ok: true,
      kind: 'desired',
      deviceId: DEVICE,
      message: null,
    });
  });

  it('gives the command name and id of a command it cannot read, so the agent can fail it', () => {
    const cmd = { ...exampleCommands()['start-vm'], args: { vmName: 'not a vm name' } };
    expect(decodeBackendMessage(commandTopic(DEVICE, 'start-vm'), json(cmd), opts)).toMatchObject({
      ok: false,
      code: 'SCHEMA_INVALID',
      command: 'start-vm',
      commandId: cmd.commandId,
    });
  });

  it('refuses an expired-before-issued command', () => {
    const cmd = { ...exampleCommands().reboot, expiresAt: '2025-02-03T10:00:00.000Z' };
    const r = decodeBackendMessage(commandTopic(DEVICE, 'reboot'), json(cmd), opts);
    expect(r).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
    expect(!r.ok && r.message).toContain('expiresAt: expiresAt must be after issuedAt');
  });

  it('refuses another device’s topics, device topics and unknown commands', () => {
    expect(decodeBackendMessage(replyTopic('ipc-9'), json(exampleReplies().accepted), opts)).toMatchObject({
      ok: false,
      code: 'IDENTITY_MISMATCH',
    });
    expect(decodeBackendMessage(deviceTopic(DEVICE, 'birth'), json({}), opts)).toMatchObject({
      ok: false,
      code: 'UNKNOWN_TYPE',
    });
    expect(decodeBackendMessage(`hf/v1/${DEVICE}/cmd/format-disk`, json({}), opts)).toMatchObject({
      ok: false,
      code: 'UNKNOWN_TYPE',
    });
    expect(decodeBackendMessage(`hf/v1/${DEVICE}/cmd/+`, json({}), opts)).toMatchObject({
      ok: false,
      code: 'INVALID_TOPIC',
    });
  });

  it('refuses malformed JSON, other versions and oversized payloads', () => {
    expect(decodeBackendMessage(replyTopic(DEVICE), Buffer.from('nope'), opts)).toMatchObject({
      ok: false,
      code: 'MALFORMED_JSON',
    });
    expect(
      decodeBackendMessage(
        replyTopic(DEVICE),
        json({ ...exampleReplies().accepted, protocolVersion: 2 }),
        opts,
      ),
    ).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
    expect(
      decodeBackendMessage(
        desiredTopic(DEVICE),
        Buffer.alloc(BACKEND_PAYLOAD_LIMITS.desired + 1, 0x20),
        opts,
      ),
    ).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
  });
});
