import type { Command } from 'commander';
import { DeadLetters, PROJECTIONS, projectionNamed, rebuildProjection } from '@hyperfleet/read-models';
import { ProgressBar } from '../progress';
import { withDatabase } from './database';

/** `fleetctl projections …`: status, rebuild (shadow tables, swapped in live), parked events. */
export function registerProjectionsCommands(program: Command): void {
  const projections = program
    .command('projections')
    .description('read-model projections: status, rebuild, parked events');

  projections
    .command('list')
    .description('each projection with events applied, last event, parked events and last rebuild')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withDatabase(async (pool) => {
        const { rows } = await pool.query<{
          projection: string;
          events_applied: string;
          last_event_at: Date | null;
          rebuilt_at: Date | null;
        }>(`SELECT projection, events_applied, last_event_at, rebuilt_at FROM rm.projection_status`);
        const parked = await new DeadLetters(pool).counts();
        const out = PROJECTIONS.map((p) => {
          const r = rows.find((x) => x.projection === p.name);
          return {
            name: p.name,
            eventsApplied: Number(r?.events_applied ?? 0),
            lastEventAt: r?.last_event_at?.toISOString() ?? null,
            parked: parked[p.name] ?? 0,
            rebuiltAt: r?.rebuilt_at?.toISOString() ?? null,
          };
        });
        if (o.json) return void console.log(JSON.stringify(out, null, 2));
        console.log('projection              events   parked  last event                 rebuilt');
        for (const p of out) {
          console.log(
            `${p.name.padEnd(22)} ${String(p.eventsApplied).padStart(8)} ${String(p.parked).padStart(8)}  ${(p.lastEventAt ?? '-').padEnd(25)}  ${p.rebuiltAt ?? '-'}`,
          );
        }
      }),
    );

  projections
    .command('rebuild <name>')
    .description('rebuild from position 0 into shadow tables, then swap them in while live traffic continues')
    .action((name: string) =>
      withDatabase(async (pool) => {
        const projection = projectionNamed(name);
        const bar = new ProgressBar(`rebuilding ${name}`);
        const result = await rebuildProjection(pool, projection, {
          onProgress: (p) =>
            bar.update(
              p.read,
              Math.max(p.total, p.read),
              `${Math.round(p.eventsPerSecond).toLocaleString('en-US')} events/s`,
            ),
        });
        bar.done(
          `${name}: rebuilt from ${result.read.toLocaleString('en-US')} events in ${result.seconds.toFixed(1)} s ` +
            `(${Math.round(result.read / Math.max(result.seconds, 1e-6)).toLocaleString('en-US')} events/s) and swapped in`,
        );
      }),
    );

  projections
    .command('parked [name]')
    .description('events a projection parked after failing on them, with the error')
    .action((name?: string) =>
      withDatabase(async (pool) => {
        if (name) projectionNamed(name);
        const parked = await new DeadLetters(pool).list(name);
        if (parked.length === 0) return void console.log('no parked events');
        for (const p of parked) {
          console.log(
            `${p.projection}  ${p.event.type} ${p.event.streamId}@${p.event.streamPosition}  attempts ${p.attempts}  ${p.parkedAt.toISOString()}\n    ${p.error}`,
          );
        }
      }),
    );

  projections
    .command('retry-parked <name>')
    .description("apply a projection's parked events again; those that succeed leave the list")
    .action((name: string) =>
      withDatabase(async (pool) => {
        const r = await new DeadLetters(pool).retry(projectionNamed(name));
        console.log(`${name}: retried ${r.retried}, ${r.succeeded} succeeded, ${r.failed} still parked`);
        if (r.failed > 0) process.exitCode = 1;
      }),
    );
}
