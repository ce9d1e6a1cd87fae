/**
 * The projections benchmark's load generator (forked by lag.ts, dist only): continues the simulated
 * fleet of the rebuild's history (a FleetLog snapshot), appending one command at a time through
 * PostgresEventStore.append (one transaction per command, NOTIFY after commit, as the command side
 * does) at a steady rate of events per second. It runs in its own process, as the gateway and the
 * fleet API do, so the projector's event loop never delays the commit stamps: each appended event's
 * message id and the wall-clock time its append returned go to the parent over IPC.
 *
 *   parent → { type: 'run', rate } | { type: 'mark' } (the measured interval starts) | { type: 'stop' } | { type: 'exit' }
 *   child  → { type: 'ready' } | { type: 'stamps', ids, at } | { type: 'stopped', ... }
 */
import * as fs from 'node:fs';
import { Pool } from 'pg';
import { PostgresEventStore } from '@hyperfleet/event-store';
import { FleetLog, type Append } from './fleet-log';

const wall = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send?.(m);

export interface LoadStopped {
  type: 'stopped';
  seconds: number;
  events: number;
  appends: number;
  /** Events per second asked for vs appended. */
  rate: number;
  achieved: number;
  appendP50Ms: number;
  appendP99Ms: number;
  maxInFlight: number;
  errors: number;
}

async function main(): Promise<void> {
  const fleet = FleetLog.restore(JSON.parse(fs.readFileSync(process.env.BENCH_PROJ_FLEET!, 'utf8')));
  const pool = new Pool({ connectionString: process.env.BENCH_PROJ_DB!, max: 16 });
  pool.on('error', () => undefined);
  const store = new PostgresEventStore(pool);
  const steady = fleet.steady();
  let running = false;
  let mark = () => undefined as void;
  let stamps: { ids: string[]; at: number[] } = { ids: [], at: [] };
  const flush = () => {
    if (stamps.ids.length) send({ type: 'stamps', ...stamps });
    stamps = { ids: [], at: [] };
  };
  setInterval(flush, 100).unref();

  const run = async (rate: number) => {
    running = true;
    const t0 = performance.now();
    const tails = new Map<string, Promise<void>>();
    let issued = 0;
    let inFlight = 0;
    // What the parent asks about: the measured interval, from 'mark' to 'stop'.
    let markedAt = t0;
    let latencies: number[] = [];
    let events = 0;
    let appends = 0;
    let maxInFlight = 0;
    let errors = 0;
    mark = () => {
      markedAt = performance.now();
      latencies = [];
      events = appends = maxInFlight = errors = 0;
    };
    const issue = (a: Append) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Commands of one stream in order (each carries the exact expected version).
      const tail = (tails.get(a.stream) ?? Promise.resolve()).then(async () => {
        const s = performance.now();
        try {
          await store.append(a.stream, a.expected === 0 ? 'no-stream' : a.expected, a.events);
          const at = wall();
          latencies.push(performance.now() - s);
          for (const e of a.events) {
            stamps.ids.push(e.messageId!);
            stamps.at.push(at);
          }
          events += a.events.length;
          appends++;
        } catch (err) {
          errors++;
          if (errors <= 3) process.stderr.write(`append failed: ${(err as Error).message}\n`);
        } finally {
          inFlight--;
        }
      });
      tails.set(a.stream, tail);
      void tail.then(() => {
        if (tails.get(a.stream) === tail) tails.delete(a.stream);
      });
    };
    while (running) {
      const due = (rate * (performance.now() - t0)) / 1000 - issued;
      let budget = due;
      while (budget > 0 && inFlight < 256) {
        const a = steady.next().value as Append;
        issue(a);
        issued += a.events.length;
        budget -= a.events.length;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const seconds = (performance.now() - markedAt) / 1000;
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    flush();
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const stopped: LoadStopped = {
      type: 'stopped',
      seconds,
      events,
      appends,
      rate,
      achieved: events / seconds,
      appendP50Ms: q(0.5),
      appendP99Ms: q(0.99),
      maxInFlight,
      errors,
    };
    send(stopped);
  };

  process.on('message', (m: { type: string; rate?: number }) => {
    if (m.type === 'run') void run(m.rate!);
    else if (m.type === 'mark') mark();
    else if (m.type === 'stop') running = false;
    else if (m.type === 'exit') void pool.end().finally(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(1));
  send({ type: 'ready', devices: fleet.deviceCount });
}

main().catch((err) => {
  send({ type: 'failed', error: (err as Error).message });
  process.exit(1);
});
