import { applyDecorators } from '@nestjs/common';
import { ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { openApiSchema, problemSchema } from '../devices/devices.schemas';

export interface QueryParam {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly required?: boolean;
  /** Default: the schema's description. */
  readonly description?: string;
}

/** Documented query parameters, in the order given, their schemas from zod. */
export const queryParams = (...params: QueryParam[]) =>
  applyDecorators(
    ...params.map((p) =>
      ApiQuery({
        name: p.name,
        required: p.required ?? false,
        schema: openApiSchema(p.schema),
        description: p.description ?? p.schema.description,
      }),
    ),
  );

export const problem400 = ApiResponse({
  status: 400,
  description:
    'VALIDATION_FAILED: `details.issues` names each parameter (bad time, from after to, range too long, unknown value)',
  schema: openApiSchema(problemSchema),
});
