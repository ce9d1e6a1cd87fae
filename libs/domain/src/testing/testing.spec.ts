import { AssertionError } from 'node:assert';
import { StartRtVm } from '../rt-vm/rt-vm.commands';
import { rtVmDecider } from '../rt-vm/rt-vm.decider';
import { rtVmEvent } from '../rt-vm/rt-vm.events';
import { NotJsonError } from '../shared/json';
import { TEST_NOW, given, matches } from './given-when-then';
import { InMemoryEventStreamStore } from './in-memory-event-stream-store';

const ref = { deviceId: 'd1', vmName: 'RT1' };
const registered = rtVmEvent('RtVmRegistered', {
  ...ref,
  loadOrder: 'POST_LAUNCHED_VM',
  pinnedPcpus: [1],
  latencyBudgetUs: 10,
  state: 'stopped',
  at: TEST_NOW,
});

describe('given / when / then', () => {
  it('fails when the events differ, when a rejection was expected, and when the code differs', () => {
    const scenario = given(rtVmDecider, [registered]).when(new StartRtVm(ref));
    expect(() => scenario.then([])).toThrow(AssertionError);
    expect(() => scenario.thenRejects('RTVM_NOT_STOPPED')).toThrow(AssertionError);
    expect(() => scenario.thenMatches([{ type: 'RtVmDeleted' }])).toThrow(AssertionError);
    const refused = given(rtVmDecider).when(new StartRtVm(ref));
    expect(() => refused.then([])).toThrow('rejected: RTVM_NOT_REGISTERED');
    expect(() => refused.thenRejects('RTVM_NOT_STOPPED')).toThrow(AssertionError);
    expect(() => refused.thenRejects('RTVM_NOT_REGISTERED', { vmName: 'other' })).toThrow(AssertionError);
  });

  it('refuses given events that are not plain JSON', () => {
    const bad = { ...registered, data: { ...registered.data, at: new Date() as unknown as string } };
    expect(() => given(rtVmDecider, [bad])).toThrow(NotJsonError);
  });

  it('matches() compares a subset of fields, arrays in full', () => {
    expect(matches({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(matches({ a: [1, 2] }, { a: [1] })).toBe(false);
    expect(matches({ a: null }, { a: null })).toBe(true);
    expect(matches(1, { a: 1 })).toBe(false);
  });
});

describe('InMemoryEventStreamStore', () => {
  const ev = (type: string, messageId?: string) => ({ type, data: {}, ...(messageId ? { messageId } : {}) });

  it('checks the expected version like the Postgres store', async () => {
    const store = new InMemoryEventStreamStore();
    await expect(store.append('s', 'no-stream', [ev('A')])).resolves.toEqual({
      nextExpectedVersion: 1n,
      duplicate: false,
    });
    await expect(store.append('s', 'no-stream', [ev('B')])).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      actual: 1n,
    });
    await expect(store.append('s', 0, [ev('B')])).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
    await expect(store.append('s', 1n, [ev('B')])).resolves.toMatchObject({ nextExpectedVersion: 2n });
    await expect(store.append('s', 'any', [ev('C')])).resolves.toMatchObject({ nextExpectedVersion: 3n });
    expect((await store.readStream('s')).map((e) => [e.type, e.streamPosition])).toEqual([
      ['A', 1n],
      ['B', 2n],
      ['C', 3n],
    ]);
    expect(await store.readStream('none')).toEqual([]);
  });

  it('treats a repeated batch of message ids as a duplicate, also at a stale version', async () => {
    const store = new InMemoryEventStreamStore();
    await store.append('s', 'no-stream', [ev('A', 'm1'), ev('B', 'm2')]);
    await expect(store.append('s', 'no-stream', [ev('A', 'm1'), ev('B', 'm2')])).resolves.toEqual({
      nextExpectedVersion: 2n,
      duplicate: true,
    });
    await expect(store.append('t', 'no-stream', [ev('A', 'm1')])).rejects.toThrow('appended before');
  });

  it('keeps copies: callers cannot change stored data', async () => {
    const store = new InMemoryEventStreamStore();
    const data = { n: 1 };
    await store.append('s', 'no-stream', [{ type: 'A', data }]);
    data.n = 2;
    const [read] = await store.readStream('s');
    (read.data as { n: number }).n = 3;
    expect((await store.readStream('s'))[0].data).toEqual({ n: 1 });
    await expect(store.append('s', 1, [{ type: 'B', data: { at: new Date() } as never }])).rejects.toThrow(
      NotJsonError,
    );
  });
});
