import { z } from 'zod';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { ROLES } from './auth.types';

/** Request and response shapes of /api/v1/api-keys. */

export const apiKeyIdSchema = z
  .string()
  .regex(/^[a-z0-9]{8,32}$/, { message: 'must be an API key id (8 to 32 lowercase letters or digits)' })
  .describe('API key id (the part between "hf_" and the second "_" of the key)');

const scopeSchema = z
  .object({
    sites: z.array(z.string().trim().min(1).max(200)).min(1).max(100).nullable().optional(),
    deviceClasses: z.array(z.enum(DEVICE_CLASSES)).min(1).nullable().optional(),
  })
  .strict()
  .describe('Sites and device classes the key is limited to; absent or null: all');

export const createApiKeyBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100).describe('What the key is for, e.g. ci-release-pipeline'),
    role: z.enum(ROLES),
    scope: scopeSchema.nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('When the key stops working (ISO-8601)'),
    expiresInDays: z.number().int().min(1).max(3650).optional().describe('Or: days from now'),
  })
  .strict()
  .refine((b) => !(b.expiresAt && b.expiresInDays), { message: 'give expiresAt or expiresInDays, not both' })
  .refine((b) => !b.expiresAt || Date.parse(b.expiresAt) > Date.now(), {
    message: 'expiresAt must be in the future',
    path: ['expiresAt'],
  });
export type CreateApiKeyBody = z.output<typeof createApiKeyBodySchema>;

export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  scope: z
    .object({ sites: z.array(z.string()).nullable(), deviceClasses: z.array(z.string()).nullable() })
    .nullable(),
  createdAt: z.string(),
  createdBy: z.string().describe('Subject of the credential that created it'),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('Updated at most once a minute'),
  status: z.enum(['active', 'expired', 'revoked']),
});

export const createdApiKeySchema = z.object({
  key: z.string().describe('hf_<id>_<secret>: shown in this response only, stored as a hash'),
  apiKey: apiKeySchema,
});

export const apiKeyListSchema = z.object({ items: z.array(apiKeySchema) });
