import { formatMs, formatProgressLine, formatSummary, ProgressDisplay } from './progress';
import { FleetStats } from './stats';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: Object.assign(
      {
        write: (chunk: string) => {
          chunks.push(chunk);
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      { isTTY, columns: 400 },
    ),
  };
}

function stats(): FleetStats {
  let t = 0;
  const s = new FleetStats(() => (t += 1000));
  s.devicesTotal = 100;
  s.devicesOnline = 97;
  for (let i = 0; i < 50; i++) s.recordSent('telemetry');
  for (let i = 0; i < 45; i++) s.recordReply('accepted', { latencyMs: 2 + i / 10 });
  s.recordReply('rejected', { code: 'RATE_LIMITED', latencyMs: 3 });
  s.recordReply('rejected', { code: 'OUT_OF_ORDER', latencyMs: 3 });
  s.pending = 3;
  s.reconnects = 4;
  return s;
}

describe('progress', () => {
  it('reads as one line: online, sent and rate, accepted, rejected by code, pending, p50/p99, reconnects', () => {
    const line = formatProgressLine(stats().snapshot());
    expect(line).toMatch(/^00:00:0\d \| online 97\/100 \| sent 50 \(\d+\/s\) \| ok 45 \| rej 2 \[/);
    expect(line).toContain('RATE_LIMITED:1');
    expect(line).toContain('OUT_OF_ORDER:1');
    expect(line).toContain('pending 3');
    expect(line).toMatch(/p50 \d\.\d\dms p99 \d\.\d\dms/);
    expect(line).toContain('reconnects 4');
    expect(line).not.toContain('\n');
  });

  it('formats durations for people', () => {
    expect(formatMs(undefined)).toBe('-');
    expect(formatMs(0.25)).toBe('250µs');
    expect(formatMs(3.14159)).toBe('3.14ms');
    expect(formatMs(43.21)).toBe('43.2ms');
    expect(formatMs(1500)).toBe('1.50s');
  });

  it('summarises everything in a table', () => {
    const table = formatSummary(stats().snapshot());
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\+-+\+-+\+$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(table).toMatch(/\|\s+RATE_LIMITED\s+\|\s+1\s+\|/);
    expect(table).toMatch(/\| reply latency p99\s+\|/);
  });

  it('redraws in place on a TTY and ends the line when stopped', () => {
    const out = sink(true);
    const s = stats();
    const d = new ProgressDisplay(() => s.snapshot(), { stream: out.stream, label: 'fleet-sim' });
    d.draw();
    d.draw();
    d.stop();
    expect(out.chunks[0].startsWith('\r\x1b[2Kfleet-sim ')).toBe(true);
    expect(out.chunks[1].startsWith('\r\x1b[2K')).toBe(true);
    expect(out.chunks[2]).toBe('\n');
  });

  it('prints whole lines elsewhere', () => {
    const out = sink(false);
    const s = stats();
    const d = new ProgressDisplay(() => s.snapshot(), { stream: out.stream });
    d.draw();
    d.stop();
    expect(out.chunks).toHaveLength(1);
    expect(out.chunks[0].endsWith('\n')).toBe(true);
    expect(out.chunks[0]).not.toContain('\r');
  });
});
