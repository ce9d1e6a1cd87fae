import { EventSourcedAggregate } from '../shared/aggregate';
import { streamIds } from '../shared/stream-ids';
import { vmDecider, type VmState } from './vm.decider';
import type { VmEvent } from './vm.events';

/** The Vm aggregate root (stream `vm-<deviceId>.<vmName>`): a VM that is not an RTVM. */
export class VmAggregate extends EventSourcedAggregate<VmState, VmEvent> {
  constructor(
    readonly deviceId: string,
    readonly vmName: string,
  ) {
    super(streamIds.vm(deviceId, vmName), vmDecider);
  }
}
