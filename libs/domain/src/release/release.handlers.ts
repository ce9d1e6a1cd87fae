import { CommandHandler } from '@nestjs/cqrs';
import { PartitionPlanAggregate } from '../partition-plan/partition-plan.aggregate';
import type { PartitionPlanState } from '../partition-plan/partition-plan.decider';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { ReleaseAggregate } from './release.aggregate';
import {
  AddReleaseImage,
  DeprecateRelease,
  DraftRelease,
  PublishRelease,
  RecordReleaseImageUpload,
  YankRelease,
  type ReleaseCommand,
} from './release.commands';
import { decideRelease, plansReadBy } from './release.decider';

/** Every release command re-checks all its rules against the fresh state, so a retry is always safe. */
export const RELEASE_RETRY_POLICY: { readonly [K in ReleaseCommand['type']]: RetryPolicy } = {
  DraftRelease: redecide('a conflict on a new stream: re-deciding answers RELEASE_ALREADY_EXISTS'),
  AddReleaseImage: redecide('status, target and plan checks are re-run on the fresh state'),
  RecordReleaseImageUpload: redecide('the hashes are compared with the fresh declaration'),
  PublishRelease: redecide('uploads and dependencies are re-checked on the fresh state'),
  DeprecateRelease: redecide('the status is re-checked'),
  YankRelease: redecide('the status is re-checked'),
};

/** Loads the release, and on every attempt the partition plans its decision reads (immutable revisions). */
abstract class ReleaseCommandHandler<C extends ReleaseCommand> extends DomainCommandHandler<C> {
  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new ReleaseAggregate(command.props.releaseId),
      command,
      retry: RELEASE_RETRY_POLICY[command.type],
      decide: async (state, context) => {
        const plans: Record<string, PartitionPlanState> = {};
        for (const planId of plansReadBy(command, state)) {
          plans[planId] = await this.current(new PartitionPlanAggregate(planId));
        }
        return decideRelease(command, state, { ...context, plans });
      },
    });
  }
}

@CommandHandler(DraftRelease)
export class DraftReleaseHandler extends ReleaseCommandHandler<DraftRelease> {}

@CommandHandler(AddReleaseImage)
export class AddReleaseImageHandler extends ReleaseCommandHandler<AddReleaseImage> {}

@CommandHandler(RecordReleaseImageUpload)
export class RecordReleaseImageUploadHandler extends ReleaseCommandHandler<RecordReleaseImageUpload> {}

@CommandHandler(PublishRelease)
export class PublishReleaseHandler extends ReleaseCommandHandler<PublishRelease> {}

@CommandHandler(DeprecateRelease)
export class DeprecateReleaseHandler extends ReleaseCommandHandler<DeprecateRelease> {}

@CommandHandler(YankRelease)
export class YankReleaseHandler extends ReleaseCommandHandler<YankRelease> {}

export const RELEASE_COMMAND_HANDLERS = [
  DraftReleaseHandler,
  AddReleaseImageHandler,
  RecordReleaseImageUploadHandler,
  PublishReleaseHandler,
  DeprecateReleaseHandler,
  YankReleaseHandler,
];
