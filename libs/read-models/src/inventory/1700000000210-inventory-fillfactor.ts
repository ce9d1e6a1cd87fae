import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every batch rewrites the rows of the devices it touches. Half-empty pages let PostgreSQL keep the
 * new version on the same page (a HOT update: no index entries, and the old one is pruned without
 * VACUUM); full pages sent every update elsewhere, and a rebuild of a million events slowed as the
 * tables bloated (measured in docs/benchmarks.md, "Projections").
 */
export class InventoryFillfactor1700000000210 implements MigrationInterface {
  name = 'InventoryFillfactor1700000000210';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm.inventory_devices SET (fillfactor = 50)`);
    await q.query(`ALTER TABLE rm.inventory_device_vms SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm.inventory_devices RESET (fillfactor)`);
    await q.query(`ALTER TABLE rm.inventory_device_vms RESET (fillfactor)`);
  }
}
