import { DomainCommand, type CommandMeta } from '../shared/command';
import type { DeviceClass } from './hypervisor.events';

/** Operator: enrol a device in the fleet. */
export class ProvisionDevice extends DomainCommand<
  'ProvisionDevice',
  { deviceId: string; deviceClass: DeviceClass; site: string; tags?: string[] }
> {
  constructor(props: ProvisionDevice['props'], meta?: CommandMeta) {
    super('ProvisionDevice', props, meta);
  }
}

/** Operator: move a device to another site or change its tags. Absent fields stay as they are. */
export class UpdateDeviceLabels extends DomainCommand<
  'UpdateDeviceLabels',
  { deviceId: string; site?: string; tags?: string[] }
> {
  constructor(props: UpdateDeviceLabels['props'], meta?: CommandMeta) {
    super('UpdateDeviceLabels', props, meta);
  }
}

/**
 * Operator: set and remove free-form inventory attributes (`owner`, `rack.position`, …). `remove` is
 * applied before `set`, so a key in both ends up set.
 */
export class SetDeviceAttributes extends DomainCommand<
  'SetDeviceAttributes',
  { deviceId: string; set?: Record<string, string>; remove?: string[] }
> {
  constructor(props: SetDeviceAttributes['props'], meta?: CommandMeta) {
    super('SetDeviceAttributes', props, meta);
  }
}

/** Agent: the board inventory, as JSON to be checked against @hyperfleet/acrn's board schema. */
export class ReportBoardInventory extends DomainCommand<
  'ReportBoardInventory',
  { deviceId: string; board: unknown; at?: string }
> {
  constructor(props: ReportBoardInventory['props'], meta?: CommandMeta) {
    super('ReportBoardInventory', props, meta);
  }
}

/** Agent: the hypervisor binary that booted (`acrn.<scenario>.<board>.bin`). */
export class ReportHypervisorVersion extends DomainCommand<
  'ReportHypervisorVersion',
  { deviceId: string; version: string; scenario: string; at?: string }
> {
  constructor(props: ReportHypervisorVersion['props'], meta?: CommandMeta) {
    super('ReportHypervisorVersion', props, meta);
  }
}

/** Gateway: the agent connected (MQTT birth). */
export class MarkDeviceOnline extends DomainCommand<'MarkDeviceOnline', { deviceId: string; at?: string }> {
  constructor(props: MarkDeviceOnline['props'], meta?: CommandMeta) {
    super('MarkDeviceOnline', props, meta);
  }
}

/** Gateway: the agent's last will arrived, or its session expired. */
export class MarkDeviceOffline extends DomainCommand<
  'MarkDeviceOffline',
  { deviceId: string; at?: string; lastSeenAt?: string }
> {
  constructor(props: MarkDeviceOffline['props'], meta?: CommandMeta) {
    super('MarkDeviceOffline', props, meta);
  }
}

/** Agent: the partition plan revision the running hypervisor was built from. */
export class ReportPartitionPlan extends DomainCommand<
  'ReportPartitionPlan',
  { deviceId: string; planId: string; revision: number; at?: string }
> {
  constructor(props: ReportPartitionPlan['props'], meta?: CommandMeta) {
    super('ReportPartitionPlan', props, meta);
  }
}

export type HypervisorCommand =
  | ProvisionDevice
  | UpdateDeviceLabels
  | SetDeviceAttributes
  | ReportBoardInventory
  | ReportHypervisorVersion
  | MarkDeviceOnline
  | MarkDeviceOffline
  | ReportPartitionPlan;
