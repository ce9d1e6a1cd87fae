import { z } from 'zod';
import { pageSchema, limitSchema, cursorSchema } from '../scheduling/pagination';

/** Shapes of /api/v1/boards: validation and the OpenAPI document come from these. */

export const boardNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: 'must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  .describe('Board name, as `acrn-config/@board` of the board XML and `board` of a plan (e.g. whl-ipc-i5)');

export const boardCacheSchema = z.object({
  level: z.number().describe('2 or 3'),
  id: z.number().describe('cache/@id of the board XML'),
  type: z.string(),
  ways: z.number(),
  sizeBytes: z.number(),
  pcpus: z.array(z.number()).describe('pCPUs that share the cache'),
  cat: z
    .object({ closNumber: z.number(), capacityMaskLength: z.number(), cdp: z.boolean() })
    .nullable()
    .describe('Cache Allocation Technology: CLOS count and capacity mask width; null without CAT'),
  softwareSram: z.boolean().describe('The cache has a Software SRAM (RTCT) region'),
});

export const boardSummarySchema = z.object({
  name: z.string(),
  cpuModel: z.string().nullable(),
  pcpuCount: z.number(),
  coreTypes: z.array(z.string()).describe('Core types of the pCPUs (performance, efficiency, unknown)'),
  caches: z.array(boardCacheSchema).describe('L2 and L3 caches'),
  closCapacity: z
    .number()
    .nullable()
    .describe('Smallest CAT clos_number: the CLOS a plan may use on this board; null without CAT'),
  memoryBytes: z.number(),
  deviceCount: z.number().describe('PCI devices the board XML lists'),
  xmlSha256: z.string().describe('sha256 of the imported XML text'),
  xmlBytes: z.number(),
  revision: z.number().describe('Counts imports of other XML under this name; the ETag'),
  importedAt: z.string(),
  importedBy: z.record(z.string(), z.unknown()).describe('Who imported it (subject, credential, request id)'),
});
export type BoardSummary = z.output<typeof boardSummarySchema>;

export const boardResponseSchema = boardSummarySchema.extend({
  board: z
    .record(z.string(), z.unknown())
    .describe('The board model validation uses (@hyperfleet/acrn Board)'),
});
export type BoardResponse = z.output<typeof boardResponseSchema>;

export const boardImportResponseSchema = boardResponseSchema.extend({
  outcome: z
    .enum(['created', 'replaced', 'unchanged'])
    .describe('created (201), replaced by other XML, or unchanged (the same XML again)'),
  unmodelled: z.array(z.string()).describe('What the importer reported it does not model, when it says'),
});
export type BoardImportResponse = z.output<typeof boardImportResponseSchema>;

export const boardPageSchema = pageSchema(boardSummarySchema);

export const boardListQuerySchema = z
  .object({ limit: limitSchema, cursor: cursorSchema(1).optional() })
  .strict();
export type BoardListQuery = z.output<typeof boardListQuerySchema>;
