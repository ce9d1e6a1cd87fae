import type { PartitionPlan } from '@hyperfleet/acrn';
import type { DeviceClass } from '../hypervisor/hypervisor.events';
import { eventFactory, type DomainEvent } from '../shared/event';

/** Revision 1 of a plan: an ACRN scenario in @hyperfleet/acrn's plan model, for one device class. */
export type PartitionPlanCreated = DomainEvent<
  'PartitionPlanCreated',
  {
    planId: string;
    deviceClass: DeviceClass;
    description: string;
    revision: 1;
    plan: PartitionPlan;
    at: string;
  }
>;
/** A new revision. Earlier revisions stay in the stream: devices keep the revision they were assigned. */
export type PartitionPlanRevised = DomainEvent<
  'PartitionPlanRevised',
  { planId: string; revision: number; plan: PartitionPlan; at: string }
>;

export type PartitionPlanEvent = PartitionPlanCreated | PartitionPlanRevised;

export const PARTITION_PLAN_EVENT_SCHEMA_VERSIONS: { readonly [K in PartitionPlanEvent['type']]: number } = {
  PartitionPlanCreated: 1,
  PartitionPlanRevised: 1,
};

export const partitionPlanEvent = eventFactory<PartitionPlanEvent>(PARTITION_PLAN_EVENT_SCHEMA_VERSIONS);
