import type { Sql } from '../framework/projection';
import { MINUTE_MS, floorMinute } from './rollup';

/**
 * The fleet latency SLO. A minute of an RT VM is **good** when its worst-case latency (the largest of
 * the telemetry samples' interval maxima and the health reports' cyclictest worst cases in that
 * minute) is at most the VM's latency budget at that minute (RtVmRegistered, then each
 * RtVmLatencyBudgetChanged), or `defaultBudgetUs` when no budget is known. Only minutes with latency
 * data count: a device that was offline is neither good nor bad (`coverage` says how much of the
 * window had data). The objective is met when good minutes / counted minutes ≥ `objective`.
 *
 * Error budget: `(1 − objective) × counted minutes` bad minutes may happen in the window. The burn
 * rate is the bad-minute ratio over the allowed one: 1 spends exactly the budget over the window,
 * above 1 runs out early; `remaining` is `1 − burnRate` (negative: overspent).
 */
export interface LatencySloDefinition {
  /** Fraction of counted minutes that must be good, 0 < objective < 1. */
  readonly objective: number;
  /** The budget of a VM whose budget is not known (µs). */
  readonly defaultBudgetUs: number;
  /** The windows the view offers, by name, in milliseconds. */
  readonly windows: Readonly<Record<string, number>>;
}

export const DEFAULT_LATENCY_SLO: LatencySloDefinition = Object.freeze({
  objective: 0.999,
  defaultBudgetUs: 50,
  windows: Object.freeze({ '1h': 3_600_000, '24h': 86_400_000 }),
});

export function describeLatencySlo(def: LatencySloDefinition): string {
  const pct = `${+(def.objective * 100).toFixed(4)}%`;
  return (
    `RT worst-case latency within the VM's latency budget (${def.defaultBudgetUs} µs when none is known) ` +
    `in at least ${pct} of the minutes with latency data, per RT VM, over ${Object.keys(def.windows).join(' and ')}`
  );
}

export interface ErrorBudget {
  readonly allowedBadMinutes: number;
  readonly badMinutes: number;
  /** 1 − burnRate: the share of the window's budget left (negative: overspent). */
  readonly remaining: number;
  readonly burnRate: number;
}

export function errorBudget(minutes: number, badMinutes: number, objective: number): ErrorBudget {
  const allowedRatio = 1 - objective;
  const burnRate = minutes > 0 ? badMinutes / minutes / allowedRatio : 0;
  return {
    allowedBadMinutes: round(minutes * allowedRatio, 6),
    badMinutes,
    remaining: round(1 - burnRate, 6),
    burnRate: round(burnRate, 6),
  };
}

/** Good minutes / counted minutes; null without data. */
export function compliance(minutes: number, badMinutes: number): number | null {
  return minutes > 0 ? (minutes - badMinutes) / minutes : null;
}

/** Whether the objective holds (null without data). Compared in minutes, free of rounding. */
export function meetsObjective(minutes: number, badMinutes: number, objective: number): boolean | null {
  if (minutes === 0) return null;
  return badMinutes <= minutes * (1 - objective) + 1e-9;
}

/** One RT VM over the window, as the query reads it. */
export interface VmSloInput {
  readonly deviceId: string;
  readonly vmName: string;
  readonly deviceClass: string | null;
  readonly site: string | null;
  /** Minutes with latency data. */
  readonly minutes: number;
  /** Of those, over the budget. */
  readonly badMinutes: number;
  readonly worstLatencyUs: number;
  /** The budget at the window's last counted minute. */
  readonly budgetUs: number;
  /** False: no budget was known, the default applied. */
  readonly budgetKnown: boolean;
}

export interface VmSlo extends VmSloInput {
  readonly compliance: number | null;
  readonly meetsObjective: boolean | null;
  /** Counted minutes / minutes in the window. */
  readonly coverage: number;
  /** Worst latency / budget: above 1, at least one bad minute. */
  readonly worstToBudget: number;
  readonly errorBudget: ErrorBudget;
}

export interface FleetSlo {
  readonly devices: number;
  readonly rtVms: number;
  readonly rtVmsMeetingObjective: number;
  readonly minutes: number;
  readonly badMinutes: number;
  readonly compliance: number | null;
  readonly meetsObjective: boolean | null;
  readonly errorBudget: ErrorBudget;
}

export interface LatencySloSummary {
  readonly fleet: FleetSlo;
  /** RT VMs with bad minutes, worst first: lowest compliance, then most bad minutes, then worst latency. */
  readonly worstOffenders: VmSlo[];
}

/** The SLO arithmetic over per-VM figures: fleet-wide compliance, burn and the worst offenders. */
export function summarizeLatencySlo(
  vms: readonly VmSloInput[],
  def: LatencySloDefinition,
  windowMs: number,
  limit = 10,
): LatencySloSummary {
  const windowMinutes = windowMs / MINUTE_MS;
  const all: VmSlo[] = vms.map((v) => ({
    ...v,
    compliance: roundN(compliance(v.minutes, v.badMinutes)),
    meetsObjective: meetsObjective(v.minutes, v.badMinutes, def.objective),
    coverage: round(Math.min(1, v.minutes / windowMinutes), 6),
    worstToBudget: round(v.worstLatencyUs / v.budgetUs, 6),
    errorBudget: errorBudget(v.minutes, v.badMinutes, def.objective),
  }));
  const minutes = sum(all.map((v) => v.minutes));
  const bad = sum(all.map((v) => v.badMinutes));
  const worstOffenders = all
    .filter((v) => v.badMinutes > 0)
    .sort(
      (a, b) =>
        (a.compliance ?? 1) - (b.compliance ?? 1) ||
        b.badMinutes - a.badMinutes ||
        b.worstLatencyUs - a.worstLatencyUs ||
        (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.vmName < b.vmName ? -1 : 1),
    )
    .slice(0, limit);
  return {
    fleet: {
      devices: new Set(all.map((v) => v.deviceId)).size,
      rtVms: all.length,
      rtVmsMeetingObjective: all.filter((v) => v.meetsObjective === true).length,
      minutes,
      badMinutes: bad,
      compliance: roundN(compliance(minutes, bad)),
      meetsObjective: meetsObjective(minutes, bad, def.objective),
      errorBudget: errorBudget(minutes, bad, def.objective),
    },
    worstOffenders,
  };
}

export interface LatencySloQuery {
  /** Window length (ms). */
  readonly windowMs: number;
  readonly deviceClass?: string;
  readonly site?: string;
  /** End of the window (exclusive); default: the start of the current minute (only whole minutes). */
  readonly now?: Date;
}

/**
 * Per RT VM over the window: counted and bad minutes, worst latency and budget, from the minute
 * rollups and the budgets in force at each minute (a minute before the first known budget takes the
 * first one: the VM had it from registration on, whatever the clock said).
 */
export async function queryVmSlo(
  sql: Sql,
  def: LatencySloDefinition,
  q: LatencySloQuery,
): Promise<{ from: Date; to: Date; vms: VmSloInput[] }> {
  const to = new Date(floorMinute((q.now ?? new Date()).getTime()));
  const from = new Date(to.getTime() - q.windowMs);
  const { rows } = await sql.query<{
    device_id: string;
    vm_name: string;
    device_class: string | null;
    site: string | null;
    minutes: string;
    bad_minutes: string;
    worst_us: number;
    budget_us: number | null;
  }>(
    `WITH b AS (
       SELECT device_id, vm_name, budget_us, valid_from,
              lead(valid_from) OVER w AS valid_to, row_number() OVER w AS rn
         FROM rm.telemetry_rt_budgets
       WINDOW w AS (PARTITION BY device_id, vm_name ORDER BY valid_from)
     ), v AS (
       SELECT r.device_id, r.vm_name, count(*) AS minutes,
              count(*) FILTER (WHERE r.lat_max > COALESCE(b.budget_us, $3::float8)) AS bad_minutes,
              max(r.lat_max) AS worst_us, max(r.minute) AS last_minute
         FROM rm.telemetry_minute r
         LEFT JOIN b ON b.device_id = r.device_id AND b.vm_name = r.vm_name
                    AND (r.minute >= b.valid_from OR b.rn = 1)
                    AND (b.valid_to IS NULL OR r.minute < b.valid_to)
        WHERE r.minute >= $1 AND r.minute < $2 AND r.lat_max IS NOT NULL
        GROUP BY r.device_id, r.vm_name
     )
     SELECT v.device_id, v.vm_name, l.device_class, l.site, v.minutes, v.bad_minutes, v.worst_us,
            (SELECT x.budget_us FROM rm.telemetry_rt_budgets x
              WHERE x.device_id = v.device_id AND x.vm_name = v.vm_name
              ORDER BY x.valid_from <= v.last_minute DESC,
                       CASE WHEN x.valid_from <= v.last_minute THEN x.valid_from END DESC, x.valid_from
              LIMIT 1) AS budget_us
       FROM v LEFT JOIN rm.telemetry_device_labels l ON l.device_id = v.device_id
      WHERE ($4::text IS NULL OR l.device_class = $4) AND ($5::text IS NULL OR l.site = $5)
      ORDER BY v.device_id, v.vm_name`,
    [from.toISOString(), to.toISOString(), def.defaultBudgetUs, q.deviceClass ?? null, q.site ?? null],
  );
  return {
    from,
    to,
    vms: rows.map((r) => ({
      deviceId: r.device_id,
      vmName: r.vm_name,
      deviceClass: r.device_class,
      site: r.site,
      minutes: Number(r.minutes),
      badMinutes: Number(r.bad_minutes),
      worstLatencyUs: Number(r.worst_us),
      budgetUs: r.budget_us ?? def.defaultBudgetUs,
      budgetKnown: r.budget_us !== null,
    })),
  };
}

export interface LatencySloReport extends LatencySloSummary {
  readonly slo: {
    readonly description: string;
    readonly objective: number;
    readonly defaultBudgetUs: number;
  };
  readonly window: string;
  readonly from: string;
  readonly to: string;
}

/** The fleet latency-SLO view: the query and the arithmetic. */
export async function latencySloReport(
  sql: Sql,
  def: LatencySloDefinition,
  q: LatencySloQuery & { window: string; limit?: number },
): Promise<LatencySloReport> {
  const { from, to, vms } = await queryVmSlo(sql, def, q);
  return {
    slo: {
      description: describeLatencySlo(def),
      objective: def.objective,
      defaultBudgetUs: def.defaultBudgetUs,
    },
    window: q.window,
    from: from.toISOString(),
    to: to.toISOString(),
    ...summarizeLatencySlo(vms, def, q.windowMs, q.limit),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const roundN = (x: number | null) => (x === null ? null : round(x, 6));
