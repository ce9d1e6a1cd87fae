import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  READ_MODELS,
  latencySloReport,
  queryLatencyHistogram,
  queryRollups,
  type LatencySloDefinition,
  type LatencySloReport,
  type Sql,
} from '@hyperfleet/read-models';
import type { HistogramQuery, RollupsQuery, SloQuery } from './telemetry.schemas';

/** The SLO definition the view uses (DEFAULT_LATENCY_SLO unless an app provides another). */
export const LATENCY_SLO = Symbol('LatencySloDefinition');

/** Reads the telemetry rollups and the SLO view from the read models. */
@Injectable()
export class TelemetryQueryService {
  private readonly sql: Sql;

  constructor(
    @Inject(READ_MODELS) ds: DataSource,
    @Inject(LATENCY_SLO) private readonly slo: LatencySloDefinition,
  ) {
    this.sql = {
      query: async <R>(text: string, params?: unknown[]) => {
        const rows = (await ds.query(text, params)) as R[];
        return { rows, rowCount: rows.length };
      },
    };
  }

  async rollups(q: RollupsQuery) {
    const series = await queryRollups(this.sql, q);
    return {
      deviceId: q.deviceId,
      vm: q.vmName ?? null,
      bucket: q.bucket,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      series,
    };
  }

  async histogram(q: HistogramQuery) {
    const h = await queryLatencyHistogram(this.sql, q);
    return {
      deviceId: q.deviceId,
      vm: q.vmName ?? null,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      ...h,
    };
  }

  latency(q: SloQuery): Promise<LatencySloReport> {
    const def: LatencySloDefinition = {
      ...this.slo,
      objective: q.objective ?? this.slo.objective,
      defaultBudgetUs: q.defaultBudgetUs ?? this.slo.defaultBudgetUs,
    };
    const window = q.window ?? Object.keys(def.windows)[0];
    return latencySloReport(this.sql, def, {
      window,
      windowMs: def.windows[window],
      deviceClass: q.class,
      site: q.site,
      limit: q.limit ?? 10,
    });
  }
}
