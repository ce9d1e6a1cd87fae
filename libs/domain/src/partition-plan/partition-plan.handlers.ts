import { CommandHandler } from '@nestjs/cqrs';
import { HypervisorAggregate } from '../hypervisor/hypervisor.aggregate';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, rejectOnConflict, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { reject } from '../shared/rejection';
import { decideAssignPartitionPlan } from './assignment';
import { PartitionPlanAggregate } from './partition-plan.aggregate';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  RevisePartitionPlan,
  type PartitionPlanCommand,
} from './partition-plan.commands';
import { decidePartitionPlan } from './partition-plan.decider';

/** Retry on a version conflict, per command. */
export const PARTITION_PLAN_RETRY_POLICY: {
  readonly [K in PartitionPlanCommand['type'] | AssignPartitionPlan['type']]: RetryPolicy;
} = {
  CreatePartitionPlan: redecide(
    'a conflict on a new stream means the plan was created first: re-deciding answers PARTITION_PLAN_ALREADY_EXISTS',
  ),
  // Not retried: the stream holds nothing but revisions, so a conflict always means another revision was
  // written after the one this edit is based on. Re-applying it would silently overwrite that revision.
  RevisePartitionPlan: rejectOnConflict(
    'an edit of the revision its author read: a concurrent revision makes it stale',
    (streamId) =>
      reject(
        'PLAN_REVISION_CONFLICT',
        `Another revision of ${streamId} was written first; revise the latest one`,
        {
          streamId,
        },
      ),
  ),
  AssignPartitionPlan: redecide(
    'the revision is pinned on the first attempt; a retry checks it again against the board and the desired plan as they are now',
  ),
};

abstract class PartitionPlanCommandHandler<C extends PartitionPlanCommand> extends DomainCommandHandler<C> {
  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new PartitionPlanAggregate(command.props.planId),
      command,
      retry: PARTITION_PLAN_RETRY_POLICY[command.type],
      decide: (state, context) => decidePartitionPlan(command, state, context),
    });
  }
}

@CommandHandler(CreatePartitionPlan)
export class CreatePartitionPlanHandler extends PartitionPlanCommandHandler<CreatePartitionPlan> {}

@CommandHandler(RevisePartitionPlan)
export class RevisePartitionPlanHandler extends PartitionPlanCommandHandler<RevisePartitionPlan> {}

/**
 * Appends to the device's Hypervisor stream with its expected version; reads the plan's stream on every
 * attempt without locking it (plan revisions are immutable, so a pinned revision cannot change under us).
 */
@CommandHandler(AssignPartitionPlan)
export class AssignPartitionPlanHandler extends DomainCommandHandler<AssignPartitionPlan> {
  async execute(command: AssignPartitionPlan): Promise<CommandOutcome> {
    let pinned = command.props.revision;
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new HypervisorAggregate(command.props.deviceId),
      command,
      retry: PARTITION_PLAN_RETRY_POLICY.AssignPartitionPlan,
      decide: async (device, context) => {
        const planAggregate = new PartitionPlanAggregate(command.props.planId);
        const plan = await this.current(planAggregate);
        if (pinned === undefined && plan.exists) pinned = plan.revisions.length;
        const pinnedCommand =
          pinned === command.props.revision
            ? command
            : new AssignPartitionPlan({ ...command.props, revision: pinned }, command.meta);
        return decideAssignPartitionPlan(pinnedCommand, device, { ...context, plan });
      },
    });
  }
}

export const PARTITION_PLAN_COMMAND_HANDLERS = [
  CreatePartitionPlanHandler,
  RevisePartitionPlanHandler,
  AssignPartitionPlanHandler,
];
