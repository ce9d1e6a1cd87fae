import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_FLEET_OPTIONS,
  credentialsFromFile,
  credentialsFromObject,
  parseDuration,
  resolveFleetOptions,
} from './options';

describe('options', () => {
  it('parses durations with units, bare numbers as seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('fills defaults and keeps what is given', () => {
    const o = resolveFleetOptions({ count: 3, seed: 9, credentialsFor: undefined });
    expect(o.count).toBe(3);
    expect(o.seed).toBe(9);
    expect(o.mqttUrl).toBe(DEFAULT_FLEET_OPTIONS.mqttUrl);
  });

  it('refuses nonsense with every problem named', () => {
    expect(() =>
      resolveFleetOptions({
        count: -1,
        reconnectProb: 2,
        idPrefix: '+bad',
        mqttUrl: 'http://x',
        telemetryBatch: 501,
      }),
    ).toThrow(/count.*idPrefix.*mqttUrl.*reconnectProb.*telemetryBatch/s);
  });

  it('reads credentials from an object or a JSON file', async () => {
    const fromObject = credentialsFromObject({ 'sim-00000': 's3cret' });
    expect(await fromObject('sim-00000')).toBe('s3cret');
    expect(await fromObject('sim-00001')).toBeUndefined();
    expect(() => credentialsFromObject(['x'])).toThrow(/JSON object/);
    expect(() => credentialsFromObject({ a: 1 })).toThrow(/not a string/);
    const dir = mkdtempSync(join(tmpdir(), 'fleet-sim-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(file, JSON.stringify({ 'dev-1': 'pw-1' }));
    expect(await credentialsFromFile(file)('dev-1')).toBe('pw-1');
    expect(() => credentialsFromFile(join(dir, 'missing.json'))).toThrow(/cannot read credentials/);
  });
});
