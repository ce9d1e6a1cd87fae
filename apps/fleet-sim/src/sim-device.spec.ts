import {
  AGENT_ERROR_CODES,
  DEVICE_MESSAGE_SCHEMAS,
  birthPayloadSchema,
  healthPayloadSchema,
  telemetryPayloadSchema,
} from '@hyperfleet/contracts';
import { ConnectLimiter } from './connect-limiter';
import { deviceIdFor, generateDeviceSpec } from './device-spec';
import { latencyWindow } from './latency';
import { resolveFleetOptions } from './options';
import { Rng } from './prng';
import { SimDevice } from './sim-device';
import { FleetStats } from './stats';

/** A device that is never connected: for the payloads it builds. */
function device(index: number): SimDevice {
  return new SimDevice(generateDeviceSpec(5, index, deviceIdFor('unit', index)), {
    options: resolveFleetOptions({ seed: 5 }),
    stats: new FleetStats(),
    limiter: new ConnectLimiter(0),
    emit: () => undefined,
  });
}

describe('SimDevice payloads', () => {
  const devices = Array.from({ length: 60 }, (_, i) => device(i));

  it('builds births that the gateway decodes', () => {
    for (const d of devices) {
      const birth = d.birthPayload();
      const parsed = birthPayloadSchema.safeParse(birth);
      if (!parsed.success) throw new Error(`${d.deviceId}: ${parsed.error.message}`);
      expect(birth.serviceVm.name).toBe('Service_VM');
      expect(birth.desiredVersion).toBe(0);
      for (const vm of birth.vms) {
        expect(vm.state).toBe(vm.loadOrder === 'PRE_LAUNCHED_VM' ? 'untracked' : 'started');
      }
      const message = {
        protocolVersion: 1,
        msgId: 'm-1',
        epoch: 1,
        seq: 0,
        sentAt: new Date().toISOString(),
        payload: birth,
      };
      expect(DEVICE_MESSAGE_SCHEMAS.birth.safeParse(message).success).toBe(true);
    }
  });

  it('builds health and telemetry within the schemas and limits', () => {
    for (const d of devices) {
      const health = d['healthPayload']();
      const h = healthPayloadSchema.safeParse(health);
      if (!h.success) throw new Error(`${d.deviceId}: ${h.error.message}`);
      expect(health.rtVms.length).toBeGreaterThanOrEqual(1);
      const samples = d['generateSamples'](200, 10_000);
      const t = telemetryPayloadSchema.safeParse({ samples, droppedSamples: 0 });
      if (!t.success) throw new Error(`${d.deviceId}: ${t.error.message}`);
      expect(Buffer.byteLength(JSON.stringify({ samples })) / 1024).toBeLessThan(64);
      expect(samples.some((s) => s.rtLatencyUs !== undefined)).toBe(true);
    }
  });

  it('regresses latency by the factor', () => {
    const shape = { minUs: 2, avgUs: 4, worstUs: 12 };
    const healthy = latencyWindow(new Rng(1), shape, 1, 60_000);
    const regressed = latencyWindow(new Rng(1), shape, 3, 60_000);
    expect(regressed.worstCaseLatencyUs).toBeCloseTo(healthy.worstCaseLatencyUs * 3, 0);
    expect(regressed.avgLatencyUs).toBeCloseTo(healthy.avgLatencyUs * 3, 0);
  });

  it('uses the agent error codes the contracts list', () => {
    expect(Object.keys(AGENT_ERROR_CODES)).toEqual(
      expect.arrayContaining([
        'VM_NOT_FOUND',
        'VM_STATE_CONFLICT',
        'FORCE_STOP_UNSUPPORTED',
        'SUPERSEDED',
        'BOOT_FAILED',
      ]),
    );
  });
});

describe('latencyWindow', () => {
  it('is a consistent cyclictest summary', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 200; i++) {
      const shape = { minUs: rng.int(1, 3), avgUs: 3 + rng.range(0, 3), worstUs: 10 + rng.range(0, 30) };
      const samples = rng.int(1, 120_000);
      const w = latencyWindow(rng, shape, rng.pick([1, 1, 2.5]), samples);
      expect(w.minLatencyUs).toBeLessThanOrEqual(w.avgLatencyUs);
      expect(w.avgLatencyUs).toBeLessThanOrEqual(w.worstCaseLatencyUs);
      expect(w.jitterUs).toBeCloseTo(w.worstCaseLatencyUs - w.minLatencyUs, 5);
      expect(w.histogram.counts.reduce((s, c) => s + c, 0) + w.histogram.overflow).toBe(samples);
      expect(w.histogram.counts.every((c) => Number.isInteger(c) && c >= 0)).toBe(true);
      expect(w.histogram.counts.length).toBeLessThanOrEqual(256);
    }
  });
});
