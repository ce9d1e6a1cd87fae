import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import {
  EVENT_STORE_MIGRATIONS,
  PostgresEventStore,
  runMigrations,
  type EventToAppend,
} from '@hyperfleet/event-store';
import { bar, benchDatabase, fmt, table, timed } from './support';
import { TypeOrmAppender } from './typeorm-append';

// The ceiling: the same rows into a copy of hf.events (same columns, defaults, identity and indexes)
// by one bare multi-row INSERT per batch: no stream row, no version check, no function call.
const CEILING_DDL = `CREATE TABLE bench_ceiling (LIKE hf.events INCLUDING ALL)`;

const payload = (w: number, i: number, k: number) => ({
  deviceId: `dev-${w}-${i % 500}`,
  vm: 'rtvm-1',
  worstCaseLatencyUs: 7 + ((i * 31 + k) % 50),
  pcpus: [2, 3],
  state: 'started',
});

export async function eventStoreBench(seconds: number): Promise<void> {
  const db = await benchDatabase('event_store');
  const pool = new Pool({ connectionString: db.url, max: 10 });
  pool.on('error', () => undefined);
  try {
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await pool.query(CEILING_DDL);
    const orm = await TypeOrmAppender.connect(db.url);
    const stores = {
      default: new PostgresEventStore(pool),
      inTx: new PostgresEventStore(pool, { notify: 'in-transaction' }),
      off: new PostgresEventStore(pool, { notify: 'off' }),
      alone: new PostgresEventStore(pool, { groupAppends: false }),
    };
    const rows: (string | number)[][] = [];
    const ratios: { label: string; ratio: number }[] = [];
    let run = 0;
    const rounds = 3;

    for (const batch of [1, 100]) {
      for (const writers of [1, 8]) {
        const label = `${batch === 1 ? 'single-event' : '100-event'} appends, ${writers} writer${writers > 1 ? 's' : ''}`;
        process.stdout.write(`  measuring ${label} ...\n`);
        const events = (w: number, i: number): EventToAppend[] =>
          Array.from({ length: batch }, (_, k) => ({
            type: 'RtVmLatencyReported',
            data: payload(w, i, k),
            messageId: randomUUID(),
          }));

        const variants: Record<string, (w: number, i: number, r: number) => Promise<void>> = {
          ceilingValues: async (w, i, r) => {
            const values: string[] = [];
            const params: unknown[] = [];
            events(w, i).forEach((e, k) => {
              const p = params.length;
              values.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`);
              params.push(`v${r}-w${w}-${i}`, k + 1, e.type, JSON.stringify(e.data), e.messageId);
            });
            await pool.query(
              `INSERT INTO bench_ceiling (stream_id, stream_position, event_type, data, message_id) VALUES ${values.join(',')}`,
              params,
            );
          },
          ceilingUnnest: async (w, i, r) => {
            const evs = events(w, i);
            await pool.query(
              `INSERT INTO bench_ceiling (stream_id, stream_position, event_type, data, message_id)
               SELECT $1, p, t, d, m FROM unnest($2::int[], $3::text[], $4::jsonb[], $5::text[]) AS x(p, t, d, m)`,
              [
                `u${r}-w${w}-${i}`,
                evs.map((_, k) => k + 1),
                evs.map((e) => e.type),
                evs.map((e) => JSON.stringify(e.data)),
                evs.map((e) => e.messageId),
              ],
            );
          },
        };
        // Each writer appends to its own streams with the exact expected version, as a command handler does.
        const versions = new Map<string, bigint>();
        for (const [name, store] of Object.entries(stores)) {
          variants[name] = async (w, i, r) => {
            const stream = `hypervisor-${name}${r}-w${w}-s${i % 50}`;
            const res = await store.append(stream, versions.get(stream) ?? 'no-stream', events(w, i));
            versions.set(stream, res.nextExpectedVersion);
          };
        }
        const ormVersions = new Map<string, bigint>();
        variants.typeorm = async (w, i, r) => {
          const stream = `hypervisor-orm${r}-w${w}-s${i % 50}`;
          ormVersions.set(
            stream,
            await orm.append(stream, ormVersions.get(stream) ?? 'no-stream', events(w, i)),
          );
        };
        // Interleaved rounds, so a noisy neighbour hurts every variant alike.
        const totals: Record<string, number> = {};
        for (let round = 0; round < rounds; round++) {
          for (const [name, op] of Object.entries(variants)) {
            const r = run++;
            totals[name] =
              (totals[name] ?? 0) + (await timed(writers, seconds / rounds, (w, i) => op(w, i, r)));
          }
        }
        const evs = (name: string) => (totals[name] / rounds) * batch;
        const ceiling = Math.max(evs('ceilingValues'), evs('ceilingUnnest'));
        const pct = (name: string) => `${((evs(name) / ceiling) * 100).toFixed(0)}%`;
        rows.push([
          label,
          fmt(evs('ceilingValues')),
          fmt(evs('ceilingUnnest')),
          fmt(evs('default')),
          pct('default'),
          pct('inTx'),
          pct('off'),
          pct('alone'),
          pct('typeorm'),
        ]);
        ratios.push({ label, ratio: evs('default') / ceiling });
      }
    }

    console.log(
      '\nEvent store appends, events/s. Ceiling: the same rows by a bare multi-row INSERT (VALUES, or unnest of',
    );
    console.log(
      'arrays; the faster one counts) into a table with the same columns and indexes, measured in this run.\n',
    );
    console.log(
      table(
        [
          'workload',
          'INSERT VALUES',
          'INSERT unnest',
          'append',
          'ratio',
          'ratio NOTIFY in tx',
          'ratio no NOTIFY',
          'ratio appends alone',
          'ratio TypeORM',
        ],
        rows,
      ),
    );
    console.log('\nappend as a share of the ceiling:');
    for (const r of ratios)
      console.log(`  ${r.label.padEnd(34)} ${bar(r.ratio)} ${(r.ratio * 100).toFixed(0)}%`);
    const batched = ratios.filter((r) => r.label.startsWith('100'));
    const ok = batched.every((r) => r.ratio >= 0.5);
    console.log(`\nTarget: batched appends >= 50% of the ceiling: ${ok ? 'MET' : 'NOT MET'}`);
    console.log(
      '"appends alone": without group commit (groupAppends: false), each append its own statement and commit.',
    );
    console.log(
      '"ratio TypeORM": the same append through TypeORM (transaction, version update, entity insert);',
    );
    console.log('it is why the append path uses pg directly.');
    await orm.close();
  } finally {
    await pool.end();
    await db.close();
  }
}
