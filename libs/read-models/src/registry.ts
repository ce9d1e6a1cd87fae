import { FRAMEWORK_ENTITIES } from './framework/entities';
import { ProjectionFramework1700000000000 } from './framework/migrations/1700000000000-projection-framework';
import type { Projection } from './framework/projection';
import { DeviceTimeline1700000000100 } from './timeline/1700000000100-device-timeline';
import { DeviceTimelineRow } from './timeline/timeline.entity';
import { deviceTimelineProjection } from './timeline/timeline.projection';

/** Every projection the projector runs; `fleetctl projections` takes these names. */
export const PROJECTIONS: readonly Projection[] = [deviceTimelineProjection];

export const READ_MODEL_ENTITIES = [...FRAMEWORK_ENTITIES, DeviceTimelineRow];

/** TypeORM migrations, in timestamp order. */
export const READ_MODEL_MIGRATIONS = [ProjectionFramework1700000000000, DeviceTimeline1700000000100];

export function projectionNamed(name: string): Projection {
  const p = PROJECTIONS.find((x) => x.name === name);
  if (!p)
    throw new Error(
      `No projection named ${JSON.stringify(name)}; known: ${PROJECTIONS.map((x) => x.name).join(', ')}`,
    );
  return p;
}
