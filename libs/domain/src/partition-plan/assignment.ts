/**
 * AssignPartitionPlan: decided on the device's Hypervisor stream (where the desired plan lives and where
 * concurrent assignments to one device serialise), with the plan read from its own stream.
 *
 * Rules, in the order they are checked:
 * 1. the device is provisioned (DEVICE_NOT_PROVISIONED);
 * 2. the plan and the revision exist (PARTITION_PLAN_NOT_FOUND, PARTITION_PLAN_REVISION_NOT_FOUND);
 * 3. the plan is for the device's class (PLAN_DEVICE_CLASS_MISMATCH);
 * 4. the device has reported its board (DEVICE_BOARD_UNKNOWN);
 * 5. the plan fits that board by @hyperfleet/acrn's validator: any error-severity violation refuses the
 *    assignment (PLAN_DOES_NOT_FIT_BOARD, carrying every violation); warnings are recorded on the event;
 * 6. assigning the revision the device already has as desired plan appends nothing.
 */
import { checkPartitionPlan } from '@hyperfleet/acrn';
import type { HypervisorState } from '../hypervisor/hypervisor.decider';
import {
  initialHypervisorState,
  evolveHypervisor,
  requireProvisioned,
} from '../hypervisor/hypervisor.decider';
import {
  HYPERVISOR_EVENT_SCHEMA_VERSIONS,
  hypervisorEvent,
  type HypervisorEvent,
} from '../hypervisor/hypervisor.events';
import type { DecideContext, Decider, Decision } from '../shared/decider';
import { toJsonObject } from '../shared/json';
import { reject } from '../shared/rejection';
import { DEVICE_ID_PATTERN, PLAN_ID_PATTERN, fields } from '../shared/validation';
import type { AssignPartitionPlan } from './partition-plan.commands';
import { latestRevision, planRevision, type PartitionPlanState } from './partition-plan.decider';

/** What the assignment reads from the plan's stream. */
export type AssignmentContext = { readonly plan: PartitionPlanState };

export function decideAssignPartitionPlan(
  command: AssignPartitionPlan,
  device: HypervisorState,
  { now, plan }: DecideContext<AssignmentContext>,
): Decision<HypervisorEvent> {
  const { deviceId, planId } = command.props;
  const shape = fields()
    .pattern(deviceId, DEVICE_ID_PATTERN, 'deviceId', 'a device id')
    .pattern(planId, PLAN_ID_PATTERN, 'planId', 'a plan id');
  if (command.props.revision !== undefined) shape.positiveInteger(command.props.revision, 'revision');
  const invalid = shape.rejection(command.type) ?? requireProvisioned(device, deviceId);
  if (invalid) return invalid;

  if (!plan.exists) {
    return reject('PARTITION_PLAN_NOT_FOUND', `Partition plan ${planId} does not exist`, { planId });
  }
  const revision = command.props.revision ?? latestRevision(plan);
  const content = planRevision(plan, revision);
  if (content === undefined) {
    return reject(
      'PARTITION_PLAN_REVISION_NOT_FOUND',
      `Partition plan ${planId} has no revision ${revision} (latest is ${latestRevision(plan)})`,
      { planId, revision, latestRevision: latestRevision(plan) },
    );
  }
  const deviceClass = plan.deviceClass;
  if (deviceClass === null || deviceClass !== device.deviceClass) {
    return reject(
      'PLAN_DEVICE_CLASS_MISMATCH',
      `Partition plan ${planId} is for ${plan.deviceClass} devices; device ${deviceId} is a ${device.deviceClass}`,
      { planId, planDeviceClass: plan.deviceClass, deviceId, deviceClass: device.deviceClass },
    );
  }
  if (device.board === null) {
    return reject(
      'DEVICE_BOARD_UNKNOWN',
      `Device ${deviceId} has not reported its board inventory, so the plan cannot be checked against it`,
      { deviceId, planId },
    );
  }

  const report = checkPartitionPlan(content, device.board);
  if (!report.ok) {
    return reject(
      'PLAN_DOES_NOT_FIT_BOARD',
      `Partition plan ${planId} revision ${revision} does not fit board "${device.board.name}" of device ${deviceId}: ` +
        report.errors.map((v) => v.message).join(' '),
      {
        deviceId,
        planId,
        revision,
        boardName: device.board.name,
        violations: report.errors.map((v) => toJsonObject(v)),
        warnings: report.warnings.map((v) => toJsonObject(v)),
      },
    );
  }

  const current = device.desiredPlan;
  if (current?.planId === planId && current.revision === revision) return [];
  return [
    hypervisorEvent('PartitionPlanAssigned', {
      deviceId,
      planId,
      revision,
      deviceClass,
      boardName: device.board.name,
      warnings: report.warnings,
      previous: current ? { planId: current.planId, revision: current.revision } : null,
      at: now,
    }),
  ];
}

/** The assignment as a decider over the Hypervisor stream, with the plan as read-only context. */
export const planAssignmentDecider: Decider<
  HypervisorState,
  HypervisorEvent,
  AssignPartitionPlan,
  AssignmentContext
> = {
  name: 'Hypervisor',
  initialState: initialHypervisorState,
  evolve: evolveHypervisor,
  decide: decideAssignPartitionPlan,
  schemaVersions: HYPERVISOR_EVENT_SCHEMA_VERSIONS,
};
