import { z } from 'zod';

/**
 * Keyset pagination for the read-model lists: `limit` and an opaque `cursor` that encodes the sort
 * key of the last item of the previous page (base64url JSON). A page is `{ items, nextCursor }`;
 * `nextCursor` is null on the last page.
 */

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export const limitSchema = z.coerce
  .number({ message: 'must be a whole number from 1 to 500' })
  .int({ message: 'must be a whole number from 1 to 500' })
  .min(1, { message: 'must be a whole number from 1 to 500' })
  .max(MAX_PAGE_SIZE, { message: 'must be a whole number from 1 to 500' })
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Items per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`);

export const INVALID_CURSOR = 'INVALID_CURSOR';

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * A cursor whose key has `parts` strings; anything else is 400 INVALID_CURSOR (the one code every
 * list uses for a cursor it did not issue: the issue's `params.code` tells the validation pipe).
 */
export function cursorSchema(parts: number) {
  return z
    .string()
    .max(2048)
    .describe('nextCursor of the previous page')
    .transform((s, ctx) => {
      try {
        const key: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
        if (Array.isArray(key) && key.length === parts && key.every((k) => typeof k === 'string')) {
          return key as string[];
        }
      } catch {
        // falls through to the issue
      }
      ctx.addIssue({
        code: 'custom',
        message: 'is not a cursor this list returned',
        params: { code: INVALID_CURSOR },
      });
      return z.NEVER;
    });
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** Rows fetched with limit + 1 as a page: the extra row only says there is a next page. */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  item: (r: R) => T,
  key: (r: R) => string[],
): Page<T> {
  const items = rows.slice(0, limit);
  return {
    items: items.map(item),
    nextCursor: rows.length > limit && items.length ? encodeCursor(key(items[items.length - 1])) : null,
  };
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  });
