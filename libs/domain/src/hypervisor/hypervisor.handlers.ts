import { CommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { HypervisorAggregate } from './hypervisor.aggregate';
import {
  MarkDeviceOffline,
  MarkDeviceOnline,
  ProvisionDevice,
  ReportBoardInventory,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  SetDeviceAttributes,
  UpdateDeviceLabels,
  type HypervisorCommand,
} from './hypervisor.commands';
import { decideHypervisor } from './hypervisor.decider';

/**
 * Retry on a version conflict, per command. Every Hypervisor command re-checks all its preconditions
 * against the state it is decided on, so re-deciding after a conflict is safe for all of them.
 */
export const HYPERVISOR_RETRY_POLICY: { readonly [K in HypervisorCommand['type']]: RetryPolicy } = {
  ProvisionDevice: redecide(
    'a conflict on a new stream means someone provisioned the device first: re-deciding answers DEVICE_ALREADY_PROVISIONED',
  ),
  UpdateDeviceLabels: redecide('sets site/tags to given values: the same result on any newer state'),
  SetDeviceAttributes: redecide(
    'sets and removes given keys: the same keys end up the same on any newer state (the limit is re-checked)',
  ),
  ReportBoardInventory: redecide(
    'a device fact: recorded on top of whatever else happened, or a no-op if already known',
  ),
  ReportHypervisorVersion: redecide('a device fact: recorded on top of whatever else happened'),
  MarkDeviceOnline: redecide(
    'compares its own timestamp with the latest transition, so the order of retries is harmless',
  ),
  MarkDeviceOffline: redecide(
    'compares its own timestamp with the latest transition, so the order of retries is harmless',
  ),
  ReportPartitionPlan: redecide(
    'a device fact; matchesDesired is recomputed against the desired plan at that moment',
  ),
};

abstract class HypervisorCommandHandler<C extends HypervisorCommand> extends DomainCommandHandler<C> {
  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new HypervisorAggregate(command.props.deviceId),
      command,
      retry: HYPERVISOR_RETRY_POLICY[command.type],
      decide: (state, context) => decideHypervisor(command, state, context),
    });
  }
}

@CommandHandler(ProvisionDevice)
export class ProvisionDeviceHandler extends HypervisorCommandHandler<ProvisionDevice> {}

@CommandHandler(UpdateDeviceLabels)
export class UpdateDeviceLabelsHandler extends HypervisorCommandHandler<UpdateDeviceLabels> {}

@CommandHandler(SetDeviceAttributes)
export class SetDeviceAttributesHandler extends HypervisorCommandHandler<SetDeviceAttributes> {}

@CommandHandler(ReportBoardInventory)
export class ReportBoardInventoryHandler extends HypervisorCommandHandler<ReportBoardInventory> {}

@CommandHandler(ReportHypervisorVersion)
export class ReportHypervisorVersionHandler extends HypervisorCommandHandler<ReportHypervisorVersion> {}

@CommandHandler(MarkDeviceOnline)
export class MarkDeviceOnlineHandler extends HypervisorCommandHandler<MarkDeviceOnline> {}

@CommandHandler(MarkDeviceOffline)
export class MarkDeviceOfflineHandler extends HypervisorCommandHandler<MarkDeviceOffline> {}

@CommandHandler(ReportPartitionPlan)
export class ReportPartitionPlanHandler extends HypervisorCommandHandler<ReportPartitionPlan> {}

export const HYPERVISOR_COMMAND_HANDLERS = [
  ProvisionDeviceHandler,
  UpdateDeviceLabelsHandler,
  SetDeviceAttributesHandler,
  ReportBoardInventoryHandler,
  ReportHypervisorVersionHandler,
  MarkDeviceOnlineHandler,
  MarkDeviceOfflineHandler,
  ReportPartitionPlanHandler,
];
