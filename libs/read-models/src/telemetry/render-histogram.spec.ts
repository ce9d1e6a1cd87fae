import { emptyHistogram, toBuckets } from './histogram';
import { renderHistogram } from './render-histogram';

const buckets = (fill: Record<number, number>, overflow = 0) => {
  const h = emptyHistogram();
  for (const [i, c] of Object.entries(fill)) h.counts[Number(i)] = c;
  h.overflow = overflow;
  return toBuckets(h);
};

describe('renderHistogram: a latency histogram as a text bar chart', () => {
  it('draws the buckets from the first to the last non-empty one, with counts and shares', () => {
    expect(renderHistogram(buckets({ 0: 800, 1: 150, 3: 50, 12: 1 }), { width: 8 })).toBe(
      [
        '  0–5 µs │████████  800  79.9%',
        ' 5–10 µs │█▌        150  15.0%',
        '10–15 µs │            0',
        '15–20 µs │▌          50  5.0%',
        '20–60 µs │            0',
        '60–65 µs │▏           1  <0.1%',
      ].join('\n'),
    );
  });

  it('marks a budget between the buckets, splitting an empty run', () => {
    const out = renderHistogram(buckets({ 0: 800, 1: 150, 3: 50, 12: 1 }), {
      width: 8,
      markUs: 50,
      markLabel: 'budget 50 µs',
    });
    expect(out.split('\n').slice(4, 7)).toEqual([
      '20–50 µs │            0',
      '╌╌╌╌╌╌╌╌╌┼╌ budget 50 µs',
      '50–60 µs │            0',
    ]);
  });

  it('stretches to show a mark beyond the data, and shows the overflow', () => {
    expect(renderHistogram(buckets({ 0: 3 }), { width: 4, markUs: 20 }).split('\n')).toEqual([
      '  0–5 µs │████  3  100.0%',
      ' 5–20 µs │      0',
      '╌╌╌╌╌╌╌╌╌┼╌ 20 µs',
      '20–25 µs │      0',
    ]);
    expect(renderHistogram(buckets({ 0: 5 }, 2), { width: 10 }).split('\n')).toEqual([
      '   0–5 µs │██████████  5  71.4%',
      '5–2000 µs │            0',
      ' ≥2000 µs │████        2  28.6%',
    ]);
  });

  it('on a log scale the tail stays visible; any count above 0 gets at least a sliver', () => {
    const linear = renderHistogram(buckets({ 0: 1_000_000, 1: 10 }), { width: 20 }).split('\n')[1];
    const log = renderHistogram(buckets({ 0: 1_000_000, 1: 10 }), { width: 20, scale: 'log' }).split('\n')[1];
    expect(linear).toContain('│▏ ');
    expect(log).toContain('│███▌ '); // log1p(10) / log1p(1e6) of 20 columns
  });

  it('says so when there is nothing to draw', () => {
    expect(renderHistogram(buckets({}))).toBe('(no latency observations)');
  });
});
