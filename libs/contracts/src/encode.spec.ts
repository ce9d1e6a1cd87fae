import {
  COMMAND_NAMES,
  ContractViolationError,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DELIVERY,
  DEVICE_MESSAGE_KINDS,
  EXAMPLE_DEVICE_ID,
  Reply,
  buildCommand,
  clearDesired,
  decodeBackendMessage,
  decodeDeviceMessage,
  encodeCommand,
  encodeDesired,
  encodeDeviceMessage,
  encodeReply,
  exampleCommands,
  exampleDesiredState,
  exampleDeviceMessages,
  lastWill,
  replySchema,
} from '.';

const DEVICE = EXAMPLE_DEVICE_ID;

describe('encoders', () => {
  it.each(DEVICE_MESSAGE_KINDS)(
    'device message %s: encodes on its topic with its QoS and decodes back',
    (kind) => {
      const out = encodeDeviceMessage(DEVICE, kind, exampleDeviceMessages()[kind] as never);
      expect(out.topic).toBe(`hf/v1/${DEVICE}/${kind}`);
      expect(out.qos).toBe(1);
      expect(out.retain).toBe(kind === 'status');
      const decoded = decodeDeviceMessage(out.topic, out.payload, { authenticatedDeviceId: DEVICE });
      expect(decoded).toMatchObject({ ok: true, kind });
    },
  );

  it.each(COMMAND_NAMES)(
    'command %s: encodes on cmd/<name>, QoS 1, not retained, and decodes back',
    (command) => {
      const out = encodeCommand(DEVICE, command, exampleCommands()[command] as never);
      expect(out).toMatchObject({ topic: `hf/v1/${DEVICE}/cmd/${command}`, qos: 1, retain: false });
      expect(decodeBackendMessage(out.topic, out.payload, { deviceId: DEVICE })).toMatchObject({
        ok: true,
        kind: 'cmd',
        command,
      });
    },
  );

  it('desired state: retained, QoS 1; clearing is a zero-length retained publish', () => {
    const out = encodeDesired(DEVICE, exampleDesiredState());
    expect(out).toMatchObject({ topic: `hf/v1/${DEVICE}/desired`, qos: 1, retain: true });
    expect(decodeBackendMessage(out.topic, out.payload, { deviceId: DEVICE })).toMatchObject({
      ok: true,
      message: { version: 13 },
    });
    const clear = clearDesired(DEVICE);
    expect(clear).toMatchObject({ topic: out.topic, retain: true });
    expect(clear.payload.byteLength).toBe(0);
  });

  it('reply: QoS 1, not retained', () => {
    const out = encodeReply(DEVICE, Reply.accepted('m-1', { kind: 'birth' }));
    expect(out).toMatchObject({ topic: `hf/v1/${DEVICE}/reply`, qos: DELIVERY.reply.qos, retain: false });
    expect(JSON.parse(out.payload.toString('utf8'))).toEqual({
      protocolVersion: 1,
      inReplyTo: 'm-1',
      kind: 'birth',
      status: 'accepted',
    });
  });

  it('reply: a plain acceptance (written without zod) gives the bytes zod would; anything else goes to zod', () => {
    const cases: Reply[] = [
      Reply.accepted('m-1', { kind: 'telemetry' }),
      Reply.accepted('m-1'),
      { protocolVersion: 1, inReplyTo: null, status: 'accepted' },
      Reply.accepted('m-1', { kind: 'k'.repeat(64) }),
      { ...Reply.accepted('m-1'), kind: '' },
      { ...Reply.accepted('m-1'), kind: 'k'.repeat(65) },
      Reply.accepted('not an id'),
      { ...Reply.accepted('m-1'), protocolVersion: 2 as 1 },
      { ...Reply.accepted('m-1'), extra: 1 } as Reply,
      Reply.duplicate(Reply.accepted('m-1')),
    ];
    for (const reply of cases) {
      const viaZod = replySchema.safeParse(reply);
      if (viaZod.success) {
        expect(encodeReply(DEVICE, reply).payload.toString('utf8')).toBe(JSON.stringify(viaZod.data));
      } else {
        expect(() => encodeReply(DEVICE, reply)).toThrow(ContractViolationError);
      }
    }
  });

  it('refuses to send what the contract does not allow', () => {
    expect(() => encodeReply(DEVICE, { protocolVersion: 1, inReplyTo: 'm', status: 'rejected' })).toThrow(
      ContractViolationError,
    );
    const desired = exampleDesiredState();
    desired.rtVms = [desired.rtVms[0], desired.rtVms[0]];
    expect(() => encodeDesired(DEVICE, desired)).toThrow(/rtVms\.1\.vmName: VM RT_VM0 is listed twice/);
    expect(() => encodeDeviceMessage('bad/id', 'status', exampleDeviceMessages().status)).toThrow(
      /invalid device id/,
    );
  });

  it('refuses payloads above the limit', () => {
    const m = exampleDeviceMessages()['vm-state'];
    m.payload.vmName = 'RT_VM0';
    const huge = { ...m, payload: { ...m.payload, padding: 'x'.repeat(20000) } };
    // unknown fields are stripped before encoding, so this fits …
    expect(() => encodeDeviceMessage(DEVICE, 'vm-state', huge)).not.toThrow();
    // … but a telemetry batch past 64 KiB does not.
    const t = exampleDeviceMessages().telemetry;
    const sample = {
      at: '2025-02-03T08:05:05.123456789+01:00',
      vmName: 'RT_VM0_LATENCY',
      cpuPercent: 61.12345678901234,
      memoryUsedBytes: 734101504123,
      rtLatencyUs: { max: 11.12345678901234, avg: 4.123456789012345 },
    };
    t.payload.samples = Array.from({ length: 500 }, () => sample);
    expect(() => encodeDeviceMessage(DEVICE, 'telemetry', t)).toThrow(/above the limit of 65536/);
  });

  it('buildCommand fills issuedAt and expiresAt from the default timeout', () => {
    const issuedAt = new Date('2025-02-03T12:00:00.000Z');
    const cmd = buildCommand('restart-vm', { vmName: 'RT_VM0' }, { commandId: 'c-1', issuedAt });
    expect(cmd).toEqual({
      protocolVersion: 1,
      commandId: 'c-1',
      issuedAt: '2025-02-03T12:00:00.000Z',
      expiresAt: new Date(issuedAt.getTime() + DEFAULT_COMMAND_TIMEOUT_MS['restart-vm']).toISOString(),
      args: { vmName: 'RT_VM0' },
    });
    const short = buildCommand('reboot', { reason: 'test' }, { commandId: 'c-2', issuedAt, timeoutMs: 1000 });
    expect(short.expiresAt).toBe('2025-02-03T12:00:01.000Z');
    expect(() => encodeCommand(DEVICE, 'reboot', short)).not.toThrow();
  });

  it('lastWill: status offline, retained, seq 0, in the epoch the birth will open', () => {
    const will = lastWill(DEVICE, { msgId: 'w-1', epoch: 8, sentAt: '2025-02-03T12:00:00.000Z' });
    expect(will).toMatchObject({ topic: `hf/v1/${DEVICE}/status`, qos: 1, retain: true });
    const decoded = decodeDeviceMessage(will.topic, will.payload, { authenticatedDeviceId: DEVICE });
    expect(decoded).toMatchObject({
      ok: true,
      kind: 'status',
      message: { epoch: 8, seq: 0, payload: { state: 'offline', reason: 'connection-lost' } },
    });
  });
});
