import { TEST_NOW, given } from '../testing';
import { SetDeviceAttributes } from './hypervisor.commands';
import { MAX_DEVICE_ATTRIBUTES, hypervisorDecider } from './hypervisor.decider';
import { hypervisorEvent } from './hypervisor.events';

const deviceId = 'truck-0042';
const provisioned = hypervisorEvent('DeviceProvisioned', {
  deviceId,
  deviceClass: 'vehicle',
  site: 'depot-north',
  tags: [],
  at: '2025-06-01T00:00:00.000Z',
});
const changed = (
  attributes: Record<string, string>,
  set: Record<string, string> = attributes,
  removed: string[] = [],
) => hypervisorEvent('DeviceAttributesChanged', { deviceId, attributes, set, removed, at: TEST_NOW });

describe('Hypervisor: SetDeviceAttributes', () => {
  it('sets attributes, recording the full map after, what was set and what was removed', () => {
    const state = given(hypervisorDecider, [provisioned])
      .when(new SetDeviceAttributes({ deviceId, set: { owner: 'ops-north', 'rack.position': 'b3' } }))
      .then([changed({ owner: 'ops-north', 'rack.position': 'b3' })]);
    expect(state.attributes).toEqual({ owner: 'ops-north', 'rack.position': 'b3' });
  });

  it('removes and overwrites; a key in both remove and set ends up set', () => {
    const before = [provisioned, changed({ a: '1', b: '2', c: '3' })];
    const state = given(hypervisorDecider, before)
      .when(new SetDeviceAttributes({ deviceId, set: { b: '20', c: '3', d: '' }, remove: ['a', 'b', 'zz'] }))
      .then([changed({ b: '20', c: '3', d: '' }, { b: '20', d: '' }, ['a'])]);
    expect(state.attributes).toEqual({ b: '20', c: '3', d: '' });
  });

  it('appends nothing when the attributes are already so (a repeat is harmless)', () => {
    given(hypervisorDecider, [provisioned, changed({ owner: 'ops' })])
      .when(new SetDeviceAttributes({ deviceId, set: { owner: 'ops' }, remove: ['gone'] }))
      .then([]);
    given(hypervisorDecider, [provisioned]).when(new SetDeviceAttributes({ deviceId })).then([]);
  });

  it.each([
    ['an upper-case key', { set: { Owner: 'x' } }],
    ['a key starting with a digit', { set: { '1st': 'x' } }],
    ['a key of 65 characters', { set: { ['k'.repeat(65)]: 'x' } }],
    ['a key with a space', { set: { 'rack position': 'x' } }],
    ['a value of 257 characters', { set: { owner: 'x'.repeat(257) } }],
    ['a value that is not a string', { set: { owner: 42 as unknown as string } }],
    ['set that is a list', { set: ['owner'] as unknown as Record<string, string> }],
    ['remove with a bad key', { remove: ['Bad Key'] }],
    ['remove that is not a list', { remove: 'owner' as unknown as string[] }],
  ])('rejects %s with INVALID_DEVICE_ATTRIBUTES', (_what, props) => {
    const rejection = given(hypervisorDecider, [provisioned])
      .when(new SetDeviceAttributes({ deviceId, ...props }))
      .thenRejects('INVALID_DEVICE_ATTRIBUTES', { deviceId });
    expect(rejection.details.errors).toHaveLength(1);
  });

  it('accepts the longest key and value', () => {
    const key = `k${'a'.repeat(63)}`;
    given(hypervisorDecider, [provisioned])
      .when(new SetDeviceAttributes({ deviceId, set: { [key]: 'v'.repeat(256) } }))
      .then([changed({ [key]: 'v'.repeat(256) })]);
  });

  it(`allows ${MAX_DEVICE_ATTRIBUTES} attributes and rejects one more with DEVICE_ATTRIBUTE_LIMIT_EXCEEDED`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_DEVICE_ATTRIBUTES }, (_, i) => [`k${i}`, 'v']));
    const full = given(hypervisorDecider, [provisioned]).when(
      new SetDeviceAttributes({ deviceId, set: many }),
    );
    expect(full.decision()).toHaveLength(1);
    const atLimit = [provisioned, changed(many)];
    given(hypervisorDecider, atLimit)
      .when(new SetDeviceAttributes({ deviceId, set: { extra: 'v' } }))
      .thenRejects('DEVICE_ATTRIBUTE_LIMIT_EXCEEDED', { limit: MAX_DEVICE_ATTRIBUTES, attributes: 65 });
    // Removing one makes room in the same command.
    given(hypervisorDecider, atLimit)
      .when(new SetDeviceAttributes({ deviceId, set: { extra: 'v' }, remove: ['k0'] }))
      .thenMatches([{ type: 'DeviceAttributesChanged', data: { set: { extra: 'v' }, removed: ['k0'] } }]);
  });

  it('rejects an unprovisioned device and a bad device id', () => {
    given(hypervisorDecider)
      .when(new SetDeviceAttributes({ deviceId, set: { owner: 'x' } }))
      .thenRejects('DEVICE_NOT_PROVISIONED');
    given(hypervisorDecider, [provisioned])
      .when(new SetDeviceAttributes({ deviceId: ' bad id', set: { owner: 'x' } }))
      .thenRejects('INVALID_COMMAND');
  });
});
