import { deleteVmRefusal, drawCommandFate, simulatedFailure } from './commands';
import { Rng } from './prng';

describe('simulated agent commands', () => {
  it('draws nothing with both rates at 0 (the seed replays as before)', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    expect(drawCommandFate(a, { commandFailureRate: 0, commandSilenceRate: 0 })).toBe('answer');
    expect(a.range(0, 1)).toBe(b.range(0, 1));
  });

  it('splits commands by the rates', () => {
    const rng = new Rng(1);
    const counts = { answer: 0, fail: 0, silent: 0 };
    for (let i = 0; i < 10_000; i++)
      counts[drawCommandFate(rng, { commandFailureRate: 0.2, commandSilenceRate: 0.1 })]++;
    expect(counts.fail / 10_000).toBeCloseTo(0.2, 1);
    expect(counts.silent / 10_000).toBeCloseTo(0.1, 1);
    expect(drawCommandFate(rng, { commandFailureRate: 1, commandSilenceRate: 0 })).toBe('fail');
    expect(drawCommandFate(rng, { commandFailureRate: 0, commandSilenceRate: 1 })).toBe('silent');
  });

  it('fails with the code an agent would use', () => {
    expect(simulatedFailure('stop-vm', { vmName: 'RT_VM0' })).toEqual({
      code: 'ACRNCTL_FAILED',
      message: 'acrnctl stop RT_VM0: the Device Model returned an error (exit status 1).',
    });
    expect(simulatedFailure('delete-vm', { vmName: 'X' }).message).toContain('acrnctl del X');
    expect(simulatedFailure('apply-plan', {}).code).toBe('INSTALL_FAILED');
    expect(simulatedFailure('shutdown', {}).code).toBe('AGENT_ERROR');
  });

  it('deletes only a stopped, post-launched, idle VM', () => {
    const vm = (state: 'stopped' | 'started', loadOrder = 'POST_LAUNCHED_VM', busy = false) => ({
      spec: { loadOrder },
      state,
      busy,
    });
    expect(deleteVmRefusal(vm('stopped'), 'A')).toBeNull();
    expect(deleteVmRefusal(undefined, 'A')?.code).toBe('VM_NOT_FOUND');
    expect(deleteVmRefusal(vm('started'), 'A')).toMatchObject({ code: 'VM_STATE_CONFLICT' });
    expect(deleteVmRefusal(vm('stopped', 'POST_LAUNCHED_VM', true), 'A')?.message).toContain('busy');
    expect(deleteVmRefusal(vm('stopped', 'PRE_LAUNCHED_VM'), 'A')?.code).toBe('VM_STATE_CONFLICT');
  });
});
