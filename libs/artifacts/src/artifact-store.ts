/**
 * The artifact store port: release image bytes, content-addressed by sha256. Uploads stream through the
 * hashes into the store (never held in memory); the same bytes uploaded twice are stored once.
 * Adapters: a local folder (local-folder-artifact-store.ts); an object store can implement the same.
 */
import type { Readable } from 'node:stream';

export interface ArtifactDigest {
  /** Lowercase hex. */
  readonly sha256: string;
  readonly sha512: string;
  readonly length: number;
}

export interface PutArtifactOptions {
  /** Refuse (ARTIFACT_TOO_LARGE) as soon as more bytes than this arrive. */
  readonly maxBytes: number;
  /** What the uploader declared; a difference is refused and nothing is kept. */
  readonly expected?: Partial<ArtifactDigest>;
}

export interface PutArtifactResult extends ArtifactDigest {
  /** `existing`: the store already held these bytes (the upload was dropped). */
  readonly stored: 'created' | 'existing';
}

/** Inclusive byte range, as HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ArtifactStore {
  /** Streams `source` into the store while hashing; on any failure nothing is left behind. */
  put(source: Readable | AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<PutArtifactResult>;
  /** The artifact's length, or null when the store does not hold it. */
  stat(sha256: string): Promise<{ length: number } | null>;
  /** The artifact's bytes (or a range of them) as a stream; the caller checks existence with stat first. */
  read(sha256: string, range?: ByteRange): Readable;
}

export const ARTIFACT_STORE = Symbol.for('hyperfleet.artifacts.ArtifactStore');

export const ARTIFACT_ERROR_CODES = [
  'ARTIFACT_TOO_LARGE',
  'ARTIFACT_LENGTH_MISMATCH',
  'ARTIFACT_HASH_MISMATCH',
  'UPLOAD_INCOMPLETE',
] as const;
export type ArtifactErrorCode = (typeof ARTIFACT_ERROR_CODES)[number];

export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ArtifactError';
  }
}

export function isArtifactError(error: unknown): error is ArtifactError {
  return error instanceof ArtifactError;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
