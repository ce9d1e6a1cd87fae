import type { OpenAPIObject } from '@nestjs/swagger';
import { problemSchema, openApiSchema } from '../devices/devices.schemas';

export const BEARER_SCHEME = 'bearer';
/**
 * OpenAPI paths of the @Public routes (`/health`, signed artefact downloads), filled by RouteDeclarations
 * at startup, before the document is first built. The OpenAPI document itself is not in the document.
 */
export const PUBLIC_PATHS = new Set<string>(['/health']);

/** `/api/v1/devices/:id/credentials\\:rotate` → `/api/v1/devices/{id}/credentials:rotate`. */
export function openApiPath(nestPath: string): string {
  return nestPath
    .split('\\:')
    .map((part) => part.replace(/:([A-Za-z0-9_]+)/g, '{$1}'))
    .join(':');
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * The bearer scheme on every operation but the public ones, with the 401 and 403 answers the auth guard
 * gives. One pass over the finished document, so operations added by anyone are covered.
 */
export function withBearerAuth(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.securitySchemes ??= {};
  document.components.securitySchemes[BEARER_SCHEME] = {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`hf_<id>_<secret>`, from POST /api/v1/api-keys or the bootstrap file HF_DATA_DIR/admin-api-key) ' +
      'or a JWT from the configured identity provider (role in `hf_role`).',
  };
  const problem = { 'application/json': { schema: openApiSchema(problemSchema) } };
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (PUBLIC_PATHS.has(path)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.security = [{ [BEARER_SCHEME]: [] }];
      op.responses ??= {};
      op.responses['401'] ??= {
        description:
          'UNAUTHENTICATED (no credential), INVALID_CREDENTIAL, CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED (API key) or ' +
          'INVALID_TOKEN (JWT; the message says which check failed)',
        content: problem,
      };
      op.responses['403'] ??= {
        description:
          "PERMISSION_DENIED: the credential's role lacks the permission (details.required, details.role)",
        content: problem,
      };
    }
  }
  return document;
}
