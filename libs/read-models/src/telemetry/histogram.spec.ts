import {
  LATENCY_BUCKETS,
  LATENCY_BUCKET_EDGES_US,
  LATENCY_OVERFLOW_US,
  addObservation,
  addSourceHistogram,
  bucketIndex,
  emptyHistogram,
  fromStored,
  histogramTotal,
  mergeInto,
  quantile,
  toBuckets,
} from './histogram';

describe('latency histogram layout', () => {
  it('has 5 µs buckets up to 100 µs, coarser ones up to 2000 µs, then the overflow', () => {
    expect(LATENCY_BUCKET_EDGES_US.slice(0, 4)).toEqual([0, 5, 10, 15]);
    expect(LATENCY_BUCKET_EDGES_US.slice(19, 22)).toEqual([95, 100, 110]);
    expect(LATENCY_OVERFLOW_US).toBe(2000);
    expect(LATENCY_BUCKETS).toBe(LATENCY_BUCKET_EDGES_US.length - 1);
    for (let i = 1; i < LATENCY_BUCKET_EDGES_US.length; i++)
      expect(LATENCY_BUCKET_EDGES_US[i]).toBeGreaterThan(LATENCY_BUCKET_EDGES_US[i - 1]);
  });

  it.each([
    [0, 0],
    [4.99, 0],
    [5, 1],
    [49.9, 9],
    [50, 10],
    [99.99, 19],
    [100, 20],
    [1999.9, LATENCY_BUCKETS - 1],
    [2000, -1],
    [1e9, -1],
    [-3, 0],
  ])('bucketIndex(%p) = %p', (us, i) => {
    expect(bucketIndex(us)).toBe(i);
  });
});

describe('re-bucketing a health report histogram', () => {
  it('takes the protocol example (1 µs wide) exactly', () => {
    const h = emptyHistogram();
    addSourceHistogram(h, {
      bucketWidthUs: 1,
      counts: [0, 0, 812, 20514, 30110, 6903, 1402, 201, 41, 12, 4, 1],
      overflow: 0,
    });
    expect(h.counts.slice(0, 3)).toEqual([812 + 20514 + 30110, 6903 + 1402 + 201 + 41 + 12, 4 + 1]);
    expect(histogramTotal(h)).toBe(60000);
  });

  it('puts a source bucket straddling an edge into the highest bucket it touches (never optimistic)', () => {
    const h = emptyHistogram();
    addSourceHistogram(h, { bucketWidthUs: 10, counts: [5, 7], overflow: 0 });
    expect(h.counts[1]).toBe(5); // [0,10) → [5,10)
    expect(h.counts[3]).toBe(7); // [10,20) → [15,20)
    const wide = emptyHistogram();
    addSourceHistogram(wide, { bucketWidthUs: 300, counts: [1, 0, 0, 0, 0, 0, 2], overflow: 3 });
    expect(wide.counts[bucketIndex(299)]).toBe(1); // [0,300) → [250,300)
    expect(wide.overflow).toBe(2 + 3); // [1800,2100) reaches past 2000, plus the source overflow
  });

  it('a source bucket ending exactly on the last edge stays below the overflow', () => {
    const h = emptyHistogram();
    const counts = new Array(2000).fill(0);
    counts[1999] = 4;
    addSourceHistogram(h, { bucketWidthUs: 1, counts, overflow: 0 });
    expect(h.counts[LATENCY_BUCKETS - 1]).toBe(4);
    expect(h.overflow).toBe(0);
  });
});

describe('observations, merging and quantiles', () => {
  it('counts observations and merges element-wise', () => {
    const a = emptyHistogram();
    addObservation(a, 3);
    addObservation(a, 12, 2);
    addObservation(a, 5000);
    const b = emptyHistogram();
    addObservation(b, 3);
    mergeInto(a, b);
    expect(a.counts[0]).toBe(2);
    expect(a.counts[2]).toBe(2);
    expect(a.overflow).toBe(1);
    expect(histogramTotal(a)).toBe(5);
  });

  it('interpolates inside the bucket and clamps to the observed extremes', () => {
    const h = emptyHistogram();
    h.counts[0] = 90;
    h.counts[2] = 10; // [10,15)
    expect(quantile(h, 0.5)).toBeCloseTo((50 / 90) * 5);
    expect(quantile(h, 0.99)).toBeCloseTo(10 + (9 / 10) * 5);
    expect(quantile(h, 0.99, { max: 12 })).toBe(12);
    expect(quantile(h, 0.01, { min: 2 })).toBe(2);
    expect(quantile(emptyHistogram(), 0.99)).toBeNull();
  });

  it('a quantile in the overflow is the observed maximum, else the last edge', () => {
    const h = emptyHistogram();
    h.counts[0] = 1;
    h.overflow = 99;
    expect(quantile(h, 0.99, { max: 3456 })).toBe(3456);
    expect(quantile(h, 0.99)).toBe(2000);
  });

  it('reads stored rows (int8 as strings) and lists buckets with the overflow last', () => {
    const h = fromStored(['1', '2', ...new Array(LATENCY_BUCKETS - 2).fill('0')], '3');
    expect(histogramTotal(h)).toBe(6);
    const buckets = toBuckets(h);
    expect(buckets[0]).toEqual({ fromUs: 0, toUs: 5, count: 1 });
    expect(buckets[buckets.length - 1]).toEqual({ fromUs: 2000, toUs: null, count: 3 });
    expect(histogramTotal(fromStored(null, null))).toBe(0);
  });
});
