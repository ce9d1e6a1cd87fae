import type { z } from 'zod';

/** Outcome of checking untrusted input: the typed value, or sentences naming each problem and its path. */
export type ParseResult<T> =
  | { ok: true; value: T }
  /** `code`: a machine-readable reason where the reader has one (XML readers: XML_*, *_INVALID). */
  | { ok: false; errors: string[]; code?: string };

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
}
