/**
 * PartitionPlan (stream `partition-plan-<id>`): a versioned ACRN plan for one device class. The stream
 * records revisions only; which device should run which revision is recorded on the device's Hypervisor
 * stream by AssignPartitionPlan (assignment.ts), see docs/domain.md.
 *
 * Invariants:
 * - Every revision passes @hyperfleet/acrn's plan schema (shape; the board-dependent ACRN rules are
 *   checked when the plan is assigned to a device, against that device's board).
 * - Revisions are numbered 1, 2, 3… and never change; a revision is based on the latest one.
 * - The device class is fixed at creation.
 */
import { parsePartitionPlan, type PartitionPlan } from '@hyperfleet/acrn';
import { DEVICE_CLASSES, type DeviceClass } from '../hypervisor/hypervisor.events';
import type { Decider, Decision } from '../shared/decider';
import { jsonEqual } from '../shared/json';
import { reject } from '../shared/rejection';
import { PLAN_ID_PATTERN, fields } from '../shared/validation';
import type { PartitionPlanCommand } from './partition-plan.commands';
import {
  PARTITION_PLAN_EVENT_SCHEMA_VERSIONS,
  partitionPlanEvent,
  type PartitionPlanEvent,
} from './partition-plan.events';

export interface PartitionPlanState {
  readonly exists: boolean;
  readonly planId: string | null;
  readonly deviceClass: DeviceClass | null;
  readonly description: string;
  /** `revisions[n - 1]` is revision n. */
  readonly revisions: readonly PartitionPlan[];
  readonly createdAt: string | null;
  readonly revisedAt: string | null;
}

export function initialPartitionPlanState(): PartitionPlanState {
  return {
    exists: false,
    planId: null,
    deviceClass: null,
    description: '',
    revisions: [],
    createdAt: null,
    revisedAt: null,
  };
}

export function latestRevision(state: PartitionPlanState): number {
  return state.revisions.length;
}

export function planRevision(state: PartitionPlanState, revision: number): PartitionPlan | undefined {
  return Number.isInteger(revision) && revision >= 1 ? state.revisions[revision - 1] : undefined;
}

export function evolvePartitionPlan(
  state: PartitionPlanState,
  event: PartitionPlanEvent,
): PartitionPlanState {
  switch (event.type) {
    case 'PartitionPlanCreated': {
      const { planId, deviceClass, description, plan, at } = event.data;
      return {
        ...state,
        exists: true,
        planId,
        deviceClass,
        description,
        revisions: [plan],
        createdAt: at,
        revisedAt: at,
      };
    }
    case 'PartitionPlanRevised':
      return { ...state, revisions: [...state.revisions, event.data.plan], revisedAt: event.data.at };
    default:
      return state;
  }
}

export function decidePartitionPlan(
  command: PartitionPlanCommand,
  state: PartitionPlanState,
  { now }: { now: string },
): Decision<PartitionPlanEvent> {
  const { planId } = command.props;
  const shape = fields().pattern(planId, PLAN_ID_PATTERN, 'planId', 'a plan id');

  switch (command.type) {
    case 'CreatePartitionPlan': {
      const { deviceClass, description } = command.props;
      shape.oneOf(deviceClass, DEVICE_CLASSES, 'deviceClass');
      if (description !== undefined)
        shape.check(
          typeof description === 'string' && description.length <= 2000,
          'description',
          'must be a string of at most 2000 characters',
        );
      const invalid = shape.rejection(command.type);
      if (invalid) return invalid;
      if (state.exists) {
        return reject('PARTITION_PLAN_ALREADY_EXISTS', `Partition plan ${planId} already exists`, {
          planId,
          latestRevision: latestRevision(state),
        });
      }
      const parsed = parsePartitionPlan(command.props.plan);
      if (!parsed.ok) {
        return reject('INVALID_PARTITION_PLAN', `Partition plan ${planId} is not a valid ACRN plan`, {
          planId,
          errors: parsed.errors,
        });
      }
      return [
        partitionPlanEvent('PartitionPlanCreated', {
          planId,
          deviceClass,
          description: description ?? '',
          revision: 1,
          plan: parsed.value,
          at: now,
        }),
      ];
    }

    case 'RevisePartitionPlan': {
      const { basedOnRevision } = command.props;
      shape.positiveInteger(basedOnRevision, 'basedOnRevision');
      const invalid = shape.rejection(command.type);
      if (invalid) return invalid;
      if (!state.exists) {
        return reject('PARTITION_PLAN_NOT_FOUND', `Partition plan ${planId} does not exist`, { planId });
      }
      const latest = latestRevision(state);
      if (basedOnRevision !== latest) {
        return reject(
          'PLAN_REVISION_CONFLICT',
          `Partition plan ${planId} is at revision ${latest}; the revision was based on ${basedOnRevision}`,
          { planId, basedOnRevision, latestRevision: latest },
        );
      }
      const parsed = parsePartitionPlan(command.props.plan);
      if (!parsed.ok) {
        return reject('INVALID_PARTITION_PLAN', `Partition plan ${planId} is not a valid ACRN plan`, {
          planId,
          errors: parsed.errors,
        });
      }
      if (jsonEqual(parsed.value, state.revisions[latest - 1])) return [];
      return [
        partitionPlanEvent('PartitionPlanRevised', {
          planId,
          revision: latest + 1,
          plan: parsed.value,
          at: now,
        }),
      ];
    }
  }
}

export const partitionPlanDecider: Decider<PartitionPlanState, PartitionPlanEvent, PartitionPlanCommand> = {
  name: 'PartitionPlan',
  initialState: initialPartitionPlanState,
  evolve: evolvePartitionPlan,
  decide: decidePartitionPlan,
  schemaVersions: PARTITION_PLAN_EVENT_SCHEMA_VERSIONS,
};
