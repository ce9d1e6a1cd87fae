import { MESSAGE_ID_PATTERN, VM_NAME_PATTERN } from './ids';
import {
  MAX_HISTOGRAM_BUCKETS,
  MAX_TELEMETRY_SAMPLES,
  PROTOCOL_VERSION,
  type DeviceMessageKind,
} from './protocol';
import { ACRNCTL_STATES, DM_VM_EVENTS, timestampSchema } from './schemas/common';
import { DEVICE_MODEL_STATUSES } from './schemas/device';

/*
 * Hand-written checks for the kinds a fleet sends all day (telemetry, health, vm-state): zod took
 * half of the gateway's decoding time (docs/benchmarks.md). Each check answers one question: would
 * the kind's zod schema accept this value AND return it unchanged? Only then is it true, and the
 * gateway uses the parsed JSON as it is. A value with a field the schema does not know (zod strips
 * it), a default left out (zod fills it) or anything invalid gets false, and goes through zod, which
 * also words the error. So a false is never a verdict, and a check may be stricter than the schema,
 * never looser: exact-shape.spec.ts holds every check to its schema on valid and broken messages.
 */

type Json = Record<string, unknown>;

// zod's own ISO-8601 pattern for the timestamp schema, so both agree on every string.
const TIMESTAMP = timestampSchema._zod.pattern as RegExp;
const acrnctlStates: ReadonlySet<unknown> = new Set(ACRNCTL_STATES);
const dmEvents: ReadonlySet<unknown> = new Set(DM_VM_EVENTS);
const dmStatuses: ReadonlySet<unknown> = new Set(DEVICE_MODEL_STATUSES);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTimestamp = (v: unknown) => typeof v === 'string' && TIMESTAMP.test(v);
const isVmName = (v: unknown) => typeof v === 'string' && VM_NAME_PATTERN.test(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNonNegative = (v: unknown): v is number => isNumber(v) && v >= 0;
const isNonNegativeInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPercent = (v: unknown) => isNumber(v) && v >= 0 && v <= 100;

/** Own keys all among `allowed` (and, being JSON.parse output, plain data). */
function onlyKeys(o: Json, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}
const keys = (...k: string[]): ReadonlySet<string> => new Set(k);

const ENVELOPE = keys('protocolVersion', 'msgId', 'epoch', 'seq', 'sentAt', 'payload');

function envelopeOk(m: unknown): m is Json & { payload: unknown } {
  return (
    isObject(m) &&
    onlyKeys(m, ENVELOPE) &&
    m.protocolVersion === PROTOCOL_VERSION &&
    typeof m.msgId === 'string' &&
    MESSAGE_ID_PATTERN.test(m.msgId) &&
    Number.isSafeInteger(m.epoch) &&
    (m.epoch as number) > 0 &&
    isNonNegativeInt(m.seq) &&
    isTimestamp(m.sentAt) &&
    'payload' in m
  );
}

// ------------------------------------------------------------------------------------------ telemetry

const SAMPLE = keys('at', 'vmName', 'cpuPercent', 'memoryUsedBytes', 'rtLatencyUs');
const RT_LATENCY = keys('max', 'avg');
const TELEMETRY = keys('samples', 'droppedSamples');

function sampleOk(s: unknown): boolean {
  if (!isObject(s) || !onlyKeys(s, SAMPLE)) return false;
  if (!isTimestamp(s.at) || !isVmName(s.vmName) || !isPercent(s.cpuPercent)) return false;
  if (!isNonNegativeInt(s.memoryUsedBytes)) return false;
  const rt = s.rtLatencyUs;
  if (rt === undefined) return !('rtLatencyUs' in s);
  return (
    isObject(rt) &&
    onlyKeys(rt, RT_LATENCY) &&
    isNonNegative(rt.max) &&
    (rt.avg === undefined ? !('avg' in rt) : isNonNegative(rt.avg))
  );
}

function telemetryOk(p: unknown): boolean {
  if (!isObject(p) || !onlyKeys(p, TELEMETRY) || !isNonNegativeInt(p.droppedSamples)) return false;
  const samples = p.samples;
  if (!Array.isArray(samples) || samples.length < 1 || samples.length > MAX_TELEMETRY_SAMPLES) return false;
  for (const s of samples) if (!sampleOk(s)) return false;
  return true;
}

// --------------------------------------------------------------------------------------------- health

const RT_VM_HEALTH = keys(
  'vmName',
  'samples',
  'minLatencyUs',
  'avgLatencyUs',
  'worstCaseLatencyUs',
  'jitterUs',
  'histogram',
);
const HISTOGRAM = keys('bucketWidthUs', 'counts', 'overflow');
const SERVICE_VM = keys('load1', 'load5', 'load15', 'cpuPercent', 'memoryUsedBytes', 'memoryTotalBytes');
const DEVICE_MODEL = keys('status', 'acrnDmProcesses', 'unresponsiveVms', 'message');
const HEALTH = keys('windowStart', 'windowEnd', 'rtVms', 'serviceVm', 'deviceModel');

function histogramOk(h: unknown): boolean {
  if (!isObject(h) || !onlyKeys(h, HISTOGRAM)) return false;
  if (!Number.isSafeInteger(h.bucketWidthUs) || (h.bucketWidthUs as number) <= 0) return false;
  if (!isNonNegativeInt(h.overflow) || !Array.isArray(h.counts)) return false;
  if (h.counts.length > MAX_HISTOGRAM_BUCKETS) return false;
  for (const c of h.counts) if (!isNonNegativeInt(c)) return false;
  return true;
}

function rtVmHealthOk(v: unknown): boolean {
  if (!isObject(v) || !onlyKeys(v, RT_VM_HEALTH) || !isVmName(v.vmName)) return false;
  const { avgLatencyUs: avg, worstCaseLatencyUs: worst, minLatencyUs: min } = v;
  if (!isNonNegativeInt(v.samples) || !isNonNegative(avg) || !isNonNegative(worst)) return false;
  if (!isNonNegative(v.jitterUs) || avg > worst) return false;
  if (min === undefined ? 'minLatencyUs' in v : !isNonNegative(min) || min > avg) return false;
  return v.histogram === undefined ? !('histogram' in v) : histogramOk(v.histogram);
}

function healthOk(p: unknown): boolean {
  if (!isObject(p) || !onlyKeys(p, HEALTH)) return false;
  if (!isTimestamp(p.windowStart) || !isTimestamp(p.windowEnd)) return false;
  if (Date.parse(p.windowEnd as string) < Date.parse(p.windowStart as string)) return false;
  if (!Array.isArray(p.rtVms) || p.rtVms.length > 64) return false;
  for (const v of p.rtVms) if (!rtVmHealthOk(v)) return false;
  const s = p.serviceVm;
  if (!isObject(s) || !onlyKeys(s, SERVICE_VM)) return false;
  if (!isNonNegative(s.load1) || !isNonNegative(s.load5) || !isNonNegative(s.load15)) return false;
  if (!isPercent(s.cpuPercent) || !isNonNegativeInt(s.memoryUsedBytes)) return false;
  if (!Number.isSafeInteger(s.memoryTotalBytes) || (s.memoryTotalBytes as number) <= 0) return false;
  const d = p.deviceModel;
  if (!isObject(d) || !onlyKeys(d, DEVICE_MODEL) || !dmStatuses.has(d.status)) return false;
  if (!isNonNegativeInt(d.acrnDmProcesses)) return false;
  // Left out, zod fills in []: not returned unchanged.
  const unresponsive = d.unresponsiveVms;
  if (!Array.isArray(unresponsive) || unresponsive.length > 64) return false;
  for (const n of unresponsive) if (!isVmName(n)) return false;
  if (d.message === undefined) return !('message' in d);
  return typeof d.message === 'string' && d.message.length <= 1024;
}

// ------------------------------------------------------------------------------------------- vm-state

const VM_STATE = keys(
  'vmName',
  'state',
  'previousState',
  'event',
  'rtcDeltaSeconds',
  'commandId',
  'observedAt',
);

function vmStateOk(p: unknown): boolean {
  if (!isObject(p) || !onlyKeys(p, VM_STATE)) return false;
  if (!isVmName(p.vmName) || !acrnctlStates.has(p.state) || !isTimestamp(p.observedAt)) return false;
  // Optional fields, present with undefined cannot come out of JSON.parse; `in` keeps it exact anyway.
  if ('previousState' in p && !acrnctlStates.has(p.previousState)) return false;
  if ('event' in p && !dmEvents.has(p.event)) return false;
  if ('commandId' in p && !(typeof p.commandId === 'string' && MESSAGE_ID_PATTERN.test(p.commandId)))
    return false;
  if ('rtcDeltaSeconds' in p && !(isNumber(p.rtcDeltaSeconds) && p.event === 'VM_EVENT_RTC_CHG'))
    return false;
  return true;
}

const PAYLOAD_CHECKS: Partial<Record<DeviceMessageKind, (payload: unknown) => boolean>> = {
  telemetry: telemetryOk,
  health: healthOk,
  'vm-state': vmStateOk,
};

/**
 * True when the kind's zod schema would accept `message` (JSON.parse output) and return it unchanged;
 * false means "ask zod" (an unknown field, a default to fill, an error, or a kind without a check).
 */
export function isExactDeviceMessage(kind: DeviceMessageKind, message: unknown): boolean {
  const payloadOk = PAYLOAD_CHECKS[kind];
  return payloadOk !== undefined && envelopeOk(message) && payloadOk(message.payload);
}
