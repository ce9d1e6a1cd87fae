import { EventSourcedAggregate } from '../shared/aggregate';
import { streamIds } from '../shared/stream-ids';
import { rtVmDecider, type RtVmState } from './rt-vm.decider';
import type { RtVmEvent } from './rt-vm.events';

/** The RtVm aggregate root (stream `rt-vm-<deviceId>.<vmName>`). */
export class RtVmAggregate extends EventSourcedAggregate<RtVmState, RtVmEvent> {
  constructor(
    readonly deviceId: string,
    readonly vmName: string,
  ) {
    super(streamIds.rtVm(deviceId, vmName), rtVmDecider);
  }
}
