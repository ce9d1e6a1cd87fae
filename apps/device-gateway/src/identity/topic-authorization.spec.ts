import { DEVICE_MESSAGE_KINDS, GATEWAY_SUBSCRIPTIONS, agentSubscriptions } from '@hyperfleet/contracts';
import { authorizeDeviceTopic, filterCovered, type MqttIdentity } from './topic-authorization';

const dev1: MqttIdentity = { kind: 'device', deviceId: 'dev-1' };
const gateway: MqttIdentity = { kind: 'gateway', username: 'hyperfleet-gateway' };

const allowed = (who: MqttIdentity, topic: string, action: 'publish' | 'subscribe') =>
  authorizeDeviceTopic(who, topic, action).allowed;

describe('authorizeDeviceTopic: a device', () => {
  it.each([...DEVICE_MESSAGE_KINDS])('publishes its own %s', (kind) => {
    expect(allowed(dev1, `hf/v1/dev-1/${kind}`, 'publish')).toBe(true);
  });

  it.each([...DEVICE_MESSAGE_KINDS])("never publishes another device's %s", (kind) => {
    const d = authorizeDeviceTopic(dev1, `hf/v1/dev-2/${kind}`, 'publish');
    expect(d).toEqual({ allowed: false, reason: `device dev-1 may not publish to hf/v1/dev-2/${kind}` });
  });

  it.each([
    ['its reply topic', 'hf/v1/dev-1/reply'],
    ['its desired state', 'hf/v1/dev-1/desired'],
    ['a command', 'hf/v1/dev-1/cmd/start-vm'],
    ['an unknown kind', 'hf/v1/dev-1/heartbeat'],
    ['a deeper topic', 'hf/v1/dev-1/birth/x'],
    ['another version', 'hf/v2/dev-1/birth'],
    ['a prefix of its id', 'hf/v1/dev-10/birth'],
    ['a broker topic', '$SYS/broker/clients'],
    ['a shared-subscription name', '$share/g/hf/v1/dev-1/birth'],
    ['a wildcard', 'hf/v1/+/birth'],
    ['a multi-level wildcard', 'hf/v1/dev-1/#'],
    ['the empty topic', ''],
  ])('may not publish to %s (%s)', (_what, topic) => {
    expect(allowed(dev1, topic, 'publish')).toBe(false);
  });

  it('subscribes to exactly what agentSubscriptions() lists', () => {
    for (const f of agentSubscriptions('dev-1')) expect(allowed(dev1, f, 'subscribe')).toBe(true);
    expect(allowed(dev1, 'hf/v1/dev-1/cmd/reboot', 'subscribe')).toBe(true);
  });

  it.each([
    ["another device's reply", 'hf/v1/dev-2/reply'],
    ["another device's desired state", 'hf/v1/dev-2/desired'],
    ["another device's commands", 'hf/v1/dev-2/cmd/+'],
    ["every device's replies", 'hf/v1/+/reply'],
    ['its own device kinds', 'hf/v1/dev-1/birth'],
    ['everything under its id', 'hf/v1/dev-1/#'],
    ['commands at any depth', 'hf/v1/dev-1/cmd/#'],
    ['any kind of its own', 'hf/v1/dev-1/+'],
    ['everything', '#'],
    ['broker topics', '$SYS/#'],
    ['a shared subscription', '$share/g/hf/v1/dev-1/reply'],
    ['a malformed filter', 'hf/v1/dev-1/cmd/a#'],
    ['a # in the middle', 'hf/v1/#/reply'],
  ])('may not subscribe to %s (%s)', (_what, filter) => {
    expect(allowed(dev1, filter, 'subscribe')).toBe(false);
  });
});

describe('authorizeDeviceTopic: the gateway account', () => {
  it('subscribes to every GATEWAY_SUBSCRIPTIONS filter, plainly and as an MQTT 5 shared subscription', () => {
    for (const f of GATEWAY_SUBSCRIPTIONS) {
      expect(allowed(gateway, f, 'subscribe')).toBe(true);
      expect(allowed(gateway, `$share/hyperfleet-gateway/${f}`, 'subscribe')).toBe(true);
    }
    expect(allowed(gateway, 'hf/v1/dev-7/vm-state', 'subscribe')).toBe(true);
  });

  it.each([
    ['replies (its own messages)', 'hf/v1/+/reply'],
    ['every level', 'hf/v1/+/+'],
    ['the whole root', 'hf/v1/#'],
    ['everything', '#'],
    ['everything, shared', '$share/g/#'],
    ['the root, shared', '$share/g/hf/v1/#'],
    ['a shared subscription without a group', '$share//hf/v1/+/birth'],
    ['a shared subscription with a wildcard group', '$share/+/hf/v1/+/birth'],
    ['desired states', 'hf/v1/+/desired'],
    ['broker topics', '$SYS/#'],
  ])('may not subscribe to %s (%s)', (_what, filter) => {
    expect(allowed(gateway, filter, 'subscribe')).toBe(false);
  });

  it.each(['hf/v1/dev-1/reply', 'hf/v1/dev-2/desired', 'hf/v1/ipc:0042.a_b/cmd/apply-plan'])(
    'publishes %s',
    (topic) => {
      expect(allowed(gateway, topic, 'publish')).toBe(true);
    },
  );

  it.each([
    ['a device kind, as if it were a device', 'hf/v1/dev-1/birth'],
    ['a reply to an invalid device id', 'hf/v1/$x/reply'],
    ['an empty device level', 'hf/v1//reply'],
    ['an empty command name', 'hf/v1/dev-1/cmd/'],
    ['a wildcard', 'hf/v1/+/reply'],
    ['outside the root', 'other/topic'],
  ])('may not publish %s (%s)', (_what, topic) => {
    expect(allowed(gateway, topic, 'publish')).toBe(false);
  });
});

describe('filterCovered', () => {
  const p = (s: string) => s.split('/');
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/+/c', true],
    ['a/+/c', 'a/#', false],
    ['a/+/c', 'a/b', false],
    ['a/+/c', 'a/b/c/d', false],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a/#', true],
    ['a/b', 'a/+', false],
  ])('pattern %s covers %s: %s', (pattern, filter, expected) => {
    expect(filterCovered(p(pattern), p(filter))).toBe(expected);
  });
});
