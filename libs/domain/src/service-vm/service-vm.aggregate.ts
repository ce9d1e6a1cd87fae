import { EventSourcedAggregate } from '../shared/aggregate';
import { streamIds } from '../shared/stream-ids';
import { serviceVmDecider, type ServiceVmState } from './service-vm.decider';
import type { ServiceVmEvent } from './service-vm.events';

/** The ServiceVm aggregate root (stream `service-vm-<deviceId>`). */
export class ServiceVmAggregate extends EventSourcedAggregate<ServiceVmState, ServiceVmEvent> {
  constructor(readonly deviceId: string) {
    super(streamIds.serviceVm(deviceId), serviceVmDecider);
  }
}
