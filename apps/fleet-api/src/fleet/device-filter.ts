/**
 * A device filter in a request body (bulk commands, plan assignment, later rollouts): which provisioned
 * devices it matches, within the caller's scope. Matches are taken from the fleet inventory read model.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '@hyperfleet/contracts';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import type { CredentialScope } from '../auth/auth.types';

/** The largest fleet one bulk request may address. */
export const MAX_FILTER_MATCHES = 100_000;

export const deviceFilterSchema = z
  .object({
    deviceIds: z
      .array(z.string().regex(DEVICE_ID_PATTERN, 'must be a device id'))
      .min(1)
      .max(10_000)
      .optional(),
    class: z.enum(DEVICE_CLASSES).optional(),
    site: z.string().trim().min(1).max(200).optional(),
    tags: z.array(z.string().trim().min(1).max(64)).min(1).max(20).optional(),
    attributes: z.record(z.string().min(1).max(64), z.string().max(256)).optional(),
    boardName: z.string().min(1).max(200).optional(),
    hypervisorVersion: z.string().min(1).max(100).optional(),
    serviceVmVersion: z.string().min(1).max(100).optional(),
    planId: z.string().min(1).max(100).optional(),
    online: z.boolean().optional(),
  })
  .strict()
  .refine((f) => Object.keys(f).length > 0, {
    message: 'an empty filter would match the whole fleet; say so with at least one field (e.g. "class")',
  });
export type DeviceFilter = z.infer<typeof deviceFilterSchema>;

/**
 * A SQL condition on `rm.inventory_devices` (alias `d`) for a scope, its parameters appended to `params`.
 * `TRUE` for an unscoped credential.
 */
export function scopeCondition(scope: CredentialScope, params: unknown[], alias = 'd'): string {
  const parts: string[] = [];
  if (scope.sites) {
    params.push(scope.sites);
    parts.push(`${alias}.site = ANY($${params.length}::text[])`);
  }
  if (scope.deviceClasses) {
    params.push(scope.deviceClasses);
    parts.push(`${alias}.device_class = ANY($${params.length}::text[])`);
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

@Injectable()
export class DeviceFilterResolver {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Device ids (sorted) of the provisioned devices that match the filter and lie in the scope. */
  async resolve(filter: DeviceFilter, scope: CredentialScope): Promise<string[]> {
    const params: unknown[] = [];
    const where = ['d.provisioned_at IS NOT NULL', scopeCondition(scope, params)];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.deviceIds) add((p) => `d.device_id = ANY(${p}::text[])`, filter.deviceIds);
    if (filter.class) add((p) => `d.device_class = ${p}`, filter.class);
    if (filter.site) add((p) => `d.site = ${p}`, filter.site);
    if (filter.tags) add((p) => `d.tags @> ${p}::text[]`, filter.tags);
    if (filter.attributes) add((p) => `d.attributes @> ${p}::jsonb`, JSON.stringify(filter.attributes));
    if (filter.boardName) add((p) => `d.board_name = ${p}`, filter.boardName);
    if (filter.hypervisorVersion) add((p) => `d.hypervisor_version = ${p}`, filter.hypervisorVersion);
    if (filter.serviceVmVersion) add((p) => `d.service_vm_os_image_version = ${p}`, filter.serviceVmVersion);
    if (filter.planId) add((p) => `d.desired_plan_id = ${p}`, filter.planId);
    if (filter.online !== undefined) where.push(`d.connectivity ${filter.online ? '=' : '<>'} 'online'`);
    params.push(MAX_FILTER_MATCHES + 1);
    const { rows } = await this.pool.query<{ device_id: string }>(
      `SELECT d.device_id FROM rm.inventory_devices d WHERE ${where.join(' AND ')}
        ORDER BY d.device_id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => r.device_id);
  }
}
