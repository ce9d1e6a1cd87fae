import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '@hyperfleet/contracts';
import { DEVICE_CLASSES } from '@hyperfleet/domain';

/** Request and response shapes of /api/v1/devices: validation and the OpenAPI document come from these. */

export const deviceIdSchema = z
  .string()
  .regex(DEVICE_ID_PATTERN, {
    message: 'must be 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  })
  .describe('Device id; also the MQTT username and client id of the device');

export const provisionDeviceBodySchema = z
  .object({
    deviceId: deviceIdSchema,
    deviceClass: z.enum(DEVICE_CLASSES).describe('vehicle or industrial-pc'),
    site: z.string().trim().min(1).max(200).describe('Where the device is, e.g. depot-1'),
    tags: z
      .array(z.string().trim().min(1).max(64))
      .max(64)
      .optional()
      .describe('Free-form labels, conventionally key=value'),
  })
  .strict();
export type ProvisionDeviceBody = z.output<typeof provisionDeviceBodySchema>;

const mqttCredentialSchema = z.object({
  username: z.string().describe('The device id'),
  password: z.string().describe('Shown once; only its hash is stored'),
  issuedAt: z.string().describe('When this password was made (ISO-8601)'),
});

export const issuedCredentialResponseSchema = z.object({
  deviceId: z.string(),
  mqtt: mqttCredentialSchema,
});
export type IssuedCredentialResponse = z.output<typeof issuedCredentialResponseSchema>;

export const credentialStatusResponseSchema = z.object({
  deviceId: z.string(),
  issuedAt: z.string(),
  rotatedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  active: z.boolean().describe('False once revoked: the device cannot connect'),
});
export type CredentialStatusResponse = z.output<typeof credentialStatusResponseSchema>;

export const problemSchema = z.object({
  code: z.string().describe('Machine-readable, e.g. DEVICE_ALREADY_PROVISIONED, VALIDATION_FAILED'),
  message: z.string().describe('A sentence for humans'),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** A zod schema as an OpenAPI 3.0 schema object (the input side: what a client sends). */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  return nullInNullableEnums(
    z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as Record<string, unknown>,
  );
}

/**
 * OpenAPI 3.0: `nullable: true` does not widen an `enum`, so a nullable enum must list null itself,
 * or a strict client rejects the null it is promised (e.g. `pendingOperation`).
 */
function nullInNullableEnums<T>(node: T): T {
  if (Array.isArray(node)) {
    node.forEach(nullInNullableEnums);
  } else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null);
    Object.values(o).forEach(nullInNullableEnums);
  }
  return node;
}
