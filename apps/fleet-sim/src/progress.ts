import type { LatencySummary, StatsSnapshot } from './stats';

/**
 * The live progress line and the end-of-run summary. Works from StatsSnapshot only, so the ingest
 * benchmark can drive it with its own FleetStats.
 *
 * On a TTY the line is redrawn in place (`\r` + erase line) a few times a second; elsewhere (CI logs, a
 * pipe) a full line is printed every few seconds.
 */

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return int.format(n);
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

function byCode(map: Record<string, number>, limit = 3): string {
  const entries = Object.entries(map).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, limit).map(([code, n]) => `${code}:${formatCount(n)}`);
  if (entries.length > limit) shown.push(`+${entries.length - limit} more`);
  return shown.join(' ');
}

/**
 * One status line. With the previous snapshot, rates are over the interval between the two; without,
 * over the whole run.
 */
export function formatProgressLine(now: StatsSnapshot, previous?: StatsSnapshot): string {
  const dt = (now.elapsedMs - (previous?.elapsedMs ?? 0)) / 1000;
  const rate = dt > 0 ? (now.sent - (previous?.sent ?? 0)) / dt : 0;
  const parts = [
    formatElapsed(now.elapsedMs),
    `online ${formatCount(now.devicesOnline)}/${formatCount(now.devicesTotal)}` +
      (now.devicesConnected > now.devicesOnline
        ? ` (+${formatCount(now.devicesConnected - now.devicesOnline)} awaiting birth reply)`
        : ''),
    `sent ${formatCount(now.sent)} (${formatCount(rate)}/s)`,
    `ok ${formatCount(now.accepted)}`,
    `rej ${formatCount(now.rejected)}${now.rejected > 0 ? ` [${byCode(now.rejectedByCode)}]` : ''}`,
    `pending ${formatCount(now.pending)}`,
    `p50 ${formatMs(now.replyLatency.p50Ms)} p99 ${formatMs(now.replyLatency.p99Ms)}`,
    `reconnects ${formatCount(now.reconnects)}`,
  ];
  if (now.timedOut > 0) parts.push(`timeouts ${formatCount(now.timedOut)}`);
  if (now.connectErrors > 0) parts.push(`connect errors ${formatCount(now.connectErrors)}`);
  return parts.join(' | ');
}

function latencyRows(l: LatencySummary): [string, string][] {
  return [
    ['reply latency p50', formatMs(l.p50Ms)],
    ['reply latency p90', formatMs(l.p90Ms)],
    ['reply latency p99', formatMs(l.p99Ms)],
    ['reply latency p99.9', formatMs(l.p999Ms)],
    ['reply latency max', formatMs(l.maxMs)],
  ];
}

/** A two-column table of everything counted. */
export function formatSummary(s: StatsSnapshot): string {
  const secs = s.elapsedMs / 1000;
  const rows: [string, string][] = [
    ['duration', formatElapsed(s.elapsedMs)],
    ['devices', `${formatCount(s.devicesTotal)} (online at the end: ${formatCount(s.devicesOnline)})`],
    ['connects', `${formatCount(s.connects)} (reconnects ${formatCount(s.reconnects)})`],
    ['abrupt disconnects (will)', formatCount(s.abruptDisconnects)],
    ['connections lost', formatCount(s.connectionLosses)],
    ['connect errors', formatCount(s.connectErrors)],
    ...Object.entries(s.connectErrorsByReason).map(([r, n]): [string, string] => [`  ${r}`, formatCount(n)]),
    ['births accepted', formatCount(s.birthsAccepted)],
    ['messages sent', `${formatCount(s.sent)} (${formatCount(secs > 0 ? s.sent / secs : 0)}/s)`],
    ...Object.entries(s.sentByKind)
      .sort()
      .map(([k, n]): [string, string] => [`  ${k}`, formatCount(n)]),
    ['re-published (reply timeout)', formatCount(s.republished)],
    ['replies', formatCount(s.replies)],
    ['accepted', `${formatCount(s.accepted)} (duplicates ${formatCount(s.duplicates)})`],
    ['rejected', formatCount(s.rejected)],
    ...Object.entries(s.rejectedByCode)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]): [string, string] => [`  ${c}`, formatCount(n)]),
    ['retried (retryable code)', formatCount(s.retried)],
    ['no reply (gave up)', formatCount(s.timedOut)],
    ['unmatched replies', formatCount(s.unmatchedReplies)],
    ['pending at the end', formatCount(s.pending)],
    ...latencyRows(s.replyLatency),
    ['commands received', formatCount(s.commandsReceived)],
    ['VM state changes', formatCount(s.vmStateChanges)],
    ['triple faults', formatCount(s.tripleFaults)],
    [
      'updates',
      `${formatCount(s.updatesStarted)} started, ${formatCount(s.updatesActivated)} activated, ${formatCount(s.updatesFailed)} failed`,
    ],
    ['reboots', formatCount(s.reboots)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, val]) => val.length));
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(v + 2)}+`;
  return [line, ...rows.map(([k, val]) => `| ${k.padEnd(w)} | ${val.padEnd(v)} |`), line].join('\n');
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Defaults to the stream's isTTY. */
  tty?: boolean;
  /** Redraw period: 500 ms on a TTY, 5 s otherwise. */
  intervalMs?: number;
  /** Text before the line, e.g. `fleet-sim`. */
  label?: string;
}

/** Prints the progress line periodically until stopped. */
export class ProgressDisplay {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly label: string;
  private timer: NodeJS.Timeout | undefined;
  private previous: StatsSnapshot | undefined;
  private drawn = false;

  constructor(
    private readonly source: () => StatsSnapshot,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.intervalMs = options.intervalMs ?? (this.tty ? 500 : 5000);
    this.label = options.label ?? '';
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  /** Draws once now. */
  draw(): void {
    const now = this.source();
    // Rates over the last few seconds, not since the start.
    const line = (this.label ? `${this.label} ` : '') + formatProgressLine(now, this.previous);
    this.previous = now;
    if (this.tty) {
      const cols = this.stream.columns ?? 0;
      const fitted = cols > 1 && line.length >= cols ? `${line.slice(0, cols - 2)}…` : line;
      this.stream.write(`\r\x1b[2K${fitted}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Stops redrawing; on a TTY ends the line so that what follows starts on a fresh one. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
