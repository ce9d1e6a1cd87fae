import { mulberry32 } from '@hyperfleet/fleet-sim';
import { decodeDeviceMessage } from './decode';
import { exampleDeviceMessage, EXAMPLE_DEVICE_ID } from './examples';
import { isExactDeviceMessage } from './exact-shape';
import type { DeviceMessageKind } from './protocol';
import { DEVICE_MESSAGE_SCHEMAS } from './schemas/device';
import { deviceTopic } from './topics';

/*
 * The exact-shape checks may only say yes where zod would accept the message and return it unchanged.
 * Held to that on the examples and on many seeded mutations of them (a field removed, added, or set
 * to a wrong, boundary or odd value), and on the decoded result end to end.
 */

const KINDS = ['telemetry', 'health', 'vm-state'] as const satisfies readonly DeviceMessageKind[];

const ODD_VALUES: unknown[] = [
  null,
  undefined,
  true,
  0,
  -0,
  -1,
  1,
  1.5,
  100,
  100.0001,
  -0.0001,
  2 ** 53,
  2 ** 53 - 1,
  Infinity,
  NaN,
  '',
  'x',
  'RT_VM0',
  'RT VM0',
  'a_name_too_long_x',
  '2025-02-03T08:05:00.000Z',
  '2025-02-03T08:05:00Z',
  '2025-02-03T08:05:00.000+01:00',
  '2025-02-30T08:05:00.000Z',
  '2025-02-03 08:05:00',
  '2025-02-03T08:05:00.000',
  'started',
  'VM_EVENT_RTC_CHG',
  'VM_EVENT_POWEROFF',
  'ok',
  'down',
  'c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b10',
  '-starts-with-dash',
  'x'.repeat(1025),
  [],
  [1, 2],
  [-1],
  {},
  { max: 1 },
  { max: 1, avg: 2 },
  { bucketWidthUs: 1, counts: [1], overflow: 0 },
];

type Path = (string | number)[];

/** Every path to a value inside `v` (objects and arrays), the root excluded. */
function paths(v: unknown, prefix: Path = []): Path[] {
  if (typeof v !== 'object' || v === null) return [];
  const out: Path[] = [];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  for (const [k, x] of entries) {
    out.push([...prefix, k]);
    out.push(...paths(x, [...prefix, k]));
  }
  return out;
}

function mutate(original: unknown, random: () => number): unknown {
  const m = structuredClone(original) as Record<string, unknown>;
  const all = paths(m);
  const times = 1 + Math.floor(random() * 3);
  for (let i = 0; i < times; i++) {
    const path = all[Math.floor(random() * all.length)];
    let parent: Record<string | number, unknown> = m;
    for (const k of path.slice(0, -1)) {
      const next = parent[k];
      if (typeof next !== 'object' || next === null) return m;
      parent = next as Record<string | number, unknown>;
    }
    const key = path[path.length - 1];
    const roll = random();
    if (roll < 0.15) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (roll < 0.25) {
      if (!Array.isArray(parent)) parent[random() < 0.5 ? 'extra' : 'rtLatencyUs'] = { max: 1 };
    } else if (roll < 0.3 && Array.isArray(parent[key])) {
      const arr = parent[key] as unknown[];
      parent[key] = Array.from({ length: random() < 0.5 ? 0 : 501 }, () => arr[0]);
    } else {
      parent[key] = structuredClone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
    }
  }
  return m;
}

describe('exact-shape checks', () => {
  it.each(KINDS)('%s: the example passes the fast check', (kind) => {
    expect(isExactDeviceMessage(kind, exampleDeviceMessage(kind))).toBe(true);
  });

  it.each(KINDS)('%s: a yes only where zod accepts and returns the message unchanged', (kind) => {
    const random = mulberry32(kind.length * 7919);
    const schema = DEVICE_MESSAGE_SCHEMAS[kind];
    let yes = 0;
    let no = 0;
    for (let i = 0; i < 4000; i++) {
      const candidate = mutate(exampleDeviceMessage(kind), random);
      const zod = schema.safeParse(candidate);
      if (isExactDeviceMessage(kind, candidate)) {
        yes++;
        expect({ candidate, success: zod.success }).toEqual({ candidate, success: true });
        expect(zod.data).toStrictEqual(candidate);
      } else {
        no++;
      }
    }
    // Both sides exercised: the mutations hit valid variants as well as broken ones.
    expect(yes).toBeGreaterThan(100);
    expect(no).toBeGreaterThan(1000);
  });

  it('leaves to zod what zod changes: a default left out, a field zod strips', () => {
    const health = exampleDeviceMessage('health');
    const { unresponsiveVms: _omitted, ...deviceModel } = health.payload.deviceModel;
    expect(isExactDeviceMessage('health', { ...health, payload: { ...health.payload, deviceModel } })).toBe(
      false,
    );
    const telemetry = exampleDeviceMessage('telemetry');
    expect(isExactDeviceMessage('telemetry', { ...telemetry, note: 'x' })).toBe(false);
    const { droppedSamples: _d, ...noDropped } = telemetry.payload;
    expect(isExactDeviceMessage('telemetry', { ...telemetry, payload: noDropped })).toBe(false);
    // Kinds without a check always go to zod.
    expect(isExactDeviceMessage('birth', exampleDeviceMessage('birth'))).toBe(false);
  });

  it('decodes the same message either way', () => {
    const random = mulberry32(42);
    for (const kind of KINDS) {
      for (let i = 0; i < 300; i++) {
        const candidate = i === 0 ? exampleDeviceMessage(kind) : mutate(exampleDeviceMessage(kind), random);
        const text = JSON.stringify(candidate);
        const decoded = decodeDeviceMessage(deviceTopic(EXAMPLE_DEVICE_ID, kind), text, {
          authenticatedDeviceId: EXAMPLE_DEVICE_ID,
        });
        // What zod alone makes of the same text: the reference.
        const zod = DEVICE_MESSAGE_SCHEMAS[kind].safeParse(JSON.parse(text));
        expect(decoded.ok).toBe(zod.success);
        if (decoded.ok && zod.success) expect(decoded.message).toStrictEqual(zod.data);
      }
    }
  });
});
