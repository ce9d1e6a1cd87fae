import type { Board } from '../board/board';
import type { PartitionPlan } from '../scenario/plan';
import { buildChecks } from './checks/build-checks';
import { cpuAssignmentChecks } from './checks/cpu-assignment';
import {
  ivshmemChecks,
  passthroughChecks,
  vbdfChecks,
  virtioChecks,
  vmMemoryChecks,
  vuartChecks,
} from './checks/devices';
import { rdtSupportChecks } from './checks/rdt-support';
import { scenarioChecks, schemaChecks } from './checks/schema';
import { vmTypeChecks } from './checks/vm-types';
import { CheckContext, type Check } from './context';
import { RULE_GROUPS } from './rules';
import type { ValidationReport, Violation } from './violation';

const CHECKS: Check[] = [
  schemaChecks,
  scenarioChecks,
  cpuAssignmentChecks,
  vmTypeChecks,
  rdtSupportChecks,
  vmMemoryChecks,
  vuartChecks,
  ivshmemChecks,
  vbdfChecks,
  passthroughChecks,
  virtioChecks,
  buildChecks,
];

/**
 * Checks a plan against a board with the ACRN configurator's data checks, its static allocators and the
 * hypervisor build checks. Returns every violation, errors first, in a stable order.
 */
export function validatePartitionPlan(plan: PartitionPlan, board: Board): Violation[] {
  const ctx = new CheckContext(plan, board);
  for (const check of CHECKS) check(ctx);
  const groupRank = (v: Violation) => RULE_GROUPS.indexOf(v.group);
  return ctx.violations
    .map((v, i) => ({ v, i }))
    .sort(
      (a, b) =>
        Number(a.v.severity === 'warning') - Number(b.v.severity === 'warning') ||
        groupRank(a.v) - groupRank(b.v) ||
        a.i - b.i,
    )
    .map(({ v }) => v);
}

/** validatePartitionPlan split by severity; `ok` means no errors (warnings allowed, as in ACRN). */
export function checkPartitionPlan(plan: PartitionPlan, board: Board): ValidationReport {
  const violations = validatePartitionPlan(plan, board);
  const errors = violations.filter((v) => v.severity === 'error');
  return { ok: errors.length === 0, errors, warnings: violations.filter((v) => v.severity === 'warning') };
}
