import type { Command } from 'commander';
import { renderHistogram, type LatencyHistogramReport } from '@hyperfleet/read-models';
import { callApi, defaultApiUrl } from './devices';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `7d` → milliseconds; anything else is an error naming the option. */
export function parseDuration(value: string, option = '--since'): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new Error(`${option} must be a duration like 15m, 1h, 24h or 7d (got ${JSON.stringify(value)})`);
  }
  return Number(m[1]) * UNITS[m[2]];
}

type HistogramAnswer = LatencyHistogramReport & {
  deviceId: string;
  vm: string | null;
  from: string;
  to: string;
};

const us = (v: number | null) => (v === null ? '-' : `${+v.toFixed(1)} µs`);

/** The headline above the chart. */
export function histogramHeadline(h: HistogramAnswer): string {
  const what = h.vm ? `${h.vm} on ${h.deviceId}` : `${h.deviceId} (all VMs)`;
  const l = h.latencyUs;
  return (
    `${what}, ${h.from} – ${h.to}: ${h.total.toLocaleString('en-US')} latency observations in ${h.minutes} minutes\n` +
    `min ${us(l.min)}   p50 ${us(l.p50)}   p99 ${us(l.p99)}   p99.9 ${us(l.p999)}   max ${us(l.max)}`
  );
}

/** `fleetctl telemetry …`: pictures of the telemetry rollups, from the fleet API. */
export function registerTelemetryCommands(program: Command): void {
  const telemetry = program.command('telemetry').description('telemetry rollups: latency histograms');

  telemetry
    .command('histogram')
    .description("draw a device's RT latency histogram (from GET /api/v1/telemetry/latency-histogram)")
    .requiredOption('--device <deviceId>', 'device id')
    .option('--vm <name>', 'VM name, e.g. RT_VM0 (default: all VMs of the device)')
    .option('--since <duration>', 'how far back: 15m, 1h, 24h, 7d (at most 31d)', '1h')
    .option('--budget <us>', 'draw a line at this latency (µs), e.g. the VM budget')
    .option('--log', 'bar lengths on a logarithmic scale (tails stay visible)')
    .option('--width <columns>', 'columns of the longest bar', '40')
    .option('--api <url>', 'fleet API base URL (default: FLEET_API_URL or http://127.0.0.1:$HTTP_PORT)')
    .option('--api-key <key>', 'credential (default: HF_API_KEY or the config file)')
    .option('--json', 'print the API response as JSON')
    .action(
      async (o: {
        device: string;
        vm?: string;
        since: string;
        budget?: string;
        log?: boolean;
        width: string;
        api?: string;
        apiKey?: string;
        json?: boolean;
      }) => {
        const to = new Date();
        const from = new Date(to.getTime() - parseDuration(o.since));
        const params = new URLSearchParams({
          deviceId: o.device,
          from: from.toISOString(),
          to: to.toISOString(),
        });
        if (o.vm) params.set('vm', o.vm);
        const h = await callApi<HistogramAnswer>(
          o.api ?? defaultApiUrl(),
          'GET',
          `api/v1/telemetry/latency-histogram?${params.toString()}`,
          undefined,
          o.apiKey ? { apiKey: o.apiKey } : {},
        );
        if (o.json) return void console.log(JSON.stringify(h, null, 2));
        const budget = o.budget === undefined ? undefined : Number(o.budget);
        if (budget !== undefined && !(budget > 0))
          throw new Error(`--budget must be a positive number of µs`);
        console.log(histogramHeadline(h));
        console.log('');
        console.log(
          renderHistogram(h.buckets, {
            width: Math.max(10, Number(o.width) || 40),
            scale: o.log ? 'log' : 'linear',
            ...(budget !== undefined ? { markUs: budget, markLabel: `budget ${budget} µs` } : {}),
          }),
        );
      },
    );
}
