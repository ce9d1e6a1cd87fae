import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ArtifactError } from './artifact-store';
import { LocalFolderArtifactStore } from './local-folder-artifact-store';
import { UrlSigner, loadOrCreateUrlSecret } from './signed-url';

const sha = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');
const chunks = (data: Buffer, size = 1000) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

describe('LocalFolderArtifactStore', () => {
  let dir: string;
  let store: LocalFolderArtifactStore;
  const leftovers = () => fs.readdirSync(path.join(dir, 'tmp'));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-artifacts-'));
    store = new LocalFolderArtifactStore(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores by sha256 with both hashes, once for the same bytes, and reads ranges back', async () => {
    const data = randomBytes(10_000);
    const first = await store.put(chunks(data), { maxBytes: 1e6 });
    expect(first).toEqual({
      sha256: sha('sha256', data),
      sha512: sha('sha512', data),
      length: 10_000,
      stored: 'created',
    });
    expect((await store.put(chunks(data), { maxBytes: 1e6 })).stored).toBe('existing');
    expect(fs.readdirSync(path.join(dir, 'sha256'))).toEqual([first.sha256]);
    expect(await store.stat(first.sha256)).toEqual({ length: 10_000 });
    expect(await store.stat('0'.repeat(64))).toBeNull();
    const part = await text(store.read(first.sha256, { start: 5, end: 9 }).setEncoding('latin1'));
    expect(Buffer.from(part, 'latin1').equals(data.subarray(5, 10))).toBe(true);
  });

  it('refuses a declared hash or length that differs, and too many bytes, leaving nothing behind', async () => {
    const data = randomBytes(5000);
    const refused = async (promise: Promise<unknown>) =>
      ((await promise.catch((e: unknown) => e)) as ArtifactError).code;
    expect(
      await refused(store.put(chunks(data), { maxBytes: 1e6, expected: { sha256: 'a'.repeat(64) } })),
    ).toBe('ARTIFACT_HASH_MISMATCH');
    expect(await refused(store.put(chunks(data), { maxBytes: 1e6, expected: { length: 4999 } }))).toBe(
      'ARTIFACT_LENGTH_MISMATCH',
    );
    expect(await refused(store.put(chunks(data), { maxBytes: 4096 }))).toBe('ARTIFACT_TOO_LARGE');
    const broken = new Readable({
      read() {
        this.push(data.subarray(0, 100));
        this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      },
    });
    expect(await refused(store.put(broken, { maxBytes: 1e6 }))).toBe('UPLOAD_INCOMPLETE');
    expect(leftovers()).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'sha256'))).toEqual([]);
  });

  it('removes uploads a crash left in tmp/ when it starts', () => {
    fs.writeFileSync(path.join(dir, 'tmp', 'x.part'), 'half');
    new LocalFolderArtifactStore(dir);
    expect(leftovers()).toEqual([]);
  });
});

describe('UrlSigner', () => {
  const signer = new UrlSigner(Buffer.alloc(32, 7));
  const parts = { path: '/api/v1/artifact-downloads/abc', expires: 2_000, deviceId: 'veh-1' };

  it('accepts its own link until it expires; any change is a bad signature', () => {
    const url = signer.sign(parts);
    const sig = new URL(url, 'http://x').searchParams.get('sig') as string;
    expect(signer.check(parts, sig, 1_999)).toEqual({ ok: true });
    expect(signer.check(parts, sig, 2_001)).toEqual({ ok: false, code: 'URL_EXPIRED' });
    expect(signer.check({ ...parts, expires: 3_000 }, sig, 1_000)).toEqual({
      ok: false,
      code: 'URL_SIGNATURE_INVALID',
    });
    expect(signer.check({ ...parts, deviceId: 'veh-2' }, sig, 1_000)).toEqual({
      ok: false,
      code: 'URL_SIGNATURE_INVALID',
    });
    expect(signer.check({ ...parts, path: '/api/v1/artifact-downloads/abd' }, sig, 1_000).ok).toBe(false);
    expect(signer.check(parts, 'short', 1_000).ok).toBe(false);
  });

  it('generates its secret once into the data dir', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-secret-'));
    try {
      const a = loadOrCreateUrlSecret(null, dir);
      expect(a.length).toBe(32);
      expect(loadOrCreateUrlSecret(null, dir).equals(a)).toBe(true);
      expect(fs.statSync(path.join(dir, 'artifact-url-secret')).mode & 0o777).toBe(0o600);
      expect(loadOrCreateUrlSecret('x'.repeat(40), dir).toString()).toBe('x'.repeat(40));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
