import { toProblem } from '../http/api-exception.filter';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { histogramQuerySchema, rollupsQuerySchema, sloQuerySchema } from './telemetry.schemas';

/** The VALIDATION_FAILED issues a query gets, as `path: message`. */
function issues(schema: ConstructorParameters<typeof ZodValidationPipe>[0], query: Record<string, unknown>) {
  try {
    new ZodValidationPipe(schema, 'query').transform(query);
  } catch (err) {
    const p = toProblem(err);
    expect(p.status).toBe(400);
    expect(p.body.code).toBe('VALIDATION_FAILED');
    return (p.body.details!.issues as { path: string; message: string }[]).map(
      (i) => `${i.path}: ${i.message}`,
    );
  }
  return [];
}

describe('telemetry query parameters', () => {
  it('rollups: defaults to the last hour per minute', () => {
    const before = Date.now();
    const q = new ZodValidationPipe(rollupsQuerySchema, 'query').transform({ deviceId: 'ipc-1' });
    expect(q).toMatchObject({ deviceId: 'ipc-1', vmName: undefined, bucket: '1m' });
    expect(q.to.getTime()).toBeGreaterThanOrEqual(before);
    expect(q.to.getTime() - q.from.getTime()).toBe(3_600_000);
  });

  it('rollups: takes explicit times with any offset', () => {
    const q = new ZodValidationPipe(rollupsQuerySchema, 'query').transform({
      deviceId: 'ipc-1',
      vm: 'RT_VM0',
      from: '2026-01-01T00:00:00+01:00',
      to: '2026-01-01T06:00:00Z',
      bucket: '5m',
    });
    expect(q.from.toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(q).toMatchObject({ vmName: 'RT_VM0', bucket: '5m' });
  });

  it('rollups: each mistake its own message, naming the parameter', () => {
    expect(issues(rollupsQuerySchema, {})).toEqual([expect.stringMatching(/^deviceId: /)]);
    expect(issues(rollupsQuerySchema, { deviceId: 'ipc-1', bucket: '10m' })).toEqual([
      'bucket: must be one of 1m, 5m, 1h',
    ]);
    expect(issues(rollupsQuerySchema, { deviceId: 'ipc-1', from: 'yesterday' })).toEqual([
      'from: must be an ISO-8601 date-time with a time zone, e.g. 2025-02-03T08:00:00Z',
    ]);
    expect(issues(rollupsQuerySchema, { deviceId: 'ipc-1', to: '2026-01-01T00:00:00' })).toEqual([
      'to: must be an ISO-8601 date-time with a time zone, e.g. 2025-02-03T08:00:00Z',
    ]);
    expect(
      issues(rollupsQuerySchema, {
        deviceId: 'ipc-1',
        from: '2026-01-02T00:00:00Z',
        to: '2026-01-01T00:00:00Z',
      }),
    ).toEqual(['from: must not be after to (from 2026-01-02T00:00:00.000Z, to 2026-01-01T00:00:00.000Z)']);
    expect(
      issues(rollupsQuerySchema, {
        deviceId: 'ipc-1',
        from: '2026-01-01T00:00:00Z',
        to: '2026-01-03T00:00:00Z',
      }),
    ).toEqual([
      'from: the range from 2026-01-01T00:00:00.000Z to 2026-01-03T00:00:00.000Z spans 2 days; with bucket=1m it may span at most 1 day',
    ]);
    // The same range is fine at 5m.
    expect(
      issues(rollupsQuerySchema, {
        deviceId: 'ipc-1',
        from: '2026-01-01T00:00:00Z',
        to: '2026-01-03T00:00:00Z',
        bucket: '5m',
      }),
    ).toEqual([]);
    expect(issues(rollupsQuerySchema, { deviceId: 'ipc-1', vm: 'not a vm name!' })).toEqual([
      expect.stringMatching(/^vm: an ACRN VM name/),
    ]);
    expect(issues(rollupsQuerySchema, { deviceId: 'ipc-1', devce: 'x' })).toEqual([
      '(query): Unrecognized key: "devce"',
    ]);
  });

  it('histogram: at most 31 days', () => {
    expect(
      issues(histogramQuerySchema, {
        deviceId: 'ipc-1',
        from: '2026-01-01T00:00:00Z',
        to: '2026-03-01T00:00:00Z',
      }),
    ).toEqual([
      'from: the range from 2026-01-01T00:00:00.000Z to 2026-03-01T00:00:00.000Z spans 59 days; for a histogram it may span at most 31 days',
    ]);
  });

  it('slo: window, class, limit and overrides', () => {
    const pipe = new ZodValidationPipe(sloQuerySchema, 'query');
    expect(pipe.transform({})).toEqual({});
    expect(
      pipe.transform({
        window: '24h',
        class: 'vehicle',
        site: 'depot-1',
        limit: '5',
        objective: '0.99',
        defaultBudgetUs: '80',
      }),
    ).toEqual({
      window: '24h',
      class: 'vehicle',
      site: 'depot-1',
      limit: 5,
      objective: 0.99,
      defaultBudgetUs: 80,
    });
    expect(issues(sloQuerySchema, { window: '7d' })).toEqual(['window: must be one of 1h, 24h']);
    expect(issues(sloQuerySchema, { class: 'truck' })).toEqual([
      'class: must be one of vehicle, industrial-pc',
    ]);
    expect(issues(sloQuerySchema, { limit: '0' })).toEqual(['limit: must be at least 1']);
    expect(issues(sloQuerySchema, { objective: '1' })).toEqual([
      'objective: must be a fraction between 0 and 1, e.g. 0.999',
    ]);
  });
});
