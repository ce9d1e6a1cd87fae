import { hypervisorDecider } from '../hypervisor/hypervisor.decider';
import { hypervisorEvent } from '../hypervisor/hypervisor.events';
import { REJECTION_HTTP_STATUS } from '../shared/rejection';
import { TEST_NOW, given } from '../testing';
import {
  ChangeRtVmLatencyBudget,
  DeleteRtVm,
  RecordRtVmPowerOff,
  RecordRtVmTripleFault,
  RegisterRtVm,
  ReportRtVmLatency,
  ReportRtVmState,
  ResetRtVm,
  StartRtVm,
  StopRtVm,
} from './rt-vm.commands';
import { rtVmDecider } from './rt-vm.decider';
import { rtVmEvent, type AcrnctlState, type RtVmEvent } from './rt-vm.events';

const deviceId = 'ipc-7';
const vmName = 'RT_VM1';
const ref = { deviceId, vmName };
const T0 = '2025-06-02T07:00:00.000Z';

const device = given(hypervisorDecider, [
  hypervisorEvent('DeviceProvisioned', {
    deviceId,
    deviceClass: 'industrial-pc',
    site: 'plant-2',
    tags: [],
    at: T0,
  }),
]).state();

const registered = (
  state: AcrnctlState = 'stopped',
  loadOrder: 'PRE_LAUNCHED_VM' | 'POST_LAUNCHED_VM' = 'POST_LAUNCHED_VM',
) =>
  rtVmEvent('RtVmRegistered', { ...ref, loadOrder, pinnedPcpus: [2, 3], latencyBudgetUs: 50, state, at: T0 });
const reported = (state: AcrnctlState, previousState: AcrnctlState) =>
  rtVmEvent('RtVmStateReported', { ...ref, state, previousState, at: T0 });
const started = rtVmEvent('RtVmStarted', { ...ref, at: T0 });
const stopRequested = rtVmEvent('RtVmStopRequested', { ...ref, at: T0 });
const resetRequested = rtVmEvent('RtVmResetRequested', { ...ref, at: T0 });

/** Given a registered post-launched RTVM in `state`. */
const vmIn = (state: AcrnctlState, ...more: RtVmEvent[]) => given(rtVmDecider, [registered(state), ...more]);

describe('RtVm', () => {
  describe('RegisterRtVm', () => {
    it('registers a post-launched RTVM as stopped (acrnctl add), with sorted pCPUs', () => {
      const state = given(rtVmDecider, [], { device })
        .when(
          new RegisterRtVm({
            ...ref,
            loadOrder: 'POST_LAUNCHED_VM',
            pinnedPcpus: [3, 2],
            latencyBudgetUs: 50,
          }),
        )
        .then([
          rtVmEvent('RtVmRegistered', {
            ...ref,
            loadOrder: 'POST_LAUNCHED_VM',
            pinnedPcpus: [2, 3],
            latencyBudgetUs: 50,
            state: 'stopped',
            at: TEST_NOW,
          }),
        ]);
      expect(state).toMatchObject({
        registered: true,
        state: 'stopped',
        pinnedPcpus: [2, 3],
        latency: { budgetUs: 50 },
      });
    });

    it('registers a pre-launched RTVM as started (it runs with the hypervisor)', () => {
      given(rtVmDecider, [], { device })
        .when(
          new RegisterRtVm({
            ...ref,
            loadOrder: 'PRE_LAUNCHED_VM',
            pinnedPcpus: [3, 7],
            latencyBudgetUs: 20,
          }),
        )
        .thenMatches([{ type: 'RtVmRegistered', data: { loadOrder: 'PRE_LAUNCHED_VM', state: 'started' } }]);
    });

    it('appends nothing for the same registration again; refuses a different one', () => {
      const base = { ...ref, loadOrder: 'POST_LAUNCHED_VM' as const, latencyBudgetUs: 80 };
      given(rtVmDecider, [registered()], { device })
        .when(new RegisterRtVm({ ...base, pinnedPcpus: [3, 2] }))
        .then([]);
      given(rtVmDecider, [registered()], { device })
        .when(new RegisterRtVm({ ...base, pinnedPcpus: [4] }))
        .thenRejects('RTVM_ALREADY_REGISTERED', { pinnedPcpus: [2, 3] });
    });

    it('refuses a device that is not provisioned', () => {
      given(rtVmDecider)
        .when(
          new RegisterRtVm({ ...ref, loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus: [2], latencyBudgetUs: 50 }),
        )
        .thenRejects('DEVICE_NOT_PROVISIONED', { deviceId });
    });

    it.each([
      [[], 'at least one pCPU'],
      [[2, 2], 'twice'],
      [[0, 1], 'pCPU 0'],
      [[-1], 'integers'],
    ])('refuses pinned pCPUs %j (%s)', (pinnedPcpus, problem) => {
      const rejection = given(rtVmDecider, [], { device })
        .when(new RegisterRtVm({ ...ref, loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus, latencyBudgetUs: 50 }))
        .thenRejects('INVALID_COMMAND');
      expect(rejection.message).toContain(problem);
    });

    it('refuses a VM name ACRN would not accept, and a non-positive budget', () => {
      const rejection = given(rtVmDecider, [], { device })
        .when(
          new RegisterRtVm({
            deviceId,
            vmName: 'a name that is far too long',
            loadOrder: 'POST_LAUNCHED_VM',
            pinnedPcpus: [2],
            latencyBudgetUs: 0,
          }),
        )
        .thenRejects('INVALID_COMMAND');
      expect(rejection.details.errors).toHaveLength(2);
    });
  });

  describe('StartRtVm (acrnctl start needs stopped)', () => {
    it('starts a stopped VM', () => {
      const state = vmIn('stopped')
        .when(new StartRtVm(ref))
        .then([rtVmEvent('RtVmStarted', { ...ref, at: TEST_NOW })]);
      expect(state.state).toBe('started');
    });

    it.each(['started', 'suspended', 'untracked', 'unknown'] as const)('refuses a %s VM', (current) => {
      const rejection = vmIn(current)
        .when(new StartRtVm(ref))
        .thenRejects('RTVM_NOT_STOPPED', {
          state: current,
          allowedStates: ['stopped'],
        });
      expect(rejection.httpStatus).toBe(409);
    });

    it('refuses a VM that was started already', () => {
      vmIn('stopped', started).when(new StartRtVm(ref)).thenRejects('RTVM_NOT_STOPPED');
    });
  });

  describe('StopRtVm (graceful for an RTVM)', () => {
    it.each(['started', 'suspended', 'untracked', 'unknown'] as const)(
      'requests a stop of a %s VM; the VM stays as it is until it powers off',
      (current) => {
        const state = vmIn(current)
          .when(new StopRtVm(ref))
          .then([rtVmEvent('RtVmStopRequested', { ...ref, at: TEST_NOW })]);
        expect(state).toMatchObject({
          state: current,
          pending: { operation: 'stop', requestedAt: TEST_NOW },
        });
      },
    );

    it('refuses a stopped VM (acrnctl: already stopped)', () => {
      vmIn('stopped').when(new StopRtVm(ref)).thenRejects('RTVM_ALREADY_STOPPED');
    });

    it('refuses --force: the Device Model ignores it for an RTVM', () => {
      const rejection = vmIn('started')
        .when(new StopRtVm({ ...ref, force: true }))
        .thenRejects('RTVM_FORCE_STOP_UNSUPPORTED');
      expect(rejection.httpStatus).toBe(422);
    });

    it('refuses a second stop while the first is pending', () => {
      vmIn('started', stopRequested)
        .when(new StopRtVm(ref))
        .thenRejects('RTVM_OPERATION_PENDING', { pending: 'stop' });
    });

    it('completes at the Device Model power-off event', () => {
      const state = vmIn('started', stopRequested)
        .when(new RecordRtVmPowerOff({ ...ref, at: '2025-06-02T08:00:03.000Z' }))
        .then([
          rtVmEvent('RtVmPoweredOff', { ...ref, previousState: 'started', at: '2025-06-02T08:00:03.000Z' }),
        ]);
      expect(state).toMatchObject({ state: 'stopped', pending: null });
    });
  });

  describe('ResetRtVm (acrnctl reset needs started or suspended)', () => {
    it.each(['started', 'suspended'] as const)('requests a reset of a %s VM', (current) => {
      const state = vmIn(current)
        .when(new ResetRtVm(ref))
        .then([rtVmEvent('RtVmResetRequested', { ...ref, at: TEST_NOW })]);
      expect(state.pending?.operation).toBe('reset');
    });

    it.each(['stopped', 'untracked', 'unknown'] as const)('refuses a %s VM', (current) => {
      vmIn(current)
        .when(new ResetRtVm(ref))
        .thenRejects('RTVM_NOT_RUNNING', { allowedStates: ['started', 'suspended'] });
    });

    it('keeps the reset pending through its power-off, and ends it with the reported state', () => {
      const poweredOff = rtVmEvent('RtVmPoweredOff', { ...ref, previousState: 'started', at: T0 });
      const afterPowerOff = vmIn('started', resetRequested)
        .when(new RecordRtVmPowerOff(ref))
        .then([rtVmEvent('RtVmPoweredOff', { ...ref, previousState: 'started', at: TEST_NOW })]);
      expect(afterPowerOff).toMatchObject({ state: 'stopped', pending: { operation: 'reset' } });
      vmIn('started', resetRequested, poweredOff)
        .when(new StartRtVm(ref))
        .thenRejects('RTVM_OPERATION_PENDING');
      const done = vmIn('started', resetRequested, poweredOff)
        .when(new ReportRtVmState({ ...ref, state: 'started' }))
        .then([reported('started', 'stopped')].map((e) => ({ ...e, data: { ...e.data, at: TEST_NOW } })));
      expect(done).toMatchObject({ state: 'started', pending: null });
    });
  });

  describe('DeleteRtVm (acrnctl del needs stopped)', () => {
    it('deletes a stopped VM; it may be registered again', () => {
      const state = vmIn('stopped')
        .when(new DeleteRtVm(ref))
        .then([rtVmEvent('RtVmDeleted', { ...ref, at: TEST_NOW })]);
      expect(state.registered).toBe(false);
      const deleted = rtVmEvent('RtVmDeleted', { ...ref, at: T0 });
      given(rtVmDecider, [registered(), deleted]).when(new StartRtVm(ref)).thenRejects('RTVM_NOT_REGISTERED');
      given(rtVmDecider, [registered(), deleted], { device })
        .when(
          new RegisterRtVm({ ...ref, loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus: [4], latencyBudgetUs: 30 }),
        )
        .thenMatches([{ type: 'RtVmRegistered', data: { pinnedPcpus: [4] } }]);
    });

    it.each(['started', 'suspended', 'untracked', 'unknown'] as const)('refuses a %s VM', (current) => {
      vmIn(current).when(new DeleteRtVm(ref)).thenRejects('RTVM_NOT_STOPPED');
    });
  });

  describe('every lifecycle command', () => {
    const commands = [new StartRtVm(ref), new StopRtVm(ref), new ResetRtVm(ref), new DeleteRtVm(ref)];

    it.each(commands.map((c) => [c.type, c]))('%s is refused for a pre-launched RTVM', (_type, command) => {
      given(rtVmDecider, [registered('started', 'PRE_LAUNCHED_VM')])
        .when(command)
        .thenRejects('RTVM_NOT_POST_LAUNCHED', { loadOrder: 'PRE_LAUNCHED_VM' });
    });

    it.each(commands.map((c) => [c.type, c]))(
      '%s is refused for an unregistered RTVM (404)',
      (_type, command) => {
        const rejection = given(rtVmDecider).when(command).thenRejects('RTVM_NOT_REGISTERED');
        expect(REJECTION_HTTP_STATUS[rejection.code]).toBe(404);
      },
    );

    it.each(commands.map((c) => [c.type, c]))('%s is refused while a stop is pending', (_type, command) => {
      vmIn('suspended', stopRequested).when(command).thenRejects('RTVM_OPERATION_PENDING');
    });

    it('refuses to act on a stream that belongs to another VM (stream-name collision)', () => {
      // rt-vm-a-b-c is both (device "a-b", VM "c") and (device "a", VM "b-c").
      given(rtVmDecider, [
        rtVmEvent('RtVmRegistered', { ...registered().data, deviceId: 'a-b', vmName: 'c' }),
      ])
        .when(new StartRtVm({ deviceId: 'a', vmName: 'b-c' }))
        .thenRejects('INVALID_COMMAND', { streamOwner: { deviceId: 'a-b', vmName: 'c' } });
      const deleted = rtVmEvent('RtVmDeleted', { deviceId: 'a-b', vmName: 'c', at: T0 });
      given(
        rtVmDecider,
        [rtVmEvent('RtVmRegistered', { ...registered().data, deviceId: 'a-b', vmName: 'c' }), deleted],
        { device },
      )
        .when(
          new RegisterRtVm({
            deviceId: 'a',
            vmName: 'b-c',
            loadOrder: 'POST_LAUNCHED_VM',
            pinnedPcpus: [2, 3],
            latencyBudgetUs: 50,
          }),
        )
        .thenRejects('INVALID_COMMAND', { streamOwner: { deviceId: 'a-b', vmName: 'c' } });
    });
  });

  describe('device facts', () => {
    it('ReportRtVmState records a changed state, and nothing for the same one', () => {
      vmIn('stopped', started)
        .when(new ReportRtVmState({ ...ref, state: 'suspended', at: T0 }))
        .then([reported('suspended', 'started')]);
      vmIn('started')
        .when(new ReportRtVmState({ ...ref, state: 'started' }))
        .then([]);
    });

    it('ReportRtVmState is authoritative: it ends a pending stop even when the VM kept running', () => {
      const state = vmIn('started', stopRequested)
        .when(new ReportRtVmState({ ...ref, state: 'started', at: T0 }))
        .then([reported('started', 'started')]);
      expect(state.pending).toBeNull();
    });

    it('ReportRtVmState refuses a state acrnctl does not have', () => {
      vmIn('started')
        .when(new ReportRtVmState({ ...ref, state: 'paused' as AcrnctlState }))
        .thenRejects('INVALID_COMMAND');
    });

    it('a power-off of a VM already known stopped appends nothing', () => {
      vmIn('stopped').when(new RecordRtVmPowerOff(ref)).then([]);
    });

    it('a triple fault stops the VM and counts the fault', () => {
      const first = vmIn('started')
        .when(new RecordRtVmTripleFault({ ...ref, at: T0 }))
        .then([
          rtVmEvent('RtVmTripleFaulted', { ...ref, previousState: 'started', tripleFaults: 1, at: T0 }),
        ]);
      expect(first).toMatchObject({ state: 'stopped', tripleFaults: 1, lastTripleFaultAt: T0 });
      const fault = rtVmEvent('RtVmTripleFaulted', {
        ...ref,
        previousState: 'started',
        tripleFaults: 1,
        at: T0,
      });
      vmIn('started', fault, started)
        .when(new RecordRtVmTripleFault(ref))
        .thenMatches([{ type: 'RtVmTripleFaulted', data: { tripleFaults: 2 } }]);
    });

    it('a triple fault ends a pending stop', () => {
      const state = vmIn('started', stopRequested)
        .when(new RecordRtVmTripleFault(ref))
        .thenMatches([{ type: 'RtVmTripleFaulted' }]);
      expect(state.pending).toBeNull();
    });

    it('facts about an unregistered VM are refused', () => {
      given(rtVmDecider)
        .when(new ReportRtVmState({ ...ref, state: 'started' }))
        .thenRejects('RTVM_NOT_REGISTERED');
      given(rtVmDecider).when(new RecordRtVmPowerOff(ref)).thenRejects('RTVM_NOT_REGISTERED');
      given(rtVmDecider).when(new RecordRtVmTripleFault(ref)).thenRejects('RTVM_NOT_REGISTERED');
      given(rtVmDecider)
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: 1 }))
        .thenRejects('RTVM_NOT_REGISTERED');
    });
  });

  describe('latency', () => {
    it('a report within the budget is only recorded', () => {
      const state = vmIn('started')
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: 42.5, at: T0 }))
        .then([rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 42.5, budgetUs: 50, at: T0 })]);
      expect(state.latency).toEqual({ budgetUs: 50, worstCaseUs: 42.5, reportedAt: T0, breaches: 0 });
    });

    it('a report exactly at the budget does not breach it', () => {
      vmIn('started')
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: 50 }))
        .thenMatches([{ type: 'RtVmLatencyReported' }]);
    });

    it('a report above the budget is recorded and breaches it', () => {
      const state = vmIn('started')
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: 73, at: T0 }))
        .then([
          rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs: 73, budgetUs: 50, at: T0 }),
          rtVmEvent('RtVmLatencyBudgetBreached', {
            ...ref,
            worstCaseUs: 73,
            budgetUs: 50,
            excessUs: 23,
            at: T0,
          }),
        ]);
      expect(state.latency.breaches).toBe(1);
    });

    it('refuses a negative or non-finite latency', () => {
      vmIn('started')
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: -1 }))
        .thenRejects('INVALID_COMMAND');
      vmIn('started')
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: Number.NaN }))
        .thenRejects('INVALID_COMMAND');
    });

    it('changes the budget, and later reports are compared with the new one', () => {
      const changed = rtVmEvent('RtVmLatencyBudgetChanged', {
        ...ref,
        budgetUs: 100,
        previousBudgetUs: 50,
        at: TEST_NOW,
      });
      vmIn('started')
        .when(new ChangeRtVmLatencyBudget({ ...ref, budgetUs: 100 }))
        .then([changed]);
      vmIn('started', changed)
        .when(new ReportRtVmLatency({ ...ref, worstCaseUs: 73 }))
        .thenMatches([{ type: 'RtVmLatencyReported', data: { budgetUs: 100 } }]);
      vmIn('started')
        .when(new ChangeRtVmLatencyBudget({ ...ref, budgetUs: 50 }))
        .then([]);
      vmIn('started')
        .when(new ChangeRtVmLatencyBudget({ ...ref, budgetUs: 0 }))
        .thenRejects('INVALID_COMMAND');
      given(rtVmDecider)
        .when(new ChangeRtVmLatencyBudget({ ...ref, budgetUs: 10 }))
        .thenRejects('RTVM_NOT_REGISTERED');
    });
  });
});
