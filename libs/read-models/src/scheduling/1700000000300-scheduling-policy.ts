import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The scheduling-policy read model (projection `scheduling-policy`). No foreign keys: rebuilds swap tables. */
export class SchedulingPolicy1700000000300 implements MigrationInterface {
  name = 'SchedulingPolicy1700000000300';

  async up(q: QueryRunner): Promise<void> {
    // Plan revisions as the plan streams record them: assignments name a revision, the content is here.
    await q.query(`CREATE TABLE rm.sched_plan_revisions (
      plan_id text NOT NULL,
      revision integer NOT NULL,
      device_class text,
      plan jsonb NOT NULL,
      recorded_at timestamptz NOT NULL,
      PRIMARY KEY (plan_id, revision))`);
    await q.query(`CREATE TABLE rm.sched_devices (
      device_id text PRIMARY KEY,
      device_class text,
      site text,
      tags text[] NOT NULL DEFAULT '{}',
      board jsonb,
      board_name text,
      board_reported_at timestamptz,
      assigned_plan_id text,
      assigned_revision integer,
      assigned_at timestamptz,
      assigned_warnings jsonb NOT NULL DEFAULT '[]',
      reported_plan_id text,
      reported_revision integer,
      reported_at timestamptz,
      plan_status text NOT NULL DEFAULT 'unassigned',
      assigned_plan_known boolean NOT NULL DEFAULT false,
      reported_plan_known boolean NOT NULL DEFAULT false,
      assigned_clos_needed integer,
      reported_clos_needed integer,
      clos_available integer,
      violations jsonb NOT NULL DEFAULT '[]',
      error_count integer NOT NULL DEFAULT 0,
      warning_count integer NOT NULL DEFAULT 0,
      drift boolean NOT NULL DEFAULT false,
      drift_reasons text[] NOT NULL DEFAULT '{}',
      rt_pinning jsonb NOT NULL DEFAULT '[]',
      pinning_mismatch boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL)`);
    await q.query(
      `CREATE INDEX sched_devices_drift_idx ON rm.sched_devices (device_class, site, device_id) WHERE drift`,
    );
    await q.query(
      `CREATE INDEX sched_devices_assigned_idx ON rm.sched_devices (assigned_plan_id, assigned_revision)`,
    );
    await q.query(
      `CREATE INDEX sched_devices_reported_idx ON rm.sched_devices (reported_plan_id, reported_revision)`,
    );
    // Per pCPU of a device, for the assigned and for the reported plan: the VMs running on it.
    await q.query(`CREATE TABLE rm.sched_pcpus (
      device_id text NOT NULL,
      source text NOT NULL,
      pcpu_id integer NOT NULL,
      on_board boolean NOT NULL,
      core_id integer,
      vm_names text[] NOT NULL,
      owners jsonb NOT NULL,
      shared boolean NOT NULL,
      PRIMARY KEY (device_id, source, pcpu_id))`);
    // Per VM of the assigned and the reported plan: effective pCPUs and the CLOS of each vCPU.
    await q.query(`CREATE TABLE rm.sched_vms (
      device_id text NOT NULL,
      source text NOT NULL,
      vm_name text NOT NULL,
      vm_id integer NOT NULL,
      load_order text NOT NULL,
      vm_type text NOT NULL,
      lapic_passthrough boolean NOT NULL,
      implicit_affinity boolean NOT NULL,
      pcpus integer[] NOT NULL,
      vcpus jsonb NOT NULL,
      PRIMARY KEY (device_id, source, vm_name))`);
    // What the RTVMs of a device registered with (RtVmRegistered.pinnedPcpus).
    await q.query(`CREATE TABLE rm.sched_rtvm_pinning (
      device_id text NOT NULL,
      vm_name text NOT NULL,
      load_order text NOT NULL,
      pinned_pcpus integer[] NOT NULL,
      registered_at timestamptz NOT NULL,
      PRIMARY KEY (device_id, vm_name))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.sched_rtvm_pinning`);
    await q.query(`DROP TABLE rm.sched_vms`);
    await q.query(`DROP TABLE rm.sched_pcpus`);
    await q.query(`DROP TABLE rm.sched_devices`);
    await q.query(`DROP TABLE rm.sched_plan_revisions`);
  }
}
