import { RtVmAggregate } from '../rt-vm/rt-vm.aggregate';
import { rtVmEvent } from '../rt-vm/rt-vm.events';
import { AggregateRoot } from '@nestjs/cqrs';
import { UnsupportedEventSchemaError } from './event';
import type { StoredEvent } from './event-stream-store';
import { reject } from './rejection';

const ref = { deviceId: 'ipc-7', vmName: 'RT_VM1' };
const at = '2025-06-02T07:00:00.000Z';
const registered = rtVmEvent('RtVmRegistered', {
  ...ref,
  loadOrder: 'POST_LAUNCHED_VM',
  pinnedPcpus: [2],
  latencyBudgetUs: 50,
  state: 'stopped',
  at,
});
const stored = (
  position: number,
  event: { type: string; schemaVersion: number; data: object },
): StoredEvent => ({
  streamId: 'rt-vm-ipc-7.RT_VM1',
  streamPosition: BigInt(position),
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data as StoredEvent['data'],
  messageId: `m${position}`,
});

describe('EventSourcedAggregate (the AggregateRoot wrapper)', () => {
  it('is a @nestjs/cqrs AggregateRoot whose apply() runs evolve', () => {
    const vm = new RtVmAggregate(ref.deviceId, ref.vmName);
    expect(vm).toBeInstanceOf(AggregateRoot);
    expect(vm.streamId).toBe('rt-vm-ipc-7.RT_VM1');
    vm.apply(registered);
    expect(vm.state.registered).toBe(true);
    expect(vm.getUncommittedEvents()).toEqual([registered]);
  });

  it('replays a stream without uncommitted events and takes its version', () => {
    const vm = new RtVmAggregate(ref.deviceId, ref.vmName).loadFromStream([
      stored(1, registered),
      stored(2, rtVmEvent('RtVmStarted', { ...ref, at })),
    ]);
    expect(vm.version).toBe(2n);
    expect(vm.state.state).toBe('started');
    expect(vm.getUncommittedEvents()).toEqual([]);
  });

  it('records a decision as uncommitted events, and throws a rejection', () => {
    const vm = new RtVmAggregate(ref.deviceId, ref.vmName).loadFromStream([stored(1, registered)]);
    vm.record([rtVmEvent('RtVmStarted', { ...ref, at })]);
    expect(vm.state.state).toBe('started');
    expect(vm.getUncommittedEvents()).toHaveLength(1);
    vm.markPersisted(2n);
    expect(vm.version).toBe(2n);
    expect(vm.getUncommittedEvents()).toEqual([]);
    expect(() => vm.record(reject('RTVM_NOT_STOPPED', 'no'))).toThrow('no');
  });

  it('ignores unknown event types and refuses events of a newer schema', () => {
    const vm = new RtVmAggregate(ref.deviceId, ref.vmName);
    vm.loadFromStream([
      stored(1, registered),
      stored(2, { type: 'RtVmRenamed', schemaVersion: 1, data: {} }),
    ]);
    expect(vm.version).toBe(2n);
    expect(vm.state.registered).toBe(true);
    expect(() =>
      new RtVmAggregate(ref.deviceId, ref.vmName).loadFromStream([
        stored(1, { ...registered, schemaVersion: 2 }),
      ]),
    ).toThrow(UnsupportedEventSchemaError);
  });
});
