import type { ProjectedEvent } from '../framework/projection';
import { foldInventory } from './inventory.fold';
import { DEVICE_PATCH_FIELDS } from './inventory.projection';

const ev = (streamPosition: number, type: string, data: Record<string, unknown>): ProjectedEvent => ({
  id: `hypervisor-d1:${streamPosition}`,
  type,
  streamId: 'hypervisor-d1',
  streamPosition,
  logPosition: `1/${streamPosition}`,
  time: '2026-01-01T00:00:00.000Z',
  data: { deviceId: 'd1', at: '2026-01-01T00:00:00.000Z', ...data },
  key: 'd1',
});

describe('foldInventory: device attributes', () => {
  it('keeps the full map of the latest DeviceAttributesChanged as the attributes column', () => {
    const { devices } = foldInventory([
      ev(1, 'DeviceProvisioned', { deviceClass: 'vehicle', site: 's1', tags: [] }),
      ev(2, 'DeviceAttributesChanged', {
        attributes: { a: '1', b: '2' },
        set: { a: '1', b: '2' },
        removed: [],
      }),
      ev(3, 'DeviceAttributesChanged', { attributes: { b: '2' }, set: {}, removed: ['a'] }),
    ]);
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ attributes: { b: '2' }, hypervisor_stream_version: 3 });
    expect(DEVICE_PATCH_FIELDS).toContain('attributes');
  });

  it('leaves the column alone in batches without attribute changes', () => {
    const { devices } = foldInventory([ev(4, 'DeviceLabelsUpdated', { site: 's2', tags: ['x'] })]);
    expect(devices[0]).not.toHaveProperty('attributes');
  });
});
