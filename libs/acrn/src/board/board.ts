import { z } from 'zod';
import { formatIssues, type ParseResult } from '../parse-result';

/**
 * The board inventory as an on-device agent reports it: the facts of ACRN's board XML
 * (misc/config_tools/schema/board.xsd, written by the board inspector) that partitioning rules need.
 */

/** CPUID leaf 0x1A core type: `Core` is a performance core, `Atom` an efficiency core. */
export const CORE_TYPES = ['performance', 'efficiency', 'unknown'] as const;
export type CoreType = (typeof CORE_TYPES)[number];

/** CPUID leaf 4 cache type: 1 data, 2 instruction, 3 unified. */
export const CACHE_TYPES = ['data', 'instruction', 'unified'] as const;
export type CacheType = (typeof CACHE_TYPES)[number];

export const DEVICE_KINDS = ['nic', 'can', 'storage', 'other'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** `bus:device.function` as ACRN writes it, e.g. `00:17.0`. */
export const BDF_PATTERN = /^[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$/;

const nonNegativeInt = z.int().nonnegative();

export const pcpuSchema = z.strictObject({
  /** Linux logical CPU number; ACRN's `pcpu_id` and the board's `thread/cpu_id`. */
  id: nonNegativeInt,
  apicId: nonNegativeInt,
  /** `core/@id` from the board's topology. */
  coreId: nonNegativeInt,
  /** Other pCPUs on the same core (SMT siblings), not including this one. */
  threadSiblings: z.array(nonNegativeInt),
  coreType: z.enum(CORE_TYPES),
});
export type Pcpu = z.infer<typeof pcpuSchema>;

export const catCapabilitySchema = z.strictObject({
  /** Number of classes of service the cache supports (CPUID.10H:EDX + 1). */
  closNumber: z.int().positive(),
  /** Width of a CLOS capacity bitmask (CPUID.10H:EAX + 1). */
  capacityMaskLength: z.int().min(1).max(32),
  /** Code and Data Prioritization reported for this cache. */
  cdp: z.boolean(),
});
export type CatCapability = z.infer<typeof catCapabilitySchema>;

export const softwareSramSchema = z.strictObject({
  /** Host physical address of the first byte. */
  start: nonNegativeInt,
  /** Host physical address of the last byte (inclusive, as the board inspector writes it). */
  end: nonNegativeInt,
  /** Cache ways locked for Software SRAM (RTCT v2); CLOS masks must stay clear of them. */
  waymask: nonNegativeInt.optional(),
});
export type SoftwareSram = z.infer<typeof softwareSramSchema>;

export const cacheSchema = z.strictObject({
  level: z.union([z.literal(2), z.literal(3)]),
  /** `cache/@id`: the APIC id shifted by the sharing width, as the board inspector computes it. */
  id: nonNegativeInt,
  type: z.enum(CACHE_TYPES),
  ways: z.int().positive(),
  sizeBytes: z.int().positive(),
  /** pCPU ids that share this cache. */
  pcpus: z.array(nonNegativeInt).min(1),
  cat: catCapabilitySchema.optional(),
  softwareSram: softwareSramSchema.optional(),
});
export type Cache = z.infer<typeof cacheSchema>;

export const memoryRangeSchema = z.strictObject({
  start: nonNegativeInt,
  /** Inclusive. */
  end: nonNegativeInt,
  sizeBytes: z.int().positive(),
});
export type MemoryRange = z.infer<typeof memoryRangeSchema>;

export const boardMemorySchema = z.strictObject({
  /** Sum of the System RAM ranges: the host memory ACRN's vm_memory check compares against. */
  totalBytes: nonNegativeInt,
  ranges: z.array(memoryRangeSchema),
});
export type BoardMemory = z.infer<typeof boardMemorySchema>;

export const deviceSchema = z.strictObject({
  kind: z.enum(DEVICE_KINDS),
  name: z.string(),
  bdf: z.string().regex(BDF_PATTERN, 'a BDF like 00:1f.6'),
  /** PCI class code, e.g. `0x020000`. */
  classCode: z.string().optional(),
});
export type Device = z.infer<typeof deviceSchema>;

export const boardSchema = z
  .strictObject({
    /** `acrn-config/@board`: the name the scenario refers to. */
    name: z.string().min(1),
    cpuModel: z.string().optional(),
    pcpus: z.array(pcpuSchema).min(1),
    caches: z.array(cacheSchema),
    memory: boardMemorySchema,
    devices: z.array(deviceSchema),
  })
  .superRefine((board, ctx) => {
    const ids = new Set<number>();
    board.pcpus.forEach((pcpu, i) => {
      if (ids.has(pcpu.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['pcpus', i, 'id'],
          message: `pCPU ${pcpu.id} is listed twice`,
        });
      }
      ids.add(pcpu.id);
    });
    board.pcpus.forEach((pcpu, i) =>
      pcpu.threadSiblings.forEach((sibling, j) => {
        if (!ids.has(sibling) || sibling === pcpu.id) {
          ctx.addIssue({
            code: 'custom',
            path: ['pcpus', i, 'threadSiblings', j],
            message: `thread sibling ${sibling} of pCPU ${pcpu.id} is not another pCPU of this board`,
          });
        }
      }),
    );
    board.caches.forEach((cache, i) =>
      cache.pcpus.forEach((pcpu, j) => {
        if (!ids.has(pcpu)) {
          ctx.addIssue({
            code: 'custom',
            path: ['caches', i, 'pcpus', j],
            message: `L${cache.level} cache 0x${cache.id.toString(16)} names pCPU ${pcpu}, which the board does not have`,
          });
        }
      }),
    );
    const ranges = board.memory.ranges.reduce((sum, r) => sum + r.sizeBytes, 0);
    if (board.memory.ranges.length > 0 && ranges !== board.memory.totalBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['memory', 'totalBytes'],
        message: `totalBytes is ${board.memory.totalBytes} but the ranges add up to ${ranges}`,
      });
    }
  });
export type Board = z.infer<typeof boardSchema>;

/** Checks board JSON (as an agent sends it) and says what is wrong in plain sentences. */
export function parseBoard(input: unknown): ParseResult<Board> {
  const result = boardSchema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, errors: formatIssues(result.error) };
}

export function pcpuIds(board: Board): number[] {
  return board.pcpus.map((p) => p.id).sort((a, b) => a - b);
}

/** The smallest `clos_number` among caches with CAT, as rdt_support.xsd takes it; undefined without CAT. */
export function boardClosCapacity(board: Board): number | undefined {
  const numbers = board.caches.flatMap((c) => (c.cat ? [c.cat.closNumber] : []));
  return numbers.length > 0 ? Math.min(...numbers) : undefined;
}

export function findCache(board: Board, level: number, id: number): Cache | undefined {
  return board.caches.find((c) => c.level === level && c.id === id);
}
