import { FleetStats, LatencyHistogram } from './stats';

describe('LatencyHistogram', () => {
  it('gives quantiles within 1 %', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 10); // 0.1 … 1000 ms
    expect(h.count).toBe(10_000);
    expect(h.quantile(0.5)!).toBeCloseTo(500, -1);
    expect(Math.abs(h.quantile(0.5)! - 500) / 500).toBeLessThan(0.011);
    expect(Math.abs(h.quantile(0.99)! - 990) / 990).toBeLessThan(0.011);
    expect(h.quantile(1)).toBe(1000);
    expect(h.mean()).toBeCloseTo(500.05, 5);
  });

  it('is empty until something is recorded, and merges', () => {
    const a = new LatencyHistogram();
    expect(a.quantile(0.5)).toBeUndefined();
    const b = new LatencyHistogram();
    a.record(1);
    b.record(100);
    a.merge(b);
    expect(a.count).toBe(2);
    expect(a.maxMs).toBe(100);
    expect(a.quantile(0.5)!).toBeLessThan(1.02);
    a.reset();
    expect(a.count).toBe(0);
  });
});

describe('FleetStats', () => {
  it('counts replies by status and code, and snapshots', () => {
    let t = 0;
    const s = new FleetStats(() => t);
    s.recordSent('birth');
    s.recordSent('health');
    s.recordSent('health', true);
    s.recordReply('accepted', { latencyMs: 5 });
    s.recordReply('accepted', { duplicate: true, code: 'DUPLICATE_MESSAGE', latencyMs: 7 });
    s.recordReply('rejected', { code: 'OUT_OF_ORDER', latencyMs: 9 });
    s.recordConnectError('ECONNREFUSED');
    t = 2000;
    const snap = s.snapshot();
    expect(snap).toMatchObject({
      elapsedMs: 2000,
      sent: 3,
      republished: 1,
      sentByKind: { birth: 1, health: 2 },
      replies: 3,
      accepted: 2,
      duplicates: 1,
      rejected: 1,
      rejectedByCode: { OUT_OF_ORDER: 1 },
      connectErrorsByReason: { ECONNREFUSED: 1 },
    });
    expect(snap.replyLatency.count).toBe(3);
    expect(snap.replyLatency.p50Ms!).toBeCloseTo(7, 0);
    // A snapshot is a copy.
    s.recordReply('rejected', { code: 'OUT_OF_ORDER' });
    expect(snap.rejectedByCode.OUT_OF_ORDER).toBe(1);
  });
});
