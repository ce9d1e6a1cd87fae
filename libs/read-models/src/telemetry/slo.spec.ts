import {
  DEFAULT_LATENCY_SLO,
  compliance,
  describeLatencySlo,
  errorBudget,
  meetsObjective,
  summarizeLatencySlo,
  type VmSloInput,
} from './slo';

const vm = (
  deviceId: string,
  vmName: string,
  minutes: number,
  badMinutes: number,
  worst = 40,
): VmSloInput => ({
  deviceId,
  vmName,
  deviceClass: 'vehicle',
  site: 'depot-1',
  minutes,
  badMinutes,
  worstLatencyUs: worst,
  budgetUs: 50,
  budgetKnown: true,
});

describe('latency SLO arithmetic', () => {
  it('the default: 99.9% of minutes within budget (50 µs without one), over 1 h and 24 h', () => {
    expect(DEFAULT_LATENCY_SLO).toMatchObject({ objective: 0.999, defaultBudgetUs: 50 });
    expect(DEFAULT_LATENCY_SLO.windows).toEqual({ '1h': 3_600_000, '24h': 86_400_000 });
    expect(describeLatencySlo(DEFAULT_LATENCY_SLO)).toMatch(/99\.9% of the minutes .* over 1h and 24h/);
  });

  it('error budget and burn rate over a 24 h window', () => {
    // 1440 minutes allow 1.44 bad ones: one bad minute spends 69% of the budget.
    expect(errorBudget(1440, 1, 0.999)).toEqual({
      allowedBadMinutes: 1.44,
      badMinutes: 1,
      remaining: 0.305556,
      burnRate: 0.694444,
    });
    // Three bad minutes overspend: burn rate above 1, remaining negative.
    expect(errorBudget(1440, 3, 0.999)).toMatchObject({ burnRate: 2.083333, remaining: -1.083333 });
    expect(errorBudget(0, 0, 0.999)).toEqual({
      allowedBadMinutes: 0,
      badMinutes: 0,
      remaining: 1,
      burnRate: 0,
    });
  });

  it('compliance and the objective, compared in minutes (no rounding surprises)', () => {
    expect(compliance(1000, 1)).toBe(0.999);
    expect(meetsObjective(1000, 1, 0.999)).toBe(true);
    expect(meetsObjective(1000, 2, 0.999)).toBe(false);
    expect(meetsObjective(60, 1, 0.999)).toBe(false); // over one hour, any bad minute misses 99.9%
    expect(meetsObjective(0, 0, 0.999)).toBeNull();
    expect(compliance(0, 0)).toBeNull();
  });

  it('fleet-wide figures weigh every counted minute; offenders are the VMs with bad minutes, worst first', () => {
    const s = summarizeLatencySlo(
      [
        vm('a', 'RT_VM0', 60, 0),
        vm('a', 'RT_VM1', 60, 3, 90),
        vm('b', 'RT_VM0', 30, 3, 70), // lower compliance than a/RT_VM1 despite equal bad minutes
        vm('c', 'RT_VM0', 60, 1, 55),
      ],
      DEFAULT_LATENCY_SLO,
      3_600_000,
    );
    expect(s.fleet).toMatchObject({
      devices: 3,
      rtVms: 4,
      rtVmsMeetingObjective: 1,
      minutes: 210,
      badMinutes: 7,
      compliance: 0.966667,
      meetsObjective: false,
    });
    expect(s.fleet.errorBudget.burnRate).toBeCloseTo(7 / 210 / 0.001, 4);
    expect(s.worstOffenders.map((o) => `${o.deviceId}/${o.vmName}`)).toEqual([
      'b/RT_VM0',
      'a/RT_VM1',
      'c/RT_VM0',
    ]);
    expect(s.worstOffenders[0]).toMatchObject({ compliance: 0.9, coverage: 0.5, worstToBudget: 1.4 });
    expect(summarizeLatencySlo([], DEFAULT_LATENCY_SLO, 3_600_000, 2).fleet).toMatchObject({
      compliance: null,
      meetsObjective: null,
      rtVms: 0,
    });
  });

  it('lists at most `limit` offenders', () => {
    const many = Array.from({ length: 30 }, (_, i) => vm(`d${i}`, 'RT_VM0', 60, 1 + (i % 5)));
    expect(summarizeLatencySlo(many, DEFAULT_LATENCY_SLO, 3_600_000, 5).worstOffenders).toHaveLength(5);
  });
});
