import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { ApiError } from '../http/api-error';
import { scopeCondition } from '../fleet/device-filter';
import type { Actor } from './auth.types';

/**
 * Outside its credential's scope a device does not exist: every device-addressed route asks here first.
 * The device's site and class come from the fleet inventory read model.
 */
@Injectable()
export class DeviceScope {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Throws 404 DEVICE_NOT_FOUND when the device is outside the actor's scope. Unscoped: no query. */
  async assertVisible(actor: Actor, deviceId: string): Promise<void> {
    if (!actor.scope.sites && !actor.scope.deviceClasses) return;
    const params: unknown[] = [deviceId];
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM rm.inventory_devices d WHERE d.device_id = $1 AND ${scopeCondition(actor.scope, params)}`,
      params,
    );
    if (!rowCount) throw deviceNotFound(deviceId);
  }
}

export function deviceNotFound(deviceId: string): ApiError {
  return new ApiError(404, 'DEVICE_NOT_FOUND', `Device ${deviceId} does not exist`, { deviceId });
}
