import { Module } from '@nestjs/common';
import { DEFAULT_LATENCY_SLO, ReadModelsModule } from '@hyperfleet/read-models';
import { SloController } from './slo.controller';
import { TelemetryController } from './telemetry.controller';
import { LATENCY_SLO, TelemetryQueryService } from './telemetry-query.service';

/**
 * /api/v1/telemetry/rollups, /api/v1/telemetry/latency-histogram and /api/v1/slo/latency, over the
 * telemetry read models (ReadModelsModule: its DataSource, migrated at startup). The SLO definition
 * is the LATENCY_SLO provider; per request, `objective` and `defaultBudgetUs` override it.
 */
@Module({
  imports: [ReadModelsModule],
  controllers: [TelemetryController, SloController],
  providers: [TelemetryQueryService, { provide: LATENCY_SLO, useValue: DEFAULT_LATENCY_SLO }],
  exports: [TelemetryQueryService],
})
export class TelemetryApiModule {}
