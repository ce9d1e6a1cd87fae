import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Free-form inventory attributes of a device (DeviceAttributesChanged), as one jsonb object. The GIN
 * index (jsonb_path_ops: containment only, smaller) serves the `attributes @> {...}` filters of the
 * device list and of bulk commands by filter.
 */
export class InventoryAttributes1700000000220 implements MigrationInterface {
  name = 'InventoryAttributes1700000000220';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm.inventory_devices ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'`);
    await q.query(
      `CREATE INDEX inventory_devices_attributes_idx ON rm.inventory_devices USING gin (attributes jsonb_path_ops)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX rm.inventory_devices_attributes_idx`);
    await q.query(`ALTER TABLE rm.inventory_devices DROP COLUMN attributes`);
  }
}
