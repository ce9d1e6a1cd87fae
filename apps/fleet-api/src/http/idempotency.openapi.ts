import type { OpenAPIObject } from '@nestjs/swagger';

const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes a POST safe to retry: the same key with the same request (method, path, body) within 24 h ' +
    'returns the first response again, byte for byte, with `Idempotent-Replayed: true` (4xx answers ' +
    'included; a 5xx is not kept, so the request can be retried). The same key with another request is ' +
    '422 IDEMPOTENCY_KEY_REUSED; while the first is still running, 409 IDEMPOTENCY_KEY_IN_PROGRESS. ' +
    'Keys are per credential. 1–255 printable ASCII characters, else 400 INVALID_IDEMPOTENCY_KEY.',
  schema: { type: 'string', minLength: 1, maxLength: 255, example: '3f0c1d9e-2b8f-4f5e-9b1a-6a7d0c2e4b11' },
} as const;

/** Documents the Idempotency-Key header on every POST of the document (the interceptor honours it on all). */
export function withIdempotencyKeyHeader(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths ?? {})) {
    const post = item.post;
    if (!post) continue;
    const parameters = post.parameters ?? [];
    if (parameters.some((p) => 'name' in p && p.name === IDEMPOTENCY_KEY_PARAMETER.name)) continue;
    post.parameters = [
      ...parameters,
      { ...IDEMPOTENCY_KEY_PARAMETER, schema: { ...IDEMPOTENCY_KEY_PARAMETER.schema } },
    ];
    post.responses ??= {};
    post.responses['409'] ??= { description: 'IDEMPOTENCY_KEY_IN_PROGRESS' };
    post.responses['422'] ??= { description: 'IDEMPOTENCY_KEY_REUSED' };
  }
  return document;
}
