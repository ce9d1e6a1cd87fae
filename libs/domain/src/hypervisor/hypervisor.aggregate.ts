import { EventSourcedAggregate } from '../shared/aggregate';
import { streamIds } from '../shared/stream-ids';
import { hypervisorDecider, type HypervisorState } from './hypervisor.decider';
import type { HypervisorEvent } from './hypervisor.events';

/** The Hypervisor aggregate root (stream `hypervisor-<deviceId>`). */
export class HypervisorAggregate extends EventSourcedAggregate<HypervisorState, HypervisorEvent> {
  constructor(readonly deviceId: string) {
    super(streamIds.hypervisor(deviceId), hypervisorDecider);
  }
}
