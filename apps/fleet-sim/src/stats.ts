/**
 * Counters of a simulated fleet (or of anything else that sends device messages and waits for replies:
 * the ingest benchmark reuses them). Cheap to update from thousands of devices; `snapshot()` gives a
 * plain object for progress lines, summaries and JSON reports.
 */

/** Log-bucketed histogram of durations (ms): 1 % precision from 1 µs to ~20 min, constant memory. */
export class LatencyHistogram {
  private static readonly RATIO = 1.01;
  private static readonly MIN_MS = 0.001;
  private static readonly LOG_RATIO = Math.log(LatencyHistogram.RATIO);
  private readonly buckets: Uint32Array;
  count = 0;
  sumMs = 0;
  minMs = Number.POSITIVE_INFINITY;
  maxMs = 0;

  constructor(maxMs = 20 * 60_000) {
    const n = Math.ceil(Math.log(maxMs / LatencyHistogram.MIN_MS) / LatencyHistogram.LOG_RATIO) + 2;
    this.buckets = new Uint32Array(n);
  }

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const i =
      v <= LatencyHistogram.MIN_MS
        ? 0
        : Math.min(
            this.buckets.length - 1,
            1 + Math.floor(Math.log(v / LatencyHistogram.MIN_MS) / LatencyHistogram.LOG_RATIO),
          );
    this.buckets[i]++;
    this.count++;
    this.sumMs += v;
    if (v < this.minMs) this.minMs = v;
    if (v > this.maxMs) this.maxMs = v;
  }

  /** The value at quantile q (0–1), within 1 %; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) {
        if (i === 0) return Math.min(LatencyHistogram.MIN_MS, this.maxMs);
        // The bucket's upper bound, clamped to what was seen.
        const upper = LatencyHistogram.MIN_MS * LatencyHistogram.RATIO ** i;
        return Math.min(Math.max(upper, this.minMs), this.maxMs);
      }
    }
    return this.maxMs;
  }

  mean(): number | undefined {
    return this.count === 0 ? undefined : this.sumMs / this.count;
  }

  merge(other: LatencyHistogram): void {
    if (other.buckets.length !== this.buckets.length) throw new Error('histograms of different ranges');
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i] += other.buckets[i];
    this.count += other.count;
    this.sumMs += other.sumMs;
    this.minMs = Math.min(this.minMs, other.minMs);
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.minMs = Number.POSITIVE_INFINITY;
    this.maxMs = 0;
  }
}

export interface LatencySummary {
  count: number;
  p50Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  maxMs?: number;
  meanMs?: number;
}

export function summarize(h: LatencyHistogram): LatencySummary {
  if (h.count === 0) return { count: 0 };
  return {
    count: h.count,
    p50Ms: h.quantile(0.5),
    p90Ms: h.quantile(0.9),
    p99Ms: h.quantile(0.99),
    p999Ms: h.quantile(0.999),
    maxMs: h.maxMs,
    meanMs: h.mean(),
  };
}

export interface StatsSnapshot {
  /** ms since the counters started. */
  elapsedMs: number;
  devicesTotal: number;
  /** Devices whose birth was accepted and that have not gone offline since. */
  devicesOnline: number;
  /** Devices with an open MQTT connection (online or waiting for the birth's reply). */
  devicesConnected: number;
  /** Every PUBLISH of a device message, re-publications included. */
  sent: number;
  sentByKind: Record<string, number>;
  /** Re-publications of the same msgId after a reply timeout. */
  republished: number;
  /** Replies that matched a message in flight. */
  replies: number;
  accepted: number;
  /** Accepted replies flagged duplicate (DUPLICATE_MESSAGE). */
  duplicates: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Replies that matched nothing in flight (late, from an earlier connection, or inReplyTo null). */
  unmatchedReplies: number;
  /** Messages waiting for their reply right now. */
  pending: number;
  /** Messages that got no reply after the re-publication: given up. */
  timedOut: number;
  /** New messages sent again for a retryable rejection. */
  retried: number;
  connects: number;
  reconnects: number;
  /** Connections dropped on purpose without DISCONNECT (the broker publishes the will). */
  abruptDisconnects: number;
  connectionLosses: number;
  connectErrors: number;
  connectErrorsByReason: Record<string, number>;
  birthsAccepted: number;
  commandsReceived: number;
  updatesStarted: number;
  updatesActivated: number;
  updatesFailed: number;
  tripleFaults: number;
  vmStateChanges: number;
  reboots: number;
  replyLatency: LatencySummary;
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

export class FleetStats {
  private readonly startedAt: number;
  private readonly now: () => number;
  readonly replyLatency = new LatencyHistogram();
  devicesTotal = 0;
  devicesOnline = 0;
  devicesConnected = 0;
  sent = 0;
  readonly sentByKind: Record<string, number> = {};
  republished = 0;
  replies = 0;
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  readonly rejectedByCode: Record<string, number> = {};
  unmatchedReplies = 0;
  pending = 0;
  timedOut = 0;
  retried = 0;
  connects = 0;
  reconnects = 0;
  abruptDisconnects = 0;
  connectionLosses = 0;
  connectErrors = 0;
  readonly connectErrorsByReason: Record<string, number> = {};
  birthsAccepted = 0;
  commandsReceived = 0;
  updatesStarted = 0;
  updatesActivated = 0;
  updatesFailed = 0;
  tripleFaults = 0;
  vmStateChanges = 0;
  reboots = 0;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
    this.startedAt = now();
  }

  recordSent(kind: string, republish = false): void {
    this.sent++;
    bump(this.sentByKind, kind);
    if (republish) this.republished++;
  }

  recordReply(
    status: 'accepted' | 'rejected',
    options: { code?: string; duplicate?: boolean; latencyMs?: number },
  ): void {
    this.replies++;
    if (status === 'accepted') {
      this.accepted++;
      if (options.duplicate) this.duplicates++;
    } else {
      this.rejected++;
      bump(this.rejectedByCode, options.code ?? 'UNKNOWN');
    }
    if (options.latencyMs !== undefined) this.replyLatency.record(options.latencyMs);
  }

  recordConnectError(reason: string): void {
    this.connectErrors++;
    bump(this.connectErrorsByReason, reason);
  }

  snapshot(): StatsSnapshot {
    return {
      elapsedMs: this.now() - this.startedAt,
      devicesTotal: this.devicesTotal,
      devicesOnline: this.devicesOnline,
      devicesConnected: this.devicesConnected,
      sent: this.sent,
      sentByKind: { ...this.sentByKind },
      republished: this.republished,
      replies: this.replies,
      accepted: this.accepted,
      duplicates: this.duplicates,
      rejected: this.rejected,
      rejectedByCode: { ...this.rejectedByCode },
      unmatchedReplies: this.unmatchedReplies,
      pending: this.pending,
      timedOut: this.timedOut,
      retried: this.retried,
      connects: this.connects,
      reconnects: this.reconnects,
      abruptDisconnects: this.abruptDisconnects,
      connectionLosses: this.connectionLosses,
      connectErrors: this.connectErrors,
      connectErrorsByReason: { ...this.connectErrorsByReason },
      birthsAccepted: this.birthsAccepted,
      commandsReceived: this.commandsReceived,
      updatesStarted: this.updatesStarted,
      updatesActivated: this.updatesActivated,
      updatesFailed: this.updatesFailed,
      tripleFaults: this.tripleFaults,
      vmStateChanges: this.vmStateChanges,
      reboots: this.reboots,
      replyLatency: summarize(this.replyLatency),
    };
  }
}
