import { hashString, mixSeed, mulberry32, nextEventDelayMs, Rng } from './prng';

describe('prng', () => {
  it('mulberry32 repeats for a seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('mixes seeds and strings into distinct 32-bit numbers', () => {
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(new Set(Array.from({ length: 1000 }, (_, i) => mixSeed(7, i))).size).toBe(1000);
    expect(hashString('abc')).toBe(hashString('abc'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
  });

  it('draws within bounds', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(4, 16);
      expect(Number.isInteger(n) && n >= 4 && n <= 16).toBe(true);
      const r = rng.range(2, 3);
      expect(r >= 2 && r < 3).toBe(true);
    }
    expect(rng.sample([1, 2, 3, 4], 3)).toHaveLength(3);
    expect(new Set(rng.sample([1, 2, 3, 4], 4)).size).toBe(4);
    expect(rng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rng.chance(0)).toBe(false);
  });

  it('picks by weight', () => {
    const rng = new Rng(9);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 10_000; i++)
      counts[
        rng.weighted([
          ['a', 0.9],
          ['b', 0.1],
        ] as const)
      ]++;
    expect(counts.a / 10_000).toBeGreaterThan(0.85);
    expect(counts.a / 10_000).toBeLessThan(0.95);
  });

  it('spaces Poisson events so that p per period comes true on average', () => {
    const rng = new Rng(11);
    expect(nextEventDelayMs(rng, 0, 60_000)).toBeUndefined();
    // p = 0.5 per minute: the chance of at least one event within a minute is 0.5.
    let within = 0;
    for (let i = 0; i < 20_000; i++) if (nextEventDelayMs(rng, 0.5, 60_000)! <= 60_000) within++;
    expect(within / 20_000).toBeGreaterThan(0.47);
    expect(within / 20_000).toBeLessThan(0.53);
  });
});
