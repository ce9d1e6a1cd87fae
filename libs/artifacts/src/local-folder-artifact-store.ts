/**
 * The artifact store in a local folder (HF_DATA_DIR/artifacts by default):
 *   tmp/<random>.part      an upload in progress (removed on any failure; leftovers removed at start)
 *   sha256/<hex>           stored artifacts, read-only, named by their sha256
 * A finished upload is renamed into place (atomic on one file system), so a reader never sees half a file.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactError,
  SHA256_HEX,
  type ArtifactStore,
  type ByteRange,
  type PutArtifactOptions,
  type PutArtifactResult,
} from './artifact-store';

/** Hashes (sha256 and sha512) and counts what passes through; fails as soon as `maxBytes` is exceeded. */
class HashingCounter extends Transform {
  readonly sha256 = createHash('sha256');
  readonly sha512 = createHash('sha512');
  length = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.length += chunk.length;
    if (this.length > this.maxBytes) {
      callback(
        new ArtifactError('ARTIFACT_TOO_LARGE', `The upload exceeds the limit of ${this.maxBytes} bytes`, {
          maxBytes: this.maxBytes,
        }),
      );
      return;
    }
    this.sha256.update(chunk);
    this.sha512.update(chunk);
    callback(null, chunk);
  }
}

export class LocalFolderArtifactStore implements ArtifactStore {
  private readonly tmpDir: string;
  private readonly objectsDir: string;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
    this.objectsDir = path.join(root, 'sha256');
    fs.mkdirSync(this.tmpDir, { recursive: true });
    fs.mkdirSync(this.objectsDir, { recursive: true });
    // Uploads cut short by a crash of this process: nothing refers to them.
    for (const name of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, name), { force: true });
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.objectsDir, sha256);
  }

  async put(
    source: Readable | AsyncIterable<Uint8Array>,
    options: PutArtifactOptions,
  ): Promise<PutArtifactResult> {
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const counter = new HashingCounter(options.maxBytes);
    try {
      // Large writes keep the disk busy without holding more than a few chunks in memory.
      await pipeline(source, counter, fs.createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 }));
      const digest = {
        sha256: counter.sha256.digest('hex'),
        sha512: counter.sha512.digest('hex'),
        length: counter.length,
      };
      const expected = options.expected ?? {};
      if (expected.length !== undefined && expected.length !== digest.length) {
        throw new ArtifactError(
          'ARTIFACT_LENGTH_MISMATCH',
          `The upload is ${digest.length} bytes; ${expected.length} were declared`,
          { declared: expected.length, received: digest.length },
        );
      }
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const declared = expected[algorithm];
        if (declared !== undefined && declared.toLowerCase() !== digest[algorithm]) {
          throw new ArtifactError(
            'ARTIFACT_HASH_MISMATCH',
            `The upload's ${algorithm} is ${digest[algorithm]}; ${declared} was declared`,
            { algorithm, declared, received: digest[algorithm] },
          );
        }
      }
      const target = this.pathOf(digest.sha256);
      if (fs.existsSync(target)) {
        await fs.promises.rm(tmp, { force: true });
        return { ...digest, stored: 'existing' };
      }
      await fs.promises.chmod(tmp, 0o444);
      await fs.promises.rename(tmp, target);
      return { ...digest, stored: 'created' };
    } catch (error) {
      await fs.promises.rm(tmp, { force: true });
      if (error instanceof ArtifactError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR') {
        throw new ArtifactError('UPLOAD_INCOMPLETE', 'The upload ended before all of its bytes arrived', {
          received: counter.length,
        });
      }
      throw error;
    }
  }

  async stat(sha256: string): Promise<{ length: number } | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    try {
      const s = await fs.promises.stat(this.pathOf(sha256));
      return s.isFile() ? { length: s.size } : null;
    } catch {
      return null;
    }
  }

  read(sha256: string, range?: ByteRange): Readable {
    return fs.createReadStream(this.pathOf(sha256), {
      ...(range ? { start: range.start, end: range.end } : {}),
      highWaterMark: 1 << 20,
    });
  }
}
