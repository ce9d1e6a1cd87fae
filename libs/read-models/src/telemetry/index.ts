import { TelemetryRollups1700000000500 } from './1700000000500-telemetry-rollups';
import { TelemetryRtBudgets1700000000510 } from './1700000000510-telemetry-rt-budgets';

export * from './histogram';
export * from './seq-window';
export * from './rollup';
export * from './telemetry-rollups';
export * from './telemetry.entities';
export * from './rt-budgets.projection';
export * from './queries';
export * from './slo';
export * from './render-histogram';
export { TelemetryRollups1700000000500, TelemetryRtBudgets1700000000510 };

/** The telemetry read models' migrations, in timestamp order. */
export const TELEMETRY_MIGRATIONS = [TelemetryRollups1700000000500, TelemetryRtBudgets1700000000510];
