import { EventSourcedAggregate } from '../shared/aggregate';
import { streamIds } from '../shared/stream-ids';
import { partitionPlanDecider, type PartitionPlanState } from './partition-plan.decider';
import type { PartitionPlanEvent } from './partition-plan.events';

/** The PartitionPlan aggregate root (stream `partition-plan-<id>`). */
export class PartitionPlanAggregate extends EventSourcedAggregate<PartitionPlanState, PartitionPlanEvent> {
  constructor(readonly planId: string) {
    super(streamIds.partitionPlan(planId), partitionPlanDecider);
  }
}
