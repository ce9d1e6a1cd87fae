import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildImageTargets,
  buildRoot,
  parseRoot,
  parseTargets,
  tufExpiry,
  verifyRole,
  type CatalogueRelease,
} from './image-repository';
import { buildDirectorTargets } from './director';
import { generateRoleKey } from './keys';
import { initKeySet, keyFile, readRoleKey } from './offline-keys';

const image = (imageId: string, extra: Partial<CatalogueRelease['images'][number]> = {}) => ({
  imageId,
  target: 'hypervisor',
  vmName: null,
  boardName: 'tgl-i7-1185gre',
  plan: { planId: 'tgl-hybrid', revision: 1 },
  fileName: 'acrn.bin',
  version: '3.2.0',
  length: 1234,
  sha256: 'a'.repeat(64),
  sha512: 'b'.repeat(128),
  uploaded: true,
  ...extra,
});
const release = (releaseId: string, status: string): CatalogueRelease => ({
  releaseId,
  version: '2025.6.0',
  status,
  compatibility: { boardNames: ['tgl-i7-1185gre'], deviceClasses: ['vehicle'] },
  images: [image('hv')],
});

describe('Image repository metadata (TUF via @tufjs/models)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-uptane-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keys init writes offline and online keys (0600, never overwritten) and a self-signed root', () => {
    const { keys, root } = initKeySet(dir, { rootExpiresDays: 365, now: new Date('2026-01-01T00:00:00Z') });
    expect(fs.statSync(keyFile(dir, 'root')).mode & 0o777).toBe(0o600);
    expect(keyFile(dir, 'targets')).toContain(`${path.sep}offline${path.sep}`);
    expect(keyFile(dir, 'timestamp')).toContain(`${path.sep}online${path.sep}`);
    expect(readRoleKey(dir, 'targets').keyId).toBe(keys.targets.keyId);
    const written = parseRoot(JSON.parse(fs.readFileSync(path.join(dir, '1.root.json'), 'utf8')));
    expect(written.signed.expires).toBe('2027-01-01T00:00:00Z');
    expect(() => verifyRole(written, 'root', written)).not.toThrow();
    expect(written.signed.roles.targets.keyIDs).toEqual([keys.targets.keyId]);
    expect(root.signed.version).toBe(1);
    expect(() => initKeySet(dir, { rootExpiresDays: 365 })).toThrow(/never overwritten/);
  });

  it('targets name every image of published and deprecated releases, never drafts or yanked ones', () => {
    const { keys, root } = initKeySet(dir, { rootExpiresDays: 365 });
    const targets = buildImageTargets(
      [
        release('june', 'published'),
        release('may', 'deprecated'),
        release('draft', 'draft'),
        release('bad', 'yanked'),
      ],
      { version: 1, expires: tufExpiry(new Date(Date.now() + 86_400_000)), signWith: [keys.targets] },
    );
    const json = JSON.parse(JSON.stringify(targets.toJSON())) as {
      signed: { targets: Record<string, { length: number; hashes: object; custom: object }> };
    };
    expect(Object.keys(json.signed.targets).sort()).toEqual(['june/hv/acrn.bin', 'may/hv/acrn.bin']);
    expect(json.signed.targets['june/hv/acrn.bin']).toMatchObject({
      length: 1234,
      hashes: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) },
      custom: {
        releaseId: 'june',
        hardwareIds: ['tgl-i7-1185gre'],
        partitionPlan: { planId: 'tgl-hybrid', revision: 1 },
      },
    });
    // A device's verifier: parsed from JSON, checked against root.
    expect(() => verifyRole(root, 'targets', parseTargets(json))).not.toThrow();
  });

  it('a changed target or a signature by a key root does not trust is refused', () => {
    const { keys, root } = initKeySet(dir, { rootExpiresDays: 365 });
    const signed = buildImageTargets([release('june', 'published')], {
      version: 1,
      expires: tufExpiry(new Date(Date.now() + 86_400_000)),
      signWith: [keys.targets],
    });
    const json = JSON.parse(JSON.stringify(signed.toJSON())) as {
      signed: { targets: Record<string, { length: number }> };
    };
    json.signed.targets['june/hv/acrn.bin'].length = 99_999_999; // endless data
    expect(() => verifyRole(root, 'targets', parseTargets(json))).toThrow(/signed by 0\/1 keys/);

    const rogue = buildImageTargets([release('june', 'published')], {
      version: 2,
      expires: tufExpiry(new Date(Date.now() + 86_400_000)),
      signWith: [generateRoleKey()],
    });
    expect(() => verifyRole(root, 'targets', rogue)).toThrow(/signed by 0\/1 keys/);
    // The online timestamp key cannot sign targets either (a compromised online key without the offline ones).
    const byTimestamp = buildImageTargets([release('june', 'published')], {
      version: 2,
      expires: tufExpiry(new Date(Date.now() + 86_400_000)),
      signWith: [keys.timestamp],
    });
    expect(() => verifyRole(root, 'targets', byTimestamp)).toThrow();
  });

  it('rotates root: version 2 is signed by the old and the new root key, with thresholds', () => {
    const { keys, root } = initKeySet(dir, { rootExpiresDays: 365 });
    const newRoot = generateRoleKey();
    const second = buildRoot({
      version: 2,
      expires: tufExpiry(new Date(Date.now() + 365 * 86_400_000)),
      keys: {
        root: [newRoot],
        targets: [keys.targets],
        snapshot: [keys.snapshot],
        timestamp: [keys.timestamp],
      },
      signWith: [keys.root, newRoot],
    });
    expect(() => verifyRole(root, 'root', second)).not.toThrow(); // trusted by the previous root
    expect(() => verifyRole(second, 'root', second)).not.toThrow(); // and by itself
    const onlyNew = buildRoot({
      version: 2,
      expires: tufExpiry(new Date(Date.now() + 365 * 86_400_000)),
      keys: {
        root: [newRoot],
        targets: [keys.targets],
        snapshot: [keys.snapshot],
        timestamp: [keys.timestamp],
      },
      signWith: [newRoot],
    });
    expect(() => verifyRole(root, 'root', onlyNew)).toThrow();
  });
});

describe('Director targets', () => {
  it('names the images one device should install, bound to the device and its board, signed by the Director key', () => {
    const directorKey = generateRoleKey();
    const root = buildRoot({
      version: 1,
      expires: tufExpiry(new Date(Date.now() + 86_400_000)),
      keys: {
        root: [directorKey],
        targets: [directorKey],
        snapshot: [directorKey],
        timestamp: [directorKey],
      },
      signWith: [directorKey],
    });
    const md = buildDirectorTargets(
      { deviceId: 'veh-1', hardwareId: 'tgl-i7-1185gre' },
      [{ path: 'june/hv/acrn.bin', length: 1234, sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) }],
      { version: 7, expires: tufExpiry(new Date(Date.now() + 3_600_000)), signWith: directorKey },
    );
    expect(() => verifyRole(root, 'targets', md)).not.toThrow();
    expect(md.signed.targets['june/hv/acrn.bin'].custom).toEqual({
      ecuIdentifier: 'veh-1',
      hardwareId: 'tgl-i7-1185gre',
    });
  });
});
