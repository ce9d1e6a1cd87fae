import type { DeviceClass } from '../hypervisor/hypervisor.events';
import { DomainCommand, type CommandMeta } from '../shared/command';

/** Operator: a new plan. `plan` is JSON checked against @hyperfleet/acrn's plan schema (ACRN defaults filled in). */
export class CreatePartitionPlan extends DomainCommand<
  'CreatePartitionPlan',
  { planId: string; deviceClass: DeviceClass; plan: unknown; description?: string }
> {
  constructor(props: CreatePartitionPlan['props'], meta?: CommandMeta) {
    super('CreatePartitionPlan', props, meta);
  }
}

/** Operator: the next revision of a plan, edited from revision `basedOnRevision`. */
export class RevisePartitionPlan extends DomainCommand<
  'RevisePartitionPlan',
  { planId: string; basedOnRevision: number; plan: unknown }
> {
  constructor(props: RevisePartitionPlan['props'], meta?: CommandMeta) {
    super('RevisePartitionPlan', props, meta);
  }
}

/**
 * Operator or rollout: make a plan revision the desired plan of a device. Without `revision`, the plan's
 * latest revision at the time of the command (then pinned, also across retries).
 */
export class AssignPartitionPlan extends DomainCommand<
  'AssignPartitionPlan',
  { deviceId: string; planId: string; revision?: number }
> {
  constructor(props: AssignPartitionPlan['props'], meta?: CommandMeta) {
    super('AssignPartitionPlan', props, meta);
  }
}

export type PartitionPlanCommand = CreatePartitionPlan | RevisePartitionPlan;
