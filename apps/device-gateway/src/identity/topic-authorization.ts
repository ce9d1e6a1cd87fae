import { DEVICE_MESSAGE_KINDS, TOPIC_ROOT, isValidDeviceId } from '@hyperfleet/contracts';

/**
 * Who an MQTT connection is: a device (its username and client id are its device id) or the backend's
 * gateway service account.
 */
export type MqttIdentity =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'gateway'; readonly username: string };

export type TopicAction = 'publish' | 'subscribe';

export type TopicDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * The broker ACL of docs/protocol.md as data, one suffix per topic under `hf/v1/<deviceId>/`. A device
 * publishes its device kinds and subscribes to its backend topics; the gateway account does the
 * opposite, for every device. The Mosquitto ACL file is generated from the same table.
 */
export const DEVICE_PUBLISH_SUFFIXES: readonly string[] = [...DEVICE_MESSAGE_KINDS];
export const DEVICE_SUBSCRIBE_SUFFIXES: readonly string[] = ['reply', 'desired', 'cmd/+'];

const SHARED_PREFIX = '$share/';

/**
 * May this identity publish to this topic, or subscribe to this topic filter? Pure; the aedes hooks
 * and the tests use it, and the generated Mosquitto ACL says the same thing.
 *
 * - publish: the topic (no wildcards) must match one of the identity's publish patterns, where `+`
 *   stands for one valid device id (gateway) and the device's own id is literal (device).
 * - subscribe: every topic the filter can match must be allowed, so `hf/v1/<self>/cmd/+` is fine and
 *   `hf/v1/<self>/cmd/#`, `hf/v1/+/reply` or `#` are not. The gateway may wrap an allowed filter in an
 *   MQTT 5 shared subscription (`$share/<group>/<filter>`); devices may not.
 */
export function authorizeDeviceTopic(
  identity: MqttIdentity,
  topic: string,
  action: TopicAction,
): TopicDecision {
  if (topic.length === 0) return deny('the topic is empty');
  if (topic.includes('\u0000')) return deny('the topic contains a NUL character');
  const who =
    identity.kind === 'device' ? `device ${identity.deviceId}` : `the gateway account ${identity.username}`;

  if (action === 'publish') {
    if (/[+#]/.test(topic)) return deny('a PUBLISH topic cannot contain a wildcard');
    const patterns = publishPatterns(identity);
    const levels = topic.split('/');
    const ok = patterns.some((p) => publishMatches(p, levels));
    return ok ? ALLOW : deny(`${who} may not publish to ${topic}`);
  }

  let filter = topic;
  if (filter.startsWith(SHARED_PREFIX)) {
    if (identity.kind !== 'gateway') return deny(`${who} may not use shared subscriptions`);
    const rest = filter.slice(SHARED_PREFIX.length);
    const slash = rest.indexOf('/');
    const group = slash > 0 ? rest.slice(0, slash) : '';
    if (!group || /[+#]/.test(group)) return deny(`${topic} is not $share/<group>/<filter>`);
    filter = rest.slice(slash + 1);
  }
  const levels = filter.split('/');
  if (!wellFormedFilter(levels)) return deny(`${topic} is not a valid topic filter`);
  const ok = subscribePatterns(identity).some((p) => filterCovered(p, levels));
  return ok ? ALLOW : deny(`${who} may not subscribe to ${topic}`);
}

const ALLOW: TopicDecision = { allowed: true };
const deny = (reason: string): TopicDecision => ({ allowed: false, reason });

function publishPatterns(identity: MqttIdentity): string[][] {
  return identity.kind === 'device'
    ? DEVICE_PUBLISH_SUFFIXES.map((s) => `${TOPIC_ROOT}/${identity.deviceId}/${s}`.split('/'))
    : DEVICE_SUBSCRIBE_SUFFIXES.map((s) => `${TOPIC_ROOT}/+/${s}`.split('/'));
}

function subscribePatterns(identity: MqttIdentity): string[][] {
  return identity.kind === 'device'
    ? DEVICE_SUBSCRIBE_SUFFIXES.map((s) => `${TOPIC_ROOT}/${identity.deviceId}/${s}`.split('/'))
    : DEVICE_PUBLISH_SUFFIXES.map((s) => `${TOPIC_ROOT}/+/${s}`.split('/'));
}

/** A concrete topic against a pattern whose `+` levels stand for one level (the device level: a valid id). */
function publishMatches(pattern: string[], levels: string[]): boolean {
  if (pattern.length !== levels.length) return false;
  return pattern.every((p, i) => {
    if (p !== '+') return p === levels[i];
    // The device id level (index 2) must be a real device id; other `+` levels (cmd/<name>) any non-empty level.
    return i === 2 ? isValidDeviceId(levels[i]) : levels[i].length > 0;
  });
}

/** `#` only as the last level, and wildcards only as a whole level. */
function wellFormedFilter(levels: string[]): boolean {
  return levels.every((l, i) => (l === '#' ? i === levels.length - 1 : l === '+' || !/[+#]/.test(l)));
}

/** True when every topic the requested filter matches is matched by the pattern. */
export function filterCovered(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true;
    if (i >= filter.length) return false;
    const f = filter[i];
    if (f === '#') return false;
    if (p === '+') continue;
    if (f !== p) return false;
  }
  return filter.length === pattern.length;
}
