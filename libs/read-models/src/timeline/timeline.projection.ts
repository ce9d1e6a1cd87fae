import type { Projection } from '../framework/projection';

/** Every event of a device, in the order it happened. Non-device streams (plans, rollouts) are skipped. */
export const deviceTimelineProjection: Projection = {
  name: 'device-timeline',
  tables: ['device_timeline'],
  handles: 'all',
  async apply(events, sql, ctx) {
    const rows = events.filter((e) => typeof e.data.deviceId === 'string');
    if (rows.length === 0) return;
    await sql.query(
      `INSERT INTO ${ctx.table('device_timeline')}
         (stream_id, stream_position, device_id, log_position, event_id, event_type, occurred_at, data)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[])
       ON CONFLICT (stream_id, stream_position) DO NOTHING`,
      [
        rows.map((e) => e.streamId),
        rows.map((e) => e.streamPosition),
        rows.map((e) => e.data.deviceId as string),
        rows.map((e) => e.logPosition),
        rows.map((e) => e.id),
        rows.map((e) => e.type),
        rows.map((e) => (typeof e.data.at === 'string' ? e.data.at : e.time)),
        rows.map((e) => JSON.stringify(e.data)),
      ],
    );
  },
};
