import { parseDependency, parsePlanRef } from './releases';

describe('fleetctl releases arguments', () => {
  it('reads plan revisions and dependencies', () => {
    expect(parsePlanRef('tgl-hybrid@2')).toEqual({ planId: 'tgl-hybrid', revision: 2 });
    expect(() => parsePlanRef('tgl-hybrid')).toThrow(/plan-id@revision/);
    expect(parseDependency('hypervisor>=3.2')).toEqual({ target: 'hypervisor', min: '3.2' });
    expect(parseDependency('rt-vm:RT_VM0>=1.0,<=1.9')).toEqual({
      target: 'rt-vm',
      vmName: 'RT_VM0',
      min: '1.0',
      max: '1.9',
    });
    expect(() => parseDependency('hypervisor 3.2')).toThrow(/not a dependency/);
  });
});
