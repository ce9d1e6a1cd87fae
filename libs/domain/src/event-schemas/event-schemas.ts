/**
 * The `data` of every domain event type as a zod schema: the published contract of the
 * device-events topic (docs/asyncapi-kafka.json is generated from these). The tables are typed
 * against each aggregate's event union, so a new event type without a schema, or a schema that
 * disagrees with the type, does not compile. Schemas are open (a consumer must ignore unknown
 * fields); changing one incompatibly needs a new `schemaVersion` of its type
 * (docs/event-schemas.snapshot.json, event-schemas.spec.ts).
 */
import { z } from 'zod';
import { RULES, boardSchema, partitionPlanSchema, type RuleCode, type Violation } from '@hyperfleet/acrn';
import {
  DEVICE_CLASSES,
  HYPERVISOR_EVENT_SCHEMA_VERSIONS,
  type HypervisorEvent,
  type PlanRef,
} from '../hypervisor/hypervisor.events';
import {
  PARTITION_PLAN_EVENT_SCHEMA_VERSIONS,
  type PartitionPlanEvent,
} from '../partition-plan/partition-plan.events';
import {
  IMAGE_TARGETS,
  RELEASE_EVENT_SCHEMA_VERSIONS,
  type ReleaseCompatibility,
  type ReleaseEvent,
  type ReleaseImageSpec,
} from '../release/release.events';
import {
  ACRNCTL_STATES,
  RTVM_LOAD_ORDERS,
  RT_VM_EVENT_SCHEMA_VERSIONS,
  type RtVmEvent,
} from '../rt-vm/rt-vm.events';
import {
  DEVICE_MODEL_HEALTH,
  SERVICE_VM_EVENT_SCHEMA_VERSIONS,
  SERVICE_VM_POWER_ACTIONS,
  type ServiceVmEvent,
} from '../service-vm/service-vm.events';
import type { DomainEvent } from '../shared/event';
import { NON_RT_VM_TYPES, VM_EVENT_SCHEMA_VERSIONS, VM_LOAD_ORDERS, type VmEvent } from '../vm/vm.events';

type DataSchemas<E extends DomainEvent> = {
  readonly [K in E['type']]: z.ZodType<Extract<E, { type: K }>['data']>;
};

const at = z.string().describe('ISO 8601 time the fact happened (or was observed)');
const deviceId = z.string().min(1).describe('The device (also the Kafka record key)');
const deviceClass = z.enum(DEVICE_CLASSES);
const planRef: z.ZodType<PlanRef> = z.object({ planId: z.string(), revision: z.number().int() });
const ruleCodes = Object.keys(RULES) as [RuleCode, ...RuleCode[]];
const violation: z.ZodType<Violation> = z.object({
  code: z.enum(ruleCodes),
  severity: z.enum(['error', 'warning']),
  group: z.string() as unknown as z.ZodType<Violation['group']>,
  vms: z.array(z.string()),
  pcpus: z.array(z.number().int()),
  message: z.string(),
});

export const HYPERVISOR_EVENT_DATA: DataSchemas<HypervisorEvent> = {
  DeviceProvisioned: z.object({ deviceId, deviceClass, site: z.string(), tags: z.array(z.string()), at }),
  DeviceLabelsUpdated: z.object({ deviceId, site: z.string(), tags: z.array(z.string()), at }),
  DeviceAttributesChanged: z.object({
    deviceId,
    attributes: z.record(z.string(), z.string()),
    set: z.record(z.string(), z.string()),
    removed: z.array(z.string()),
    at,
  }),
  BoardInventoryReported: z.object({ deviceId, board: boardSchema, at }),
  HypervisorVersionReported: z.object({
    deviceId,
    version: z.string(),
    scenario: z.string(),
    previousVersion: z.string().nullable(),
    at,
  }),
  DeviceWentOnline: z.object({ deviceId, at }),
  DeviceWentOffline: z.object({ deviceId, at, lastSeenAt: z.string() }),
  PartitionPlanAssigned: z.object({
    deviceId,
    planId: z.string(),
    revision: z.number().int(),
    deviceClass,
    boardName: z.string(),
    warnings: z.array(violation),
    previous: planRef.nullable(),
    at,
  }),
  PartitionPlanReported: z.object({
    deviceId,
    planId: z.string(),
    revision: z.number().int(),
    matchesDesired: z.boolean(),
    at,
  }),
};

const deviceModelHealth = z.enum(DEVICE_MODEL_HEALTH);
export const SERVICE_VM_EVENT_DATA: DataSchemas<ServiceVmEvent> = {
  ServiceVmBooted: z.object({
    deviceId,
    osImageVersion: z.string(),
    kernelVersion: z.string().nullable(),
    bootId: z.string().optional(),
    at,
  }),
  ServiceVmOsImageChanged: z.object({ deviceId, from: z.string(), to: z.string(), at }),
  ServiceVmRebootRequested: z.object({ deviceId, reason: z.string(), at }),
  ServiceVmShutdownRequested: z.object({ deviceId, reason: z.string(), at }),
  ServiceVmShuttingDown: z.object({ deviceId, action: z.enum(SERVICE_VM_POWER_ACTIONS), at }),
  DeviceModelHealthChanged: z.object({
    deviceId,
    health: deviceModelHealth,
    previous: deviceModelHealth.nullable(),
    detail: z.string(),
    at,
  }),
};

const vm = { deviceId, vmName: z.string().describe('ACRN VM name') };
const acrnctl = z.enum(ACRNCTL_STATES);
export const RT_VM_EVENT_DATA: DataSchemas<RtVmEvent> = {
  RtVmRegistered: z.object({
    ...vm,
    loadOrder: z.enum(RTVM_LOAD_ORDERS),
    pinnedPcpus: z.array(z.number().int()),
    latencyBudgetUs: z.number(),
    state: acrnctl,
    at,
  }),
  RtVmStarted: z.object({ ...vm, at }),
  RtVmStopRequested: z.object({ ...vm, at }),
  RtVmResetRequested: z.object({ ...vm, at }),
  RtVmDeleted: z.object({ ...vm, at }),
  RtVmStateReported: z.object({ ...vm, state: acrnctl, previousState: acrnctl, at }),
  RtVmPoweredOff: z.object({ ...vm, previousState: acrnctl, at }),
  RtVmTripleFaulted: z.object({ ...vm, previousState: acrnctl, tripleFaults: z.number().int(), at }),
  RtVmLatencyReported: z.object({ ...vm, worstCaseUs: z.number(), budgetUs: z.number(), at }),
  RtVmLatencyBudgetBreached: z.object({
    ...vm,
    worstCaseUs: z.number(),
    budgetUs: z.number(),
    excessUs: z.number(),
    at,
  }),
  RtVmLatencyBudgetChanged: z.object({ ...vm, budgetUs: z.number(), previousBudgetUs: z.number(), at }),
};

export const PARTITION_PLAN_EVENT_DATA: DataSchemas<PartitionPlanEvent> = {
  PartitionPlanCreated: z.object({
    planId: z.string(),
    deviceClass,
    description: z.string(),
    revision: z.literal(1),
    plan: partitionPlanSchema,
    at,
  }),
  PartitionPlanRevised: z.object({
    planId: z.string(),
    revision: z.number().int(),
    plan: partitionPlanSchema,
    at,
  }),
};

const range = z.object({ min: z.string().optional(), max: z.string().optional() });
const imageTarget = z.enum(IMAGE_TARGETS);
const compatibility: z.ZodType<ReleaseCompatibility> = z.object({
  deviceClasses: z.array(deviceClass),
  boardNames: z.array(z.string()),
  partitionPlan: planRef.nullable(),
  currentVersions: z.object({
    hypervisor: range.optional(),
    serviceVmOs: range.optional(),
    serviceVmKernel: range.optional(),
  }),
});
const imageSpec: z.ZodType<ReleaseImageSpec> = z.object({
  imageId: z.string(),
  target: imageTarget,
  vmName: z.string().nullable(),
  boardName: z.string().nullable(),
  plan: planRef.nullable(),
  fileName: z.string(),
  mediaType: z.string(),
  version: z.string(),
  length: z.number().int(),
  sha256: z.string(),
  sha512: z.string(),
  depends: z.array(
    z.object({
      target: imageTarget,
      vmName: z.string().optional(),
      min: z.string().optional(),
      max: z.string().optional(),
    }),
  ),
  provides: z.record(z.string(), z.string()),
});
const releaseId = z.string();
export const RELEASE_EVENT_DATA: DataSchemas<ReleaseEvent> = {
  ReleaseDrafted: z.object({
    releaseId,
    name: z.string(),
    version: z.string(),
    description: z.string(),
    compatibility,
    at,
  }),
  ReleaseImageAdded: z.object({ releaseId, image: imageSpec, at }),
  ReleaseImageUploaded: z.object({
    releaseId,
    imageId: z.string(),
    sha256: z.string(),
    length: z.number().int(),
    at,
  }),
  ReleasePublished: z.object({ releaseId, at }),
  ReleaseDeprecated: z.object({ releaseId, reason: z.string(), at }),
  ReleaseYanked: z.object({
    releaseId,
    reason: z.string(),
    previousStatus: z.enum(['published', 'deprecated']),
    at,
  }),
};

export const VM_EVENT_DATA: DataSchemas<VmEvent> = {
  VmRegistered: z.object({
    ...vm,
    vmType: z.enum(NON_RT_VM_TYPES),
    loadOrder: z.enum(VM_LOAD_ORDERS),
    pcpus: z.array(z.number().int()),
    imageVersion: z.string().nullable(),
    state: acrnctl,
    at,
  }),
  VmStateReported: z.object({ ...vm, state: acrnctl, previousState: acrnctl, at }),
  VmPoweredOff: z.object({ ...vm, previousState: acrnctl, at }),
  VmTripleFaulted: z.object({ ...vm, previousState: acrnctl, tripleFaults: z.number().int(), at }),
};

export interface DomainEventSchema {
  readonly type: string;
  readonly aggregate: string;
  readonly schemaVersion: number;
  readonly data: z.ZodType;
}

const tables: [string, Record<string, number>, Record<string, z.ZodType>][] = [
  ['hypervisor', HYPERVISOR_EVENT_SCHEMA_VERSIONS, HYPERVISOR_EVENT_DATA],
  ['service-vm', SERVICE_VM_EVENT_SCHEMA_VERSIONS, SERVICE_VM_EVENT_DATA],
  ['rt-vm', RT_VM_EVENT_SCHEMA_VERSIONS, RT_VM_EVENT_DATA],
  ['vm', VM_EVENT_SCHEMA_VERSIONS, VM_EVENT_DATA],
  ['partition-plan', PARTITION_PLAN_EVENT_SCHEMA_VERSIONS, PARTITION_PLAN_EVENT_DATA],
  ['release', RELEASE_EVENT_SCHEMA_VERSIONS, RELEASE_EVENT_DATA],
];

/** Every domain event type with its current schema version and its data schema, by type. */
export const DOMAIN_EVENT_SCHEMAS: readonly DomainEventSchema[] = tables.flatMap(
  ([aggregate, versions, data]) =>
    Object.keys(versions).map((type) => ({
      type,
      aggregate,
      schemaVersion: versions[type],
      data: data[type],
    })),
);

/** Every event type's schema-version table, for checks that no type is left out. */
export const DOMAIN_EVENT_SCHEMA_VERSIONS: Readonly<Record<string, number>> = Object.assign(
  {},
  ...tables.map(([, versions]) => versions),
);
