import {
  COMMAND_NAMES,
  DEVICE_MESSAGE_KINDS,
  GATEWAY_SUBSCRIPTIONS,
  InvalidDeviceIdError,
  agentSubscriptions,
  channelAddress,
  commandTopic,
  desiredTopic,
  deviceIdProblem,
  deviceTopic,
  isValidDeviceId,
  parseTopic,
  peekDeviceKind,
  replyTopic,
  topicsFor,
} from '.';

/** MQTT topic-filter matching (`+` one level, `#` the rest), to check the subscription lists. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

describe('topic builders and parseTopic', () => {
  it.each(DEVICE_MESSAGE_KINDS)('round-trips the device kind %s', (kind) => {
    const topic = deviceTopic('dev-1', kind);
    expect(topic).toBe(`hf/v1/dev-1/${kind}`);
    expect(parseTopic(topic)).toEqual({ ok: true, deviceId: 'dev-1', direction: 'device-to-backend', kind });
  });

  it.each(COMMAND_NAMES)('round-trips the command %s', (command) => {
    const topic = commandTopic('plant-7.line:3_a', command);
    expect(topic).toBe(`hf/v1/plant-7.line:3_a/cmd/${command}`);
    expect(parseTopic(topic)).toEqual({
      ok: true,
      deviceId: 'plant-7.line:3_a',
      direction: 'backend-to-device',
      kind: 'cmd',
      command,
    });
  });

  it('round-trips reply and desired', () => {
    expect(parseTopic(replyTopic('dev-1'))).toEqual({
      ok: true,
      deviceId: 'dev-1',
      direction: 'backend-to-device',
      kind: 'reply',
    });
    expect(parseTopic(desiredTopic('dev-1'))).toEqual({
      ok: true,
      deviceId: 'dev-1',
      direction: 'backend-to-device',
      kind: 'desired',
    });
  });

  it('parses the example from the brief', () => {
    expect(parseTopic('hf/v1/dev-1/vm-state')).toMatchObject({
      ok: true,
      deviceId: 'dev-1',
      kind: 'vm-state',
    });
  });

  it('lists every topic of a device', () => {
    const t = topicsFor('dev-1');
    expect(t.cmdAck).toBe('hf/v1/dev-1/cmd-ack');
    expect(t.command('reboot')).toBe('hf/v1/dev-1/cmd/reboot');
    expect(t.desired).toBe('hf/v1/dev-1/desired');
  });

  it('accepts a device id of 128 characters and refuses 129', () => {
    const id = `a${'b'.repeat(127)}`;
    expect(parseTopic(deviceTopic(id, 'birth'))).toMatchObject({ ok: true, deviceId: id });
    expect(parseTopic(`hf/v1/${id}b/birth`)).toMatchObject({ ok: false, code: 'INVALID_TOPIC' });
    expect(() => deviceTopic(`${id}b`, 'birth')).toThrow(InvalidDeviceIdError);
  });

  it.each([
    ['hf/v1/+/birth', 'wildcard'],
    ['hf/v1/dev+1/birth', 'wildcard'],
    ['hf/v1/dev-1/#', 'wildcard'],
    ['hf/v1/#', 'wildcard'],
    ['hf/v1/dev 1/birth', 'may only hold'],
    ['hf/v1/-dev/birth', 'must start with a letter or digit'],
    ['hf/v1/$SYS/birth', 'reserves'],
    ['hf/v1//birth', 'empty'],
    ['hf/v1/dév/birth', 'may only hold'],
    ['hf/v1/dev\u0000/birth', 'NUL'],
    ['hf/v1/dev-1', 'no device id and kind'],
    ['hf/v1/dev-1/', 'kind level is empty'],
    ['hf/v1/dev-1/birth/extra', 'levels after the kind'],
    ['hf/v1/dev-1/cmd', 'needs a command name'],
    ['hf/v1/dev-1/cmd/start-vm/now', 'levels after the command'],
    ['/hf/v1/dev-1/birth', 'root level'],
    ['fleet/v1/dev-1/birth', 'root level'],
    ['hf/version1/dev-1/birth', 'version like v1'],
    ['', 'empty'],
  ])('refuses %j as INVALID_TOPIC (%s)', (topic, problem) => {
    const parsed = parseTopic(topic);
    expect(parsed).toMatchObject({ ok: false, code: 'INVALID_TOPIC' });
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });

  it('refuses another protocol version as UNSUPPORTED_VERSION', () => {
    expect(parseTopic('hf/v2/dev-1/birth')).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
  });

  it('refuses unknown kinds and commands as UNKNOWN_TYPE, naming the device', () => {
    expect(parseTopic('hf/v1/dev-1/heartbeat')).toEqual({
      ok: false,
      code: 'UNKNOWN_TYPE',
      problem: '"heartbeat" is not a message kind',
      deviceId: 'dev-1',
      kind: 'heartbeat',
    });
    expect(parseTopic('hf/v1/dev-1/cmd/format-disk')).toMatchObject({
      ok: false,
      code: 'UNKNOWN_TYPE',
      deviceId: 'dev-1',
      kind: 'cmd/format-disk',
    });
  });

  it('names the MQTT-specific problems of a device id', () => {
    expect(deviceIdProblem('a+b')).toContain('wildcard');
    expect(deviceIdProblem('a#')).toContain('wildcard');
    expect(deviceIdProblem('a/b')).toContain('separator');
    expect(deviceIdProblem('')).toContain('empty');
    expect(deviceIdProblem('ipc-0042')).toBeUndefined();
    expect(isValidDeviceId('ipc-0042')).toBe(true);
    expect(isValidDeviceId(42)).toBe(false);
  });

  it('builders refuse device ids that are not a safe topic level', () => {
    for (const bad of ['', '+', '#', 'a/b', '$SYS', 'with space']) {
      expect(() => deviceTopic(bad, 'birth')).toThrow(InvalidDeviceIdError);
      expect(() => replyTopic(bad)).toThrow(InvalidDeviceIdError);
      expect(() => commandTopic(bad, 'reboot')).toThrow(InvalidDeviceIdError);
    }
  });

  it('peeks the kind of a device topic only', () => {
    expect(peekDeviceKind('hf/v1/x/telemetry')).toBe('telemetry');
    expect(peekDeviceKind('hf/v1/x/reply')).toBeUndefined();
    expect(peekDeviceKind('hf/v1/x/telemetry/more')).toBeUndefined();
  });

  it('gateway subscriptions catch every device kind and none of the backend topics', () => {
    for (const kind of DEVICE_MESSAGE_KINDS) {
      expect(GATEWAY_SUBSCRIPTIONS.some((f) => matches(f, deviceTopic('dev-1', kind)))).toBe(true);
    }
    const backend = [
      replyTopic('dev-1'),
      desiredTopic('dev-1'),
      ...COMMAND_NAMES.map((c) => commandTopic('dev-1', c)),
    ];
    for (const topic of backend) expect(GATEWAY_SUBSCRIPTIONS.some((f) => matches(f, topic))).toBe(false);
  });

  it('agent subscriptions catch its own backend topics only', () => {
    const filters = agentSubscriptions('dev-1');
    expect(filters).toEqual(['hf/v1/dev-1/reply', 'hf/v1/dev-1/desired', 'hf/v1/dev-1/cmd/+']);
    for (const c of COMMAND_NAMES)
      expect(filters.some((f) => matches(f, commandTopic('dev-1', c)))).toBe(true);
    expect(filters.some((f) => matches(f, commandTopic('dev-2', 'reboot')))).toBe(false);
    expect(filters.some((f) => matches(f, deviceTopic('dev-1', 'birth')))).toBe(false);
  });

  it('gives AsyncAPI channel addresses with the deviceId parameter', () => {
    expect(channelAddress('vm-state')).toBe('hf/v1/{deviceId}/vm-state');
    expect(channelAddress('cmd', 'stop-vm')).toBe('hf/v1/{deviceId}/cmd/stop-vm');
  });
});
