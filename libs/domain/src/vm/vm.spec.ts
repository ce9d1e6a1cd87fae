import { RegisterVm, ReportVmState, RecordVmTripleFault } from './vm.commands';
import { decideVm, evolveVm, initialVmState, type VmState } from './vm.decider';
import type { VmEvent } from './vm.events';
import type { HypervisorState } from '../hypervisor/hypervisor.decider';

const NOW = '2025-02-03T08:00:00.000Z';
const device = { provisioned: true } as HypervisorState;
const ctx = { now: NOW, device };
const ref = { deviceId: 'ipc-0042', vmName: 'HMI_VM' };

function run(
  state: VmState,
  ...commands: Parameters<typeof decideVm>[0][]
): { state: VmState; events: VmEvent[] } {
  const events: VmEvent[] = [];
  for (const c of commands) {
    const d = decideVm(c, state, ctx);
    if (!Array.isArray(d)) throw new Error(JSON.stringify(d));
    for (const e of d) state = evolveVm(state, e);
    events.push(...d);
  }
  return { state, events };
}

const standard = new RegisterVm({
  ...ref,
  vmType: 'STANDARD_VM',
  loadOrder: 'POST_LAUNCHED_VM',
  pcpus: [2],
  imageVersion: null,
  state: 'stopped',
});

describe('Vm (a VM that is not an RTVM)', () => {
  it('registers a standard VM from the birth and records acrnctl states', () => {
    const { state, events } = run(
      initialVmState(),
      standard,
      new ReportVmState({ ...ref, state: 'started' }),
    );
    expect(events.map((e) => e.type)).toEqual(['VmRegistered', 'VmStateReported']);
    expect(state).toMatchObject({ registered: true, vmType: 'STANDARD_VM', state: 'started' });
  });

  it('a repeated birth with the same facts only reports a changed state', () => {
    const first = run(initialVmState(), standard);
    expect(run(first.state, standard).events).toEqual([]);
    const again = new RegisterVm({ ...standard.props, state: 'started' });
    expect(run(first.state, again).events.map((e) => e.type)).toEqual(['VmStateReported']);
  });

  it('a VM its birth did not announce: VM_NOT_REGISTERED', () => {
    const d = decideVm(new ReportVmState({ ...ref, state: 'started' }), initialVmState(), ctx);
    expect(d).toMatchObject({ code: 'VM_NOT_REGISTERED' });
  });

  it('the Service VM is listed as untracked; a vm-state for it is SERVICE_VM_NOT_ACRNCTL_MANAGED', () => {
    const svc = { deviceId: 'ipc-0042', vmName: 'Service_VM' };
    const { state } = run(
      initialVmState(),
      new RegisterVm({ ...svc, vmType: 'STANDARD_VM', loadOrder: 'SERVICE_VM', pcpus: [], state: 'started' }),
    );
    expect(state.state).toBe('untracked');
    expect(decideVm(new ReportVmState({ ...svc, state: 'stopped' }), state, ctx)).toMatchObject({
      code: 'SERVICE_VM_NOT_ACRNCTL_MANAGED',
    });
  });

  it('a pre-launched VM without a reported state is untracked; Device Model events still land', () => {
    const pre = new RegisterVm({ ...ref, vmType: 'STANDARD_VM', loadOrder: 'PRE_LAUNCHED_VM', pcpus: [3] });
    const { state, events } = run(initialVmState(), pre, new RecordVmTripleFault(ref));
    expect(events[0]).toMatchObject({ data: { state: 'untracked' } });
    expect(state).toMatchObject({ state: 'stopped', tripleFaults: 1 });
  });

  it('needs a provisioned device and no RT invariants (pCPU 0 is fine)', () => {
    const d = decideVm(standard, initialVmState(), { now: NOW });
    expect(d).toMatchObject({ code: 'DEVICE_NOT_PROVISIONED' });
    const zero = new RegisterVm({ ...standard.props, pcpus: [0] });
    expect(Array.isArray(decideVm(zero, initialVmState(), ctx))).toBe(true);
  });
});
