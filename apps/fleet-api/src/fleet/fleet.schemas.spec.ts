import { ApiError } from '../http/api-error';
import { toProblem } from '../http/api-exception.filter';
import {
  decodeDeviceCursor,
  decodeTimelineCursor,
  encodeCursor,
  instantMicros,
  listDevicesQuerySchema,
  timelineQuerySchema,
} from './fleet.schemas';
import { QueryValidationPipe } from './query-validation.pipe';

/** Express's query object: a null prototype, strings, and arrays for repeated parameters. */
const query = (values: Record<string, string | string[]>) => Object.assign(Object.create(null), values);

function problemOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return toProblem(err).body;
  }
  throw new Error('expected a refusal');
}

describe('GET /api/v1/devices query', () => {
  const pipe = new QueryValidationPipe(listDevicesQuerySchema);

  it('defaults the page size and turns flags, numbers and repeated tags into values', () => {
    expect(pipe.transform(query({}))).toEqual({ limit: 50 });
    expect(pipe.transform(undefined)).toEqual({ limit: 50 });
    expect(
      pipe.transform(
        query({ limit: '500', online: 'false', overBudget: 'true', tag: 'eu', class: 'vehicle', q: 'veh-0' }),
      ),
    ).toEqual({ limit: 500, online: false, overBudget: true, tag: ['eu'], class: 'vehicle', q: 'veh-0' });
    expect(pipe.transform(query({ tag: ['eu', 'pilot'] })).tag).toEqual(['eu', 'pilot']);
  });

  it('names every bad and every unknown parameter', () => {
    const body = problemOf(() =>
      pipe.transform(query({ limit: ['1', '2'], online: 'yes', onlne: 'true', tag: ['ok', ''], q: '-x' })),
    );
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details).toMatchObject({ part: 'query' });
    expect(body.details!.issues).toEqual(
      expect.arrayContaining([
        { path: 'onlne', message: 'is not a parameter of this endpoint' },
        { path: 'limit', message: 'must be given at most once' },
        { path: 'online', message: 'must be true or false' },
        { path: 'tag.1', message: expect.any(String) },
        { path: 'q', message: expect.stringContaining('start of a device id') },
      ]),
    );
    for (const limit of ['0', '501', '1.5', '-1', ' 5', '1e2']) {
      expect(problemOf(() => pipe.transform(query({ limit }))).details!.issues).toEqual([
        { path: 'limit', message: 'must be an integer from 1 to 500' },
      ]);
    }
  });
});

describe('GET /api/v1/devices/{id}/timeline query', () => {
  const pipe = new QueryValidationPipe(timelineQuerySchema);

  it('takes event types, an ISO window and a page', () => {
    expect(
      pipe.transform(
        query({ type: ['DeviceWentOnline', 'DeviceWentOffline'], since: '2026-03-01T08:00:00+01:00' }),
      ),
    ).toEqual({
      type: ['DeviceWentOnline', 'DeviceWentOffline'],
      since: '2026-03-01T08:00:00+01:00',
      limit: 50,
    });
  });

  it('wants until after since, to the microsecond', () => {
    const ok = query({ since: '2026-03-01T09:00:00.123456Z', until: '2026-03-01T09:00:00.123457Z' });
    expect(pipe.transform(ok)).toMatchObject({ until: '2026-03-01T09:00:00.123457Z' });
    const same = query({ since: '2026-03-01T10:00:00+01:00', until: '2026-03-01T09:00:00Z' });
    expect(problemOf(() => pipe.transform(same)).details!.issues).toEqual([
      { path: 'until', message: 'must be later than since' },
    ]);
    expect(problemOf(() => pipe.transform(query({ since: 'yesterday' }))).details!.issues).toEqual([
      { path: 'since', message: expect.stringContaining('ISO-8601') },
    ]);
  });

  it('instantMicros keeps what Date.parse drops', () => {
    expect(instantMicros('1970-01-01T00:00:01.000002Z')).toBe(1_000_002n);
    expect(instantMicros('1970-01-01T01:00:00+01:00')).toBe(0n);
    expect(instantMicros('1970-01-01T00:00:00.1234567Z')).toBe(123_456n);
  });
});

describe('cursors', () => {
  it('round-trip, and anything else is INVALID_CURSOR', () => {
    expect(decodeDeviceCursor(encodeCursor({ k: 'devices', id: 'veh-1' }))).toEqual({
      k: 'devices',
      id: 'veh-1',
    });
    const t = {
      k: 'timeline' as const,
      d: 'veh-1',
      at: '2026-03-01T09:00:00.123456Z',
      s: 'hypervisor-veh-1',
      p: 3,
    };
    expect(decodeTimelineCursor(encodeCursor(t), 'veh-1')).toEqual(t);

    const refused = [
      () => decodeDeviceCursor('%%%'),
      () => decodeDeviceCursor(Buffer.from('not json').toString('base64url')),
      () => decodeDeviceCursor(Buffer.from('{"k":"devices","id":""}').toString('base64url')),
      () => decodeDeviceCursor(encodeCursor(t)),
      () => decodeTimelineCursor(encodeCursor({ k: 'devices', id: 'veh-1' }), 'veh-1'),
      () => decodeTimelineCursor(encodeCursor(t), 'veh-2'),
    ];
    for (const attempt of refused) {
      expect(problemOf(attempt)).toMatchObject({ code: 'INVALID_CURSOR', details: { parameter: 'cursor' } });
    }
  });
});
