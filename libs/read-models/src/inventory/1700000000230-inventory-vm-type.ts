import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ACRN's vm_type of each VM row: RT VMs (stream rt-vm-…) and, since the Vm aggregate, every other VM
 * the birth announces (stream vm-…: STANDARD_VM, TEE_VM, REE_VM, the Service VM with load order
 * SERVICE_VM). Rows written before are all RT VMs.
 */
export class InventoryVmType1700000000230 implements MigrationInterface {
  name = 'InventoryVmType1700000000230';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm.inventory_device_vms ADD COLUMN vm_type text`);
    await q.query(`UPDATE rm.inventory_device_vms SET vm_type = 'RTVM'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm.inventory_device_vms DROP COLUMN vm_type`);
  }
}
