import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema (draft-07, the base of AsyncAPI's Schema Object) of what a sender may send: the input
 * side of a zod schema, so fields with defaults are optional. Refinements (cross-field rules such as
 * "a failed stage needs an error") have no JSON Schema form; they are stated in descriptions and docs.
 * Noise is dropped: the safe-integer bounds zod puts on every integer and the long date-time pattern
 * (the `date-time` format says it).
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'throw',
    override: (ctx) => {
      const s = ctx.jsonSchema as JsonSchema;
      if (s.type === 'integer') {
        if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
        if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
      }
      if (s.format === 'date-time') delete s.pattern;
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}
