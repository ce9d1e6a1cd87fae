import { RtVmAggregate } from '../rt-vm/rt-vm.aggregate';
import { StartRtVm, ReportRtVmLatency, type RtVmCommand } from '../rt-vm/rt-vm.commands';
import { decideRtVm } from '../rt-vm/rt-vm.decider';
import { rtVmEvent } from '../rt-vm/rt-vm.events';
import { InMemoryEventStreamStore, InMemoryWrongExpectedVersionError } from '../testing';
import { fixedClock } from './clock';
import { executeCommand, redecide, rejectOnConflict, type RetryPolicy } from './command-handling';
import type { CommandMeta } from './command';
import { isWrongExpectedVersion } from './event-stream-store';
import { DomainRejection, reject } from './rejection';
import { StreamCache } from './stream-cache';

const ref = { deviceId: 'ipc-7', vmName: 'RT_VM1' };
const streamId = 'rt-vm-ipc-7.RT_VM1';
const now = '2025-06-02T08:00:00.000Z';
const registered = rtVmEvent('RtVmRegistered', {
  ...ref,
  loadOrder: 'POST_LAUNCHED_VM',
  pinnedPcpus: [2],
  latencyBudgetUs: 50,
  state: 'stopped',
  at: now,
});
const toStore = (e: { type: string; schemaVersion: number; data: object }) => ({
  type: e.type,
  schemaVersion: e.schemaVersion,
  data: e.data as Record<string, never>,
});

async function storeWithVm(): Promise<InMemoryEventStreamStore> {
  const store = new InMemoryEventStreamStore();
  await store.append(streamId, 'no-stream', [toStore(registered)]);
  return store;
}

function run(store: InMemoryEventStreamStore, command: RtVmCommand, retry: RetryPolicy = redecide('test')) {
  return executeCommand({
    store,
    clock: fixedClock(now),
    aggregate: () => new RtVmAggregate(ref.deviceId, ref.vmName),
    command,
    retry,
    decide: (state, context) => decideRtVm(command, state, context),
  });
}

/** Makes the next append to the stream lose a race: another writer appends `events` just before it. */
function interleaveOnce(
  store: InMemoryEventStreamStore,
  events: { type: string; schemaVersion: number; data: object }[],
) {
  let done = false;
  store.beforeAppend = async (id) => {
    if (done) return;
    done = true;
    const current = await store.readStream(id);
    await store.append(id, BigInt(current.length), events.map(toStore));
  };
}

describe('executeCommand', () => {
  it('appends the decided events at the expected version and returns the outcome', async () => {
    const store = await storeWithVm();
    const outcome = await run(store, new StartRtVm(ref));
    expect(outcome).toEqual({
      streamId,
      version: 2,
      events: [rtVmEvent('RtVmStarted', { ...ref, at: now })],
      duplicate: false,
    });
    expect(store.recorded(streamId).map((e) => [e.type, e.schemaVersion, e.metadata])).toEqual([
      ['RtVmRegistered', 1, {}],
      ['RtVmStarted', 1, { command: 'StartRtVm', deviceId: 'ipc-7' }],
    ]);
  });

  it('throws the rejection and appends nothing', async () => {
    const store = await storeWithVm();
    await run(store, new StartRtVm(ref));
    await expect(run(store, new StartRtVm(ref))).rejects.toMatchObject({ code: 'RTVM_NOT_STOPPED' });
    expect(store.recorded(streamId)).toHaveLength(2);
  });

  it('re-decides after a version conflict: the retry sees the concurrent change', async () => {
    const store = await storeWithVm();
    interleaveOnce(store, [rtVmEvent('RtVmStarted', { ...ref, at: now })]);
    const outcome = run(store, new StartRtVm(ref));
    await expect(outcome).rejects.toBeInstanceOf(DomainRejection);
    await expect(outcome).rejects.toMatchObject({ code: 'RTVM_NOT_STOPPED' });
  });

  it('re-decides after a version conflict: a fact lands after the concurrent one', async () => {
    const store = await storeWithVm();
    interleaveOnce(store, [
      rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 10, budgetUs: 50, at: now }),
    ]);
    const outcome = await run(store, new ReportRtVmLatency({ ...ref, worstCaseUs: 60 }));
    expect(outcome.version).toBe(4);
    expect(store.recorded(streamId).map((e) => e.type)).toEqual([
      'RtVmRegistered',
      'RtVmLatencyReported',
      'RtVmLatencyReported',
      'RtVmLatencyBudgetBreached',
    ]);
  });

  it('does not retry a command whose policy rejects on conflict', async () => {
    const store = await storeWithVm();
    interleaveOnce(store, [
      rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 10, budgetUs: 50, at: now }),
    ]);
    const policy = rejectOnConflict('test', (id) => reject('PLAN_REVISION_CONFLICT', `moved: ${id}`));
    await expect(run(store, new StartRtVm(ref), policy)).rejects.toMatchObject({
      code: 'PLAN_REVISION_CONFLICT',
      message: `moved: ${streamId}`,
    });
  });

  it('gives up with CONCURRENCY_CONFLICT after the policy’s attempts', async () => {
    const store = await storeWithVm();
    let interfering = false;
    store.beforeAppend = async (id) => {
      if (interfering) return; // the competing append itself
      interfering = true;
      const current = await store.readStream(id);
      await store.append(id, BigInt(current.length), [
        toStore(rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 1, budgetUs: 50, at: now })),
      ]);
      interfering = false;
    };
    await expect(
      run(store, new ReportRtVmLatency({ ...ref, worstCaseUs: 2 }), redecide('test', 3)),
    ).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      details: { streamId, attempts: 3 },
    });
  });

  it('with the caller’s expectedVersion: decides only at that version and never retries', async () => {
    const store = await storeWithVm();
    const meta: CommandMeta = { expectedVersion: 5 };
    await expect(run(store, new StartRtVm(ref, meta))).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      details: { expectedVersion: 5, actualVersion: 1 },
    });
    interleaveOnce(store, [
      rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 1, budgetUs: 50, at: now }),
    ]);
    await expect(
      run(store, new ReportRtVmLatency({ ...ref, worstCaseUs: 2 }, { expectedVersion: 1 })),
    ).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
    });
    const ok = await run(store, new StartRtVm(ref, { expectedVersion: 2 }));
    expect(ok.version).toBe(3);
  });

  it('is idempotent by command id: a repeat returns the first outcome without deciding again', async () => {
    const store = await storeWithVm();
    const meta = { commandId: 'cmd-1', correlationId: 'corr-1' };
    const first = await run(store, new ReportRtVmLatency({ ...ref, worstCaseUs: 70 }, meta));
    const again = await run(store, new ReportRtVmLatency({ ...ref, worstCaseUs: 70 }, meta));
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    const recorded = store.recorded(streamId).slice(1);
    expect(recorded.map((e) => [e.messageId, e.causationId, e.correlationId])).toEqual([
      ['cmd-1:0', 'cmd-1', 'corr-1'],
      ['cmd-1:1', 'cmd-1', 'corr-1'],
    ]);
    // A start that succeeded and is redelivered is answered with its outcome, not RTVM_NOT_STOPPED.
    await run(store, new StartRtVm(ref, { commandId: 'start-1' }));
    await expect(run(store, new StartRtVm(ref, { commandId: 'start-1' }))).resolves.toMatchObject({
      duplicate: true,
    });
  });

  it('appends nothing when the decision is empty', async () => {
    const store = await storeWithVm();
    const command = { type: 'Noop', meta: {} };
    const outcome = await executeCommand({
      store,
      clock: fixedClock(now),
      aggregate: () => new RtVmAggregate(ref.deviceId, ref.vmName),
      command,
      retry: redecide('test'),
      decide: () => [],
    });
    expect(outcome).toEqual({ streamId, version: 1, events: [], duplicate: false });
  });

  it('lets infrastructure errors through untouched', async () => {
    const store = await storeWithVm();
    const broken = new Error('connection reset');
    store.beforeAppend = () => Promise.reject(broken);
    await expect(run(store, new StartRtVm(ref))).rejects.toBe(broken);
  });
});

describe('isWrongExpectedVersion', () => {
  it('recognises the store’s error by its code', () => {
    expect(isWrongExpectedVersion(new InMemoryWrongExpectedVersionError('s', '1', 2n))).toBe(true);
    expect(isWrongExpectedVersion(Object.assign(new Error('x'), { code: 'WRONG_EXPECTED_VERSION' }))).toBe(
      true,
    );
    expect(isWrongExpectedVersion(Object.assign(new Error('x'), { code: 'DUPLICATE_MESSAGE_ID' }))).toBe(
      false,
    );
    expect(isWrongExpectedVersion(null)).toBe(false);
    expect(isWrongExpectedVersion('WRONG_EXPECTED_VERSION')).toBe(false);
  });
});

describe('executeCommand with a stream cache', () => {
  const runCached = (
    store: InMemoryEventStreamStore,
    cache: StreamCache,
    command: RtVmCommand,
    retry: RetryPolicy = redecide('test'),
  ) =>
    executeCommand({
      store,
      cache,
      clock: fixedClock(now),
      aggregate: () => new RtVmAggregate(ref.deviceId, ref.vmName),
      command,
      retry,
      decide: (state, context) => decideRtVm(command, state, context),
    });

  const countingReads = (store: InMemoryEventStreamStore) => {
    let reads = 0;
    const read = store.readStream.bind(store);
    store.readStream = (id, options) => {
      reads++;
      return read(id, options);
    };
    return () => reads;
  };

  it('decides on the cached state without reading the stream again', async () => {
    const store = await storeWithVm();
    const cache = new StreamCache();
    const reads = countingReads(store);
    await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 10 }));
    await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 90 }));
    await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 11 }));
    expect(reads()).toBe(1);
    expect((await store.readStream(streamId)).map((e) => e.type)).toEqual([
      'RtVmRegistered',
      'RtVmLatencyReported',
      'RtVmLatencyReported',
      'RtVmLatencyBudgetBreached',
      'RtVmLatencyReported',
    ]);
  });

  it('reloads when another writer moved the stream, even under a reject-on-conflict policy', async () => {
    const store = await storeWithVm();
    const cache = new StreamCache();
    await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 10 }));
    // another process starts the VM behind this cache's back
    await store.append(streamId, 2n, [toStore(rtVmEvent('RtVmStarted', { ...ref, at: now }))]);
    const never = rejectOnConflict('test', () => reject('CONCURRENCY_CONFLICT', 'not a race'));
    await expect(runCached(store, cache, new StartRtVm(ref), never)).rejects.toMatchObject({
      code: 'RTVM_NOT_STOPPED',
    });
    expect((await store.readStream(streamId)).map((e) => e.type)).toEqual([
      'RtVmRegistered',
      'RtVmLatencyReported',
      'RtVmStarted',
    ]);
  });

  it('answers a repeated command id with its first outcome, appending nothing', async () => {
    const store = await storeWithVm();
    const cache = new StreamCache();
    const meta: CommandMeta = { commandId: 'dev/msg-1/latency' };
    const first = await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 90 }, meta));
    const again = await runCached(store, cache, new ReportRtVmLatency({ ...ref, worstCaseUs: 90 }, meta));
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, events: first.events });
    expect(await store.readStream(streamId)).toHaveLength(3);
  });

  it('keeps the most recently used streams within its capacity', () => {
    const cache = new StreamCache(2);
    cache.set('a', { version: 1n, state: 'a' });
    cache.set('b', { version: 1n, state: 'b' });
    cache.get('a');
    cache.set('c', { version: 1n, state: 'c' });
    expect([cache.get('a')?.state, cache.get('b'), cache.get('c')?.state]).toEqual(['a', undefined, 'c']);
  });
});
