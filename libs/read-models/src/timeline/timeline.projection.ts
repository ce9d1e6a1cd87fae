import type { Projection } from '../framework/projection';

/** Every event of a device, in the order it happened. Non-device streams (plans, rollouts) are skipped. */
export const deviceTimelineProjection: Projection = {
  name: 'device-timeline',
  tables: ['device_timeline'],
  handles: 'all',
  independentEvents: true,
  async apply(events, sql, ctx) {
    const rows = events.filter((e) => typeof e.data.deviceId === 'string');
    if (rows.length === 0) return;
    // One JSON document for the batch: each event's data is written once into it and parsed once
    // by PostgreSQL; as a jsonb[] parameter it was escaped into an array literal and parsed twice.
    await sql.query(
      `INSERT INTO ${ctx.table('device_timeline')}
         (stream_id, stream_position, device_id, log_position, event_id, event_type, occurred_at, data)
       SELECT r.s, r.p, r.d, r.l, r.i, r.t, r.o, r.x::jsonb
         FROM json_to_recordset($1::json)
           AS r(s text, p bigint, d text, l text, i text, t text, o timestamptz, x json)
       ON CONFLICT (stream_id, stream_position) DO NOTHING`,
      [
        JSON.stringify(
          rows.map((e) => ({
            s: e.streamId,
            p: e.streamPosition,
            d: e.data.deviceId,
            l: e.logPosition,
            i: e.id,
            t: e.type,
            o: typeof e.data.at === 'string' ? e.data.at : e.time,
            x: e.data,
          })),
        ),
      ],
    );
  },
};
