import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from './api-error';

export type RequestPart = 'body' | 'path' | 'query';

export interface ValidationIssue {
  /** Dotted path of the field (`tags.0`), or `(body)` for the request body as a whole. */
  readonly path: string;
  readonly message: string;
}

const MAX_LISTED = 5;

/**
 * A zod failure as the API's VALIDATION_FAILED (400): every issue in `details.issues`. An issue that
 * carries its own API code (`params.code`, e.g. a cursor's INVALID_CURSOR) makes that the error's code.
 */
export function validationFailed(error: z.ZodError, part: RequestPart): ApiError {
  const coded = error.issues.find(
    (i) => i.code === 'custom' && typeof (i.params as { code?: unknown } | undefined)?.code === 'string',
  );
  if (coded && coded.code === 'custom') {
    const parameter = coded.path.map(String).join('.');
    return new ApiError(
      400,
      (coded.params as { code: string }).code,
      `The ${parameter || part} is not one this endpoint issued; start again without it.`,
      {
        parameter,
        part,
        issues: error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      },
    );
  }
  const issues: ValidationIssue[] = error.issues.map((i) => ({
    path: i.path.length ? i.path.map(String).join('.') : `(${part})`,
    message: i.message,
  }));
  const listed = issues.slice(0, MAX_LISTED).map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > MAX_LISTED ? ` (and ${issues.length - MAX_LISTED} more)` : '';
  return new ApiError(
    400,
    'VALIDATION_FAILED',
    `The request ${part} is invalid: ${listed.join('; ')}${more}.`,
    {
      part,
      issues,
    },
  );
}

/** Validates one part of the request with a zod schema and hands the parsed value to the handler. */
export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(
    private readonly schema: T,
    private readonly part: RequestPart = 'body',
  ) {}

  transform(value: unknown): z.output<T> {
    const result = this.schema.safeParse(value);
    if (!result.success) throw validationFailed(result.error, this.part);
    return result.data;
  }
}
