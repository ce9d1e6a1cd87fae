/**
 * How fast `fleet-inventory` rebuilds: writes N realistic device events straight into a scratch
 * database's event store (a fleet set up, then mostly latency reports, with breaches, connectivity
 * flaps and state reports), then times `rebuildProjection` against a plain read of the same log.
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     node dist/libs/read-models/src/inventory/measure-rebuild.js [events=1000000] [batchSize=2000]
 *
 * KEEP_DATABASE=1 keeps the scratch database (its name is printed) for a closer look.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { sampleBoard } from '@hyperfleet/acrn';
import { EVENT_STORE_MIGRATIONS, LOG_START, readAllWith, runMigrations } from '@hyperfleet/event-store';
import { MESSAGING_MIGRATION_SET } from '@hyperfleet/messaging';
import { createReadModelDataSource, runReadModelMigrations } from '../framework/data-source';
import type { Projection } from '../framework/projection';
import { rebuildProjection } from '../framework/rebuild';
import { READ_MODEL_ENTITIES, READ_MODEL_MIGRATIONS } from '../registry';
import { fleetInventoryProjection } from './inventory.projection';

interface Ev {
  stream: string;
  type: string;
  data: Record<string, unknown>;
}

function* fleetEvents(total: number): Generator<Ev> {
  const devices = Math.max(1, Math.round(total / 200));
  const board = sampleBoard();
  const id = (i: number) => `veh-${String(i).padStart(6, '0')}`;
  let t = Date.UTC(2026, 0, 1);
  const at = () => new Date((t += 7)).toISOString();
  let n = 0;
  const emit = function* (e: Ev) {
    if (n++ < total) yield e;
  };
  for (let i = 0; i < devices && n < total; i++) {
    const deviceId = id(i);
    const hv = `hypervisor-${deviceId}`;
    const svm = `service-vm-${deviceId}`;
    yield* emit({
      stream: hv,
      type: 'DeviceProvisioned',
      data: {
        deviceId,
        deviceClass: 'vehicle',
        site: `site-${i % 50}`,
        tags: ['eu', `fleet=${i % 7}`],
        at: at(),
      },
    });
    yield* emit({ stream: hv, type: 'DeviceWentOnline', data: { deviceId, at: at() } });
    yield* emit({ stream: hv, type: 'BoardInventoryReported', data: { deviceId, board, at: at() } });
    yield* emit({
      stream: hv,
      type: 'HypervisorVersionReported',
      data: { deviceId, version: '3.3', scenario: 'hybrid_rt', previousVersion: null, at: at() },
    });
    yield* emit({
      stream: svm,
      type: 'ServiceVmBooted',
      data: { deviceId, osImageVersion: '2026.01.0', kernelVersion: '6.6', at: at() },
    });
    yield* emit({
      stream: svm,
      type: 'DeviceModelHealthChanged',
      data: { deviceId, health: 'healthy', previous: null, detail: '', at: at() },
    });
    for (const vmName of ['RT_CTRL', 'RT_SAFETY']) {
      yield* emit({
        stream: `rt-vm-${deviceId}.${vmName}`,
        type: 'RtVmRegistered',
        data: {
          deviceId,
          vmName,
          loadOrder: 'POST_LAUNCHED_VM',
          pinnedPcpus: vmName === 'RT_CTRL' ? [2, 3] : [4],
          latencyBudgetUs: 50,
          state: 'stopped',
          at: at(),
        },
      });
      yield* emit({
        stream: `rt-vm-${deviceId}.${vmName}`,
        type: 'RtVmStarted',
        data: { deviceId, vmName, at: at() },
      });
    }
  }
  // Steady state: rounds over the fleet, mostly latency reports.
  const online = new Array<boolean>(devices).fill(true);
  for (let round = 0; n < total; round++) {
    for (let i = 0; i < devices && n < total; i++) {
      const deviceId = id(i);
      const r = (round * 7919 + i * 104729) % 1000;
      for (const vmName of ['RT_CTRL', 'RT_SAFETY']) {
        const worstCaseUs = 20 + ((r + vmName.length * 13) % 40);
        const stream = `rt-vm-${deviceId}.${vmName}`;
        const when = at();
        yield* emit({
          stream,
          type: 'RtVmLatencyReported',
          data: { deviceId, vmName, worstCaseUs, budgetUs: 50, at: when },
        });
        if (worstCaseUs > 50) {
          yield* emit({
            stream,
            type: 'RtVmLatencyBudgetBreached',
            data: { deviceId, vmName, worstCaseUs, budgetUs: 50, excessUs: worstCaseUs - 50, at: when },
          });
        }
      }
      if (r < 20) {
        const type = online[i] ? 'DeviceWentOffline' : 'DeviceWentOnline';
        const when = at();
        yield* emit({
          stream: `hypervisor-${deviceId}`,
          type,
          data: online[i] ? { deviceId, at: when, lastSeenAt: when } : { deviceId, at: when },
        });
        online[i] = !online[i];
      } else if (r < 30) {
        yield* emit({
          stream: `rt-vm-${deviceId}.RT_CTRL`,
          type: 'RtVmStateReported',
          data: { deviceId, vmName: 'RT_CTRL', state: 'started', previousState: 'started', at: at() },
        });
      }
    }
  }
}

async function writeEvents(pool: Pool, total: number): Promise<number> {
  const positions = new Map<string, number>();
  let chunk: Ev[] = [];
  let written = 0;
  const flush = async () => {
    if (!chunk.length) return;
    const pos = chunk.map((e) => {
      const p = (positions.get(e.stream) ?? 0) + 1;
      positions.set(e.stream, p);
      return p;
    });
    await pool.query(
      `INSERT INTO hf.events (stream_id, stream_position, event_type, data, message_id)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[])`,
      [
        chunk.map((e) => e.stream),
        pos,
        chunk.map((e) => e.type),
        chunk.map((e) => JSON.stringify(e.data)),
        chunk.map((e, i) => `${e.stream}:${pos[i]}`),
      ],
    );
    written += chunk.length;
    chunk = [];
  };
  for (const e of fleetEvents(total)) {
    chunk.push(e);
    if (chunk.length === 5000) await flush();
  }
  await flush();
  return written;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  const batchSize = Number(process.argv[3] ?? 2000);
  const admin = process.env.DATABASE_URL;
  if (!admin)
    throw new Error('Set DATABASE_URL to a PostgreSQL server where a scratch database may be created');
  const name = `hf_inventory_rate_${randomBytes(3).toString('hex')}`;
  const adminClient = new Client({ connectionString: admin });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 4 });
  try {
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await runMigrations(pool, MESSAGING_MIGRATION_SET);
    const ds = createReadModelDataSource({
      url: url.toString(),
      entities: READ_MODEL_ENTITIES,
      migrations: READ_MODEL_MIGRATIONS,
    });
    await ds.initialize();
    await runReadModelMigrations(ds, pool);
    await ds.destroy();

    let started = Date.now();
    const written = await writeEvents(pool, total);
    await pool.query('VACUUM ANALYZE hf.events');
    console.log(`wrote ${written} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The ceiling: reading and decoding the log in the same batches, applying nothing.
    started = Date.now();
    let position = LOG_START;
    let read = 0;
    for (;;) {
      const b = await readAllWith(pool, { after: position, batchSize });
      position = b.position;
      read += b.events.length;
      if (!b.maybeMore) break;
    }
    const readSeconds = (Date.now() - started) / 1000;
    console.log(
      `read only:            ${read} events, ${readSeconds.toFixed(1)} s, ${Math.round(read / readSeconds)} events/s`,
    );

    // The framework's own cost (reading, dedupe positions, one transaction a batch): a projection
    // that handles the same events and writes nothing.
    const noop: Projection = {
      name: 'noop',
      tables: [],
      handles: fleetInventoryProjection.handles,
      apply: async () => {},
    };
    const floor = await rebuildProjection(pool, noop, { batchSize });
    console.log(
      `no-op projection:     ${floor.applied} events, ${floor.seconds.toFixed(1)} s, ${Math.round(floor.applied / floor.seconds)} events/s`,
    );

    const result = await rebuildProjection(pool, fleetInventoryProjection, { batchSize });
    const { rows } = await pool.query<{ d: string; v: string; over: string }>(
      `SELECT (SELECT count(*) FROM rm.inventory_devices) AS d, (SELECT count(*) FROM rm.inventory_device_vms) AS v,
              (SELECT count(*) FROM rm.inventory_devices WHERE rt_over_budget) AS over`,
    );
    console.log(
      `fleet-inventory rebuild (batch ${batchSize}): ${result.applied} events, ${result.seconds.toFixed(1)} s, ` +
        `${Math.round(result.applied / result.seconds)} events/s → ${rows[0].d} devices, ${rows[0].v} VMs, ${rows[0].over} over budget`,
    );
  } finally {
    await pool.end();
    if (process.env.KEEP_DATABASE) console.log(`kept database ${name}`);
    else await adminClient.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await adminClient.end();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
