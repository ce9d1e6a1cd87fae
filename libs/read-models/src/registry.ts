import { FRAMEWORK_ENTITIES } from './framework/entities';
import { ProjectionFramework1700000000000 } from './framework/migrations/1700000000000-projection-framework';
import type { Projection } from './framework/projection';
import type { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, runMigrations } from '@hyperfleet/event-store';
import { MESSAGING_MIGRATION_SET } from '@hyperfleet/messaging';
import { createReadModelDataSource, runReadModelMigrations } from './framework/data-source';
import type { EventTransport } from '@hyperfleet/messaging';
import { OtaStatus1700000000310 } from './ota/1700000000310-ota-status';
import { OTA_ENTITIES } from './ota/ota.entities';
import { otaStatusProjection } from './ota/ota-status.projection';
import { OtaProgressRunner } from './ota/progress-runner';
import { SchedulingPolicy1700000000300 } from './scheduling/1700000000300-scheduling-policy';
import { SCHEDULING_ENTITIES } from './scheduling/scheduling.entities';
import { schedulingPolicyProjection } from './scheduling/scheduling.projection';
import { FleetInventory1700000000200 } from './inventory/1700000000200-fleet-inventory';
import { InventoryFillfactor1700000000210 } from './inventory/1700000000210-inventory-fillfactor';
import { InventoryAttributes1700000000220 } from './inventory/1700000000220-inventory-attributes';
import { InventoryVmType1700000000230 } from './inventory/1700000000230-inventory-vm-type';
import { INVENTORY_ENTITIES } from './inventory/inventory.entities';
import { fleetInventoryProjection } from './inventory/inventory.projection';
import { DeviceTimeline1700000000100 } from './timeline/1700000000100-device-timeline';
import { DeviceTimelineRow } from './timeline/timeline.entity';
import { deviceTimelineProjection } from './timeline/timeline.projection';
import {
  TELEMETRY_ENTITIES,
  TELEMETRY_MIGRATIONS,
  TelemetryRollupRunner,
  telemetryRtBudgetsProjection,
} from './telemetry';

/** Every projection the projector runs; `fleetctl projections` takes these names. */
export const PROJECTIONS: readonly Projection[] = [
  deviceTimelineProjection,
  fleetInventoryProjection,
  schedulingPolicyProjection,
  otaStatusProjection,
  telemetryRtBudgetsProjection,
];

export const READ_MODEL_ENTITIES = [
  ...FRAMEWORK_ENTITIES,
  DeviceTimelineRow,
  ...INVENTORY_ENTITIES,
  ...SCHEDULING_ENTITIES,
  ...OTA_ENTITIES,
  ...TELEMETRY_ENTITIES,
];

/** TypeORM migrations, in timestamp order. */
export const READ_MODEL_MIGRATIONS = [
  ProjectionFramework1700000000000,
  DeviceTimeline1700000000100,
  FleetInventory1700000000200,
  InventoryFillfactor1700000000210,
  InventoryAttributes1700000000220,
  InventoryVmType1700000000230,
  SchedulingPolicy1700000000300,
  OtaStatus1700000000310,
  ...TELEMETRY_MIGRATIONS,
];

export function projectionNamed(name: string): Projection {
  const p = PROJECTIONS.find((x) => x.name === name);
  if (!p)
    throw new Error(
      `No projection named ${JSON.stringify(name)}; known: ${PROJECTIONS.map((x) => x.name).join(', ')}`,
    );
  return p;
}

/** A consumer of another channel than device-events (telemetry), started and stopped by the projector. */
export interface ChannelRunner {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  waitUntilCaughtUp(timeoutMs?: number): Promise<void>;
}

export interface ChannelRunnerDeps {
  readonly pool: Pool;
  readonly transport: EventTransport;
  readonly log?: (line: string) => void;
}

/** Every channel runner the projector starts beside the projections. */
export const CHANNEL_RUNNERS: readonly ((deps: ChannelRunnerDeps) => ChannelRunner)[] = [
  (deps) => new OtaProgressRunner(deps),
  (deps) => new TelemetryRollupRunner(deps),
];

/**
 * Every schema a database of projections needs, in order: the event store's, the PostgreSQL-log
 * transport's, then the read models'. Safe to run twice.
 */
export async function migrateProjectionDatabase(pool: Pool, url: string): Promise<void> {
  await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
  await runMigrations(pool, MESSAGING_MIGRATION_SET);
  const ds = createReadModelDataSource({
    url,
    entities: READ_MODEL_ENTITIES,
    migrations: READ_MODEL_MIGRATIONS,
  });
  await ds.initialize();
  try {
    await runReadModelMigrations(ds, pool);
  } finally {
    await ds.destroy();
  }
}
