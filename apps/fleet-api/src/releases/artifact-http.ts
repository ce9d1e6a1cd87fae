/**
 * HTTP around the artifact store: the request body as a stream that never buffers (and that fails, rather
 * than hangs, when the client goes away), and downloads with Range, ETag and If-None-Match.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { ArtifactStore, ByteRange } from '@hyperfleet/artifacts';
import { ApiError } from '../http/api-error';

/**
 * The request body for the store. `req.pipe` (not pipeline) so that a refusal by the store leaves the
 * socket open for the 413/422 answer; an aborted request fails the stream with ECONNRESET.
 */
export function requestBody(req: Request): Readable {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const abort = () => {
    if (!body.destroyed) {
      body.destroy(Object.assign(new Error('the client aborted the upload'), { code: 'ECONNRESET' }));
    }
  };
  req.on('aborted', abort);
  req.on('error', abort);
  req.on('close', () => {
    if (!req.complete) abort();
  });
  req.pipe(body);
  return body;
}

/** After a refusal before the whole body was read: close the connection rather than read the rest. */
export function closeAfterResponse(req: Request, res: Response): void {
  if (!req.complete) {
    res.setHeader('Connection', 'close');
    req.unpipe();
  }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → a range; null: no (usable) Range header, serve it all. */
export function parseRange(header: string | undefined, length: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) {
    // Several ranges, or another unit: RFC 9110 lets a server ignore it; a malformed one is a bad range.
    return /^\s*bytes\s*=.*,/i.test(header) ? null : 'unsatisfiable';
  }
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || length === 0) return 'unsatisfiable';
    return { start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (start >= length || start > end) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export interface ArtifactDownload {
  readonly sha256: string;
  readonly length: number;
  readonly mediaType?: string;
  readonly fileName?: string;
}

/** Streams an artifact from the store: 200, 206 for a Range, 304 for a matching If-None-Match, 416. */
export async function sendArtifact(
  req: Request,
  res: Response,
  store: ArtifactStore,
  artifact: ArtifactDownload,
): Promise<void> {
  const etag = `"${artifact.sha256}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Accept-Ranges', 'bytes');
  // Content-addressed: the bytes behind this ETag never change.
  res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
  res.setHeader('Content-Type', artifact.mediaType ?? 'application/octet-stream');
  if (artifact.fileName) {
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${artifact.fileName.replace(/["\\]/g, '_')}"`,
    );
  }
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.status(304).end();
    return;
  }
  const ifRange = req.get('if-range');
  const rangeHeader = ifRange !== undefined && ifRange.trim() !== etag ? undefined : req.headers.range;
  const range = parseRange(rangeHeader, artifact.length);
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${artifact.length}`);
    throw new ApiError(
      416,
      'RANGE_NOT_SATISFIABLE',
      `The range ${rangeHeader} is not within the ${artifact.length} bytes of the artifact`,
      {
        range: String(rangeHeader).slice(0, 100),
        length: artifact.length,
      },
    );
  }
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${artifact.length}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.status(200);
    res.setHeader('Content-Length', String(artifact.length));
  }
  if (req.method === 'HEAD' || artifact.length === 0) {
    res.end();
    return;
  }
  try {
    await pipeline(store.read(artifact.sha256, range ?? undefined), res);
  } catch {
    // The client went away mid-download; it resumes with a Range.
    res.destroy();
  }
}
