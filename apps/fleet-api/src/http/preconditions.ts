/**
 * Optimistic concurrency over HTTP: a resource's ETag is its stream version (`"12"`); a write with
 * `If-Match: "12"` is decided only at that version (the domain's expectedVersion), else 412.
 */
import type { Request, Response } from 'express';
import { ApiError } from './api-error';

const ENTITY_TAG = /^\s*(?:W\/)?"(\d{1,15})"\s*$/;

/** The version an `If-Match` header names; undefined without one; 400 INVALID_IF_MATCH when malformed. */
export function expectedVersionFrom(req: Pick<Request, 'headers'>): number | undefined {
  const raw = req.headers['if-match'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  const match = ENTITY_TAG.exec(value);
  if (!match) {
    throw new ApiError(
      400,
      'INVALID_IF_MATCH',
      'If-Match must be one entity tag as this API hands them out in ETag, e.g. "12"',
      { ifMatch: value.slice(0, 100) },
    );
  }
  return Number(match[1]);
}

export function setEtag(res: Pick<Response, 'setHeader'>, version: number | bigint): void {
  res.setHeader('ETag', `"${version.toString()}"`);
}
