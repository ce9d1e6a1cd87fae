/**
 * Identifiers that appear in topics or act as keys. Device ids become a topic level, so their charset
 * excludes everything MQTT gives a meaning to (`/`, the wildcards `+` and `#`, a leading `$`, NUL)
 * and whitespace. The pattern is the one libs/domain uses for device ids.
 */

export const DEVICE_ID_MAX_LENGTH = 128;
/** Letters, digits, `.`, `_`, `:` and `-`, starting with a letter or digit, 1 to 128 characters. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Message and command ids: the device id charset (a UUID fits), at most 128 characters. */
export const MESSAGE_ID_PATTERN = DEVICE_ID_PATTERN;
/** Rollout and partition plan ids: the device id charset. */
export const ENTITY_ID_PATTERN = DEVICE_ID_PATTERN;
/** ACRN's VMNameType (misc/config_tools/schema/types.xsd): 1–15 of `[a-zA-Z0-9_-]`. */
export const VM_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,15}$/;
/** Reply and error codes: upper snake case, e.g. `SCHEMA_INVALID`, `RTVM_NOT_STOPPED`. */
export const CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

export function isValidDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value);
}

/**
 * Why a string is not a usable device id, in a sentence; undefined when it is one.
 * Names the MQTT-specific problems (wildcards, separators) before the general charset rule.
 */
export function deviceIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'the device id is empty';
  if (value.length > DEVICE_ID_MAX_LENGTH) {
    return `the device id is ${value.length} characters long; the limit is ${DEVICE_ID_MAX_LENGTH}`;
  }
  if (/[+#]/.test(value)) return 'the device id contains an MQTT wildcard (+ or #)';
  if (value.includes('/')) return 'the device id contains a topic separator (/)';
  if (value.startsWith('$')) return 'the device id starts with $, which MQTT reserves';
  if (!DEVICE_ID_PATTERN.test(value)) {
    return 'the device id may only hold letters, digits, ".", "_", ":" and "-", and must start with a letter or digit';
  }
  return undefined;
}
