import { Client } from 'pg';
import { loadConfig, startInfrastructure, type RuntimeInfrastructure } from '@hyperfleet/platform';

/** A fresh database for one benchmark run, on DATABASE_URL or on embedded PostgreSQL. */
export async function benchDatabase(name: string): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig();
  const infra: RuntimeInfrastructure = await startInfrastructure(config, {
    needsMqtt: false,
    embeddedPostgres: 'share',
  });
  const admin = new URL(infra.databaseUrl);
  const dbName = `hf_bench_${name.replace(/\W/g, '_')}_${Date.now().toString(36)}`;
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`CREATE DATABASE "${dbName}"`);
  await c.end();
  const url = new URL(admin.toString());
  url.pathname = `/${dbName}`;
  return {
    url: url.toString(),
    async close() {
      const d = new Client({ connectionString: admin.toString() });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await d.end();
      await infra.stop();
    },
  };
}

export function bar(ratio: number, width = 30): string {
  const n = Math.max(0, Math.min(width, Math.round(ratio * width)));
  return '█'.repeat(n) + '░'.repeat(width - n);
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

/** Runs `op` from `writers` concurrent loops for `seconds`, returning operations per second. */
export async function timed(
  writers: number,
  seconds: number,
  op: (writer: number, i: number) => Promise<void>,
): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let count = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await op(w, i);
        count++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return count / elapsed;
}
