import type { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { validationFailed } from '../http/zod-validation.pipe';

/**
 * Validates a query string with a zod object schema, like ZodValidationPipe, and also refuses every
 * parameter the schema does not know, each as its own issue named after it (zod's strict mode would
 * report them together under the query as a whole). A typo such as `?onlne=true` is a 400, never a
 * silently ignored filter.
 */
export class QueryValidationPipe<T extends z.ZodObject> implements PipeTransform<unknown, z.output<T>> {
  private readonly known: ReadonlySet<string>;

  constructor(private readonly schema: T) {
    this.known = new Set(Object.keys(schema.shape));
  }

  transform(value: unknown): z.output<T> {
    const query = (value ?? {}) as Record<string, unknown>;
    const unknown: z.core.$ZodIssue[] = Object.keys(query)
      .filter((key) => !this.known.has(key))
      .map((key) => ({
        code: 'custom',
        path: [key],
        message: 'is not a parameter of this endpoint',
        input: query[key],
      }));
    const result = this.schema.safeParse(query);
    const issues = [...unknown, ...(result.success ? [] : result.error.issues)];
    if (issues.length) throw validationFailed(new z.ZodError(issues), 'query');
    return result.data as z.output<T>;
  }
}
