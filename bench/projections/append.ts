import type { Pool } from 'pg';
import type { Append } from './fleet-log';

/**
 * Writes a generated history through the event store's append function, `hf.append_events` (what
 * PostgresEventStore.append calls: the stream's version moved by compare-and-set, the events inserted
 * with their message ids, the transaction's xid8 as the log's order), one call per command with its
 * exact expected version, many commands per statement so that a million events take a minute or
 * two, not an hour. Devices are split between writers (a device's streams always on the same one, so
 * each stream is appended in order); every call must succeed, else the generator is wrong.
 */
const APPEND_MANY = `
  SELECT count(*) FILTER (WHERE r.ok) AS ok, count(*) AS n, coalesce(sum(cardinality(r.global_positions)), 0) AS events
    FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS c(stream_id, expected, events, ord)
    CROSS JOIN LATERAL hf.append_events(c.stream_id, c.expected, c.events::jsonb, false) AS r`;

export interface HistoryResult {
  events: number;
  appends: number;
  seconds: number;
}

const keyOf = (a: Append): string | null => {
  const d = a.events[0].metadata?.deviceId;
  return typeof d === 'string' ? d : null;
};

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export async function appendHistory(
  pool: Pool,
  appends: Iterable<Append>,
  o: {
    commandsPerStatement?: number;
    writers?: number;
    onProgress?: (events: number, seconds: number) => void;
  } = {},
): Promise<HistoryResult> {
  const per = o.commandsPerStatement ?? 400;
  const writers = o.writers ?? 2;
  const t0 = performance.now();
  let events = 0;
  let count = 0;
  let reported = 0;
  const write = async (chunk: Append[]): Promise<void> => {
    const { rows } = await pool.query<{ ok: string; n: string; events: string }>(APPEND_MANY, [
      chunk.map((a) => a.stream),
      chunk.map((a) => (a.expected === 0 ? -1 : a.expected)),
      chunk.map((a) => JSON.stringify(a.events)),
    ]);
    if (rows[0].ok !== rows[0].n) {
      throw new Error(`${Number(rows[0].n) - Number(rows[0].ok)} appends had a wrong expected version`);
    }
    count += Number(rows[0].n);
    events += Number(rows[0].events);
    if (o.onProgress && events - reported >= 100_000) {
      reported = events;
      o.onProgress(events, (performance.now() - t0) / 1000);
    }
  };
  // What precedes the first device command (the partition plans) goes first, on its own.
  const buffers: Append[][] = Array.from({ length: writers }, () => []);
  const busy: Promise<void>[] = Array.from({ length: writers }, () => Promise.resolve());
  let head: Append[] | null = [];
  for (const a of appends) {
    const key = keyOf(a);
    if (head) {
      if (key === null) {
        head.push(a);
        continue;
      }
      if (head.length) await write(head);
      head = null;
    }
    const w = hash(key ?? a.stream) % writers;
    const buf = buffers[w];
    buf.push(a);
    if (buf.length >= per) {
      buffers[w] = [];
      await busy[w];
      busy[w] = write(buf);
      // A failed write surfaces at the next await of this writer or at the end.
      busy[w].catch(() => undefined);
    }
  }
  if (head?.length) await write(head);
  for (let w = 0; w < writers; w++) {
    await busy[w];
    if (buffers[w].length) await write(buffers[w]);
  }
  o.onProgress?.(events, (performance.now() - t0) / 1000);
  return { events, appends: count, seconds: (performance.now() - t0) / 1000 };
}
