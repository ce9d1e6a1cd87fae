import type { Board, Violation } from '@hyperfleet/acrn';
import { eventFactory, type DomainEvent } from '../shared/event';

/** What a device is: a connected vehicle or an industrial PC. Partition plans are made per class. */
export const DEVICE_CLASSES = ['vehicle', 'industrial-pc'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

/** A partition plan revision, as a device's desired or reported plan. */
export type PlanRef = { planId: string; revision: number };

export type DeviceProvisioned = DomainEvent<
  'DeviceProvisioned',
  { deviceId: string; deviceClass: DeviceClass; site: string; tags: string[]; at: string }
>;
export type DeviceLabelsUpdated = DomainEvent<
  'DeviceLabelsUpdated',
  { deviceId: string; site: string; tags: string[]; at: string }
>;
/** Free-form inventory attributes: the full map after the change, and what the command set and removed. */
export type DeviceAttributesChanged = DomainEvent<
  'DeviceAttributesChanged',
  {
    deviceId: string;
    attributes: Record<string, string>;
    set: Record<string, string>;
    removed: string[];
    at: string;
  }
>;
/** The agent's board inventory (ACRN board XML facts), checked against @hyperfleet/acrn's schema. */
export type BoardInventoryReported = DomainEvent<
  'BoardInventoryReported',
  { deviceId: string; board: Board; at: string }
>;
/** The running hypervisor binary: its version and the scenario compiled into it. */
export type HypervisorVersionReported = DomainEvent<
  'HypervisorVersionReported',
  { deviceId: string; version: string; scenario: string; previousVersion: string | null; at: string }
>;
export type DeviceWentOnline = DomainEvent<'DeviceWentOnline', { deviceId: string; at: string }>;
export type DeviceWentOffline = DomainEvent<
  'DeviceWentOffline',
  { deviceId: string; at: string; lastSeenAt: string }
>;
/**
 * The desired partition plan of the device. It fits the device's board: ACRN's error-severity rules
 * passed; the warning-severity violations found are recorded here.
 */
export type PartitionPlanAssigned = DomainEvent<
  'PartitionPlanAssigned',
  {
    deviceId: string;
    planId: string;
    revision: number;
    deviceClass: DeviceClass;
    boardName: string;
    warnings: Violation[];
    previous: PlanRef | null;
    at: string;
  }
>;
/** The plan the running hypervisor was built from, as the agent reports it. */
export type PartitionPlanReported = DomainEvent<
  'PartitionPlanReported',
  { deviceId: string; planId: string; revision: number; matchesDesired: boolean; at: string }
>;

export type HypervisorEvent =
  | DeviceProvisioned
  | DeviceLabelsUpdated
  | DeviceAttributesChanged
  | BoardInventoryReported
  | HypervisorVersionReported
  | DeviceWentOnline
  | DeviceWentOffline
  | PartitionPlanAssigned
  | PartitionPlanReported;

export const HYPERVISOR_EVENT_SCHEMA_VERSIONS: { readonly [K in HypervisorEvent['type']]: number } = {
  DeviceProvisioned: 1,
  DeviceLabelsUpdated: 1,
  DeviceAttributesChanged: 1,
  BoardInventoryReported: 1,
  HypervisorVersionReported: 1,
  DeviceWentOnline: 1,
  DeviceWentOffline: 1,
  PartitionPlanAssigned: 1,
  PartitionPlanReported: 1,
};

export const hypervisorEvent = eventFactory<HypervisorEvent>(HYPERVISOR_EVENT_SCHEMA_VERSIONS);
