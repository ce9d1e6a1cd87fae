import { SEQ_WINDOW, SeqWindow } from './seq-window';

describe('SeqWindow: dedupe by (epoch, seq)', () => {
  it('admits each seq once, including a telemetry batch that arrives below the high-water mark', () => {
    const w = new SeqWindow();
    expect(w.admit(4, 10)).toBe('fresh'); // telemetry
    expect(w.admit(4, 12)).toBe('fresh'); // health
    expect(w.admit(4, 11)).toBe('fresh'); // telemetry re-published after a lost reply: late, not a copy
    expect(w.admit(4, 11)).toBe('duplicate');
    expect(w.admit(4, 12)).toBe('duplicate');
    expect(w.admit(4, 10)).toBe('duplicate');
    expect(w.admit(4, 9)).toBe('fresh'); // never seen (gaps are normal: other kinds use seqs too)
  });

  it('an older epoch is a redelivery; a newer one starts over', () => {
    const w = new SeqWindow();
    w.admit(4, 100);
    expect(w.admit(3, 500)).toBe('duplicate');
    expect(w.admit(5, 1)).toBe('fresh');
    expect(w.admit(5, 1)).toBe('duplicate');
    expect(w.admit(4, 100)).toBe('duplicate');
    expect(w.epoch).toBe(5);
    expect(w.hwm).toBe(1);
  });

  it('refuses what is further below the high-water mark than the window as stale', () => {
    const w = new SeqWindow();
    w.admit(1, 0);
    w.admit(1, SEQ_WINDOW + 10);
    expect(w.admit(1, 5)).toBe('stale');
    expect(w.admit(1, 11)).toBe('fresh');
  });

  it('survives a round trip through its stored bits', () => {
    const w = new SeqWindow();
    for (const s of [1, 3, 7, 300, 299, 1000]) w.admit(2, s);
    const back = new SeqWindow(w.epoch, w.hwm, Buffer.from(w.bits));
    for (const s of [1, 3, 7, 300, 299, 1000]) expect(back.admit(2, s)).toBe('duplicate');
    expect(back.admit(2, 2)).toBe('fresh');
  });

  it('agrees with a plain set over a long shuffled run (shifts of every size)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const w = new SeqWindow();
    const seen = new Set<number>();
    const recent: number[] = [];
    let hwm = -1;
    let seq = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly forward with gaps of 1–20 (sometimes far), sometimes back a little, sometimes a repeat.
      const r = rand();
      const s =
        r < 0.6
          ? (seq += 1 + Math.floor(rand() * (rand() < 0.01 ? 5000 : 20)))
          : r < 0.8
            ? Math.max(0, seq - Math.floor(rand() * 200))
            : (recent[Math.floor(rand() * recent.length)] ?? seq);
      const expected =
        s > hwm ? 'fresh' : hwm - s >= SEQ_WINDOW ? 'stale' : seen.has(s) ? 'duplicate' : 'fresh';
      expect(w.admit(1, s)).toBe(expected);
      if (expected === 'fresh') {
        seen.add(s);
        recent.push(s);
        if (recent.length > 50) recent.shift();
      }
      hwm = Math.max(hwm, s);
    }
  });
});
