import { eventStoreBench } from './event-store.bench';

const benches: Record<string, (seconds: number) => Promise<void>> = {
  'event-store': eventStoreBench,
  ingest: (seconds) => import('./ingest.bench').then((m) => m.ingestBench(seconds)),
  projections: (seconds) => import('./projections.bench').then((m) => m.projectionsBench(seconds)),
  releases: () => import('./releases').then((m) => m.releasesBench()),
  commands: (seconds) => import('./commands').then((m) => m.commandsBench(seconds)),
  'kafka-outage': (seconds) => import('./kafka-outage.bench').then((m) => m.kafkaOutageBench(seconds)),
};

async function main() {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const chosen = names.length ? names : Object.keys(benches);
  for (const n of chosen) {
    const b = benches[n];
    if (!b) {
      console.error(`Unknown benchmark ${JSON.stringify(n)}. Known: ${Object.keys(benches).join(', ')}`);
      process.exit(2);
    }
    console.log(`\n== ${n} (${seconds} s per measurement; BENCH_SECONDS to change) ==`);
    await b(seconds);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
