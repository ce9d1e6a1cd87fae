import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The fleet inventory (projection `fleet-inventory`): devices and their RT VMs. Ids are `COLLATE "C"`
 * so that keyset pagination and id-prefix search use the primary key in byte order on any server
 * locale. No foreign keys: a VM row may arrive before its device's row (projections are rebuilt and
 * delivered per stream).
 */
export class FleetInventory1700000000200 implements MigrationInterface {
  name = 'FleetInventory1700000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE rm.inventory_devices (
      device_id text COLLATE "C" PRIMARY KEY,
      device_class text,
      site text,
      tags text[] NOT NULL DEFAULT '{}',
      provisioned_at timestamptz,
      board_name text,
      board_cpu_model text,
      pcpu_count integer,
      board_reported_at timestamptz,
      hypervisor_version text,
      hypervisor_scenario text,
      hypervisor_reported_at timestamptz,
      service_vm_os_image_version text,
      service_vm_kernel_version text,
      service_vm_booted_at timestamptz,
      service_vm_boots integer NOT NULL DEFAULT 0,
      service_vm_previous_os_image_version text,
      service_vm_os_image_changed_at timestamptz,
      service_vm_lifecycle text,
      service_vm_lifecycle_since timestamptz,
      device_model_health text,
      device_model_health_since timestamptz,
      device_model_detail text,
      connectivity text NOT NULL DEFAULT 'never-seen',
      connectivity_since timestamptz,
      went_online_at timestamptz,
      went_offline_at timestamptz,
      last_seen_at timestamptz,
      desired_plan_id text,
      desired_plan_revision integer,
      desired_plan_assigned_at timestamptz,
      desired_plan_warnings integer,
      reported_plan_id text,
      reported_plan_revision integer,
      reported_plan_at timestamptz,
      rt_vm_count integer NOT NULL DEFAULT 0,
      rt_vms_started integer NOT NULL DEFAULT 0,
      rt_vms_over_budget integer NOT NULL DEFAULT 0,
      rt_over_budget boolean NOT NULL DEFAULT false,
      rt_worst_case_us double precision,
      rt_latency_reported_at timestamptz,
      rt_budget_breaches integer NOT NULL DEFAULT 0,
      rt_triple_faults integer NOT NULL DEFAULT 0,
      hypervisor_stream_version bigint NOT NULL DEFAULT 0,
      service_vm_stream_version bigint NOT NULL DEFAULT 0,
      last_event_at timestamptz)`);
    // The list endpoint's filters; each index ends with the id so a filtered page is a range scan.
    await q.query(`CREATE INDEX inventory_devices_site_idx ON rm.inventory_devices (site, device_id)`);
    await q.query(
      `CREATE INDEX inventory_devices_hypervisor_idx ON rm.inventory_devices (hypervisor_version, device_id)`,
    );
    await q.query(
      `CREATE INDEX inventory_devices_service_vm_idx ON rm.inventory_devices (service_vm_os_image_version, device_id)`,
    );
    await q.query(`CREATE INDEX inventory_devices_tags_idx ON rm.inventory_devices USING gin (tags)`);
    await q.query(
      `CREATE INDEX inventory_devices_over_budget_idx ON rm.inventory_devices (device_id) WHERE rt_over_budget`,
    );

    await q.query(`CREATE TABLE rm.inventory_device_vms (
      device_id text COLLATE "C" NOT NULL,
      vm_name text COLLATE "C" NOT NULL,
      registered boolean NOT NULL DEFAULT false,
      load_order text,
      state text,
      pending_operation text,
      pending_since timestamptz,
      pinned_pcpus integer[] NOT NULL DEFAULT '{}',
      latency_budget_us double precision,
      last_worst_case_us double precision,
      last_latency_at timestamptz,
      budget_breaches integer NOT NULL DEFAULT 0,
      last_breach_at timestamptz,
      triple_faults integer NOT NULL DEFAULT 0,
      last_triple_fault_at timestamptz,
      registered_at timestamptz,
      deleted_at timestamptz,
      stream_version bigint NOT NULL DEFAULT 0,
      last_event_at timestamptz,
      PRIMARY KEY (device_id, vm_name))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.inventory_device_vms`);
    await q.query(`DROP TABLE rm.inventory_devices`);
  }
}
