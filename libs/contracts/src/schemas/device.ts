import { z } from 'zod';
import { boardSchema, VM_TYPES } from '@hyperfleet/acrn';
import {
  COMMAND_NAMES,
  MAX_HISTOGRAM_BUCKETS,
  MAX_TELEMETRY_SAMPLES,
  type DeviceMessageKind,
} from '../protocol';
import {
  acrnctlStateSchema,
  artefactTargetSchema,
  DM_VM_EVENTS,
  entityIdSchema,
  errorInfoSchema,
  messageIdSchema,
  nonNegativeInt,
  nonNegativeNumber,
  percent,
  planRefSchema,
  positiveInt,
  protocolVersionSchema,
  timestampSchema,
  versionLabelSchema,
  vmNameSchema,
} from './common';

/**
 * Device → backend messages: an envelope (protocol version, message id, epoch, sequence, sent-at) around
 * a payload of the topic's kind. docs/protocol.md gives the epoch and sequence rules.
 */

export const envelopeShape = {
  protocolVersion: protocolVersionSchema,
  msgId: messageIdSchema.describe(
    'Unique per message (a UUID): the dedupe key under QoS 1. A re-publication of the same message keeps it.',
  ),
  epoch: positiveInt.describe(
    'Session epoch: raised (and persisted) by the agent before every MQTT connection; its birth opens it.',
  ),
  seq: nonNegativeInt.describe('Sequence within the epoch: 0 for the birth, then +1 per message.'),
  sentAt: timestampSchema.describe('When the agent built the message (its clock; informative only).'),
};

/** The envelope alone, for reading the ids of a message whose payload is wrong. */
export const envelopeSchema = z.object(envelopeShape);
export type Envelope = z.infer<typeof envelopeSchema>;

function deviceMessage<P extends z.ZodType>(payload: P, description: string) {
  return z.object({ ...envelopeShape, payload }).describe(description);
}

// ---------------------------------------------------------------------------------------------- birth

/** systemd's overall state (`systemctl is-system-running`) of the Service VM. */
export const SERVICE_VM_STATES = [
  'initializing',
  'starting',
  'running',
  'degraded',
  'maintenance',
  'stopping',
] as const;
export type ServiceVmState = (typeof SERVICE_VM_STATES)[number];

export const birthVmSchema = z.object({
  name: vmNameSchema,
  vmType: z.enum(VM_TYPES),
  loadOrder: z.enum(['PRE_LAUNCHED_VM', 'POST_LAUNCHED_VM']),
  state: acrnctlStateSchema.describe(
    "acrnctl's state; pre-launched VMs, which acrnctl does not manage, are `untracked`.",
  ),
  pcpus: z
    .array(nonNegativeInt)
    .min(1)
    .max(256)
    .describe('pCPUs the VM is pinned to (its cpu_affinity), in vCPU order.'),
  imageVersion: versionLabelSchema
    .nullable()
    .describe("Version of the VM's OS image; null when the agent cannot tell."),
});
export type BirthVm = z.infer<typeof birthVmSchema>;

export const birthPayloadSchema = z
  .object({
    agent: z.object({ version: versionLabelSchema }),
    board: boardSchema.describe(
      "Board inventory, checked by @hyperfleet/acrn's board schema (strict: unknown fields are errors).",
    ),
    hypervisor: z.object({
      version: versionLabelSchema,
      scenario: z.string().min(1).max(64).describe('Scenario compiled into the binary, e.g. `hybrid_rt`.'),
      binary: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe("GRUB's multiboot2 file, e.g. `acrn.hybrid_rt.tgl-i7-1185gre.bin`."),
      plan: planRefSchema
        .nullable()
        .describe(
          'The partition plan revision the running binary was built from; null when it was not built by Hyperfleet.',
        ),
    }),
    serviceVm: z.object({
      name: vmNameSchema,
      osImageVersion: versionLabelSchema,
      kernelVersion: versionLabelSchema.optional(),
      state: z.enum(SERVICE_VM_STATES),
      bootId: z
        .uuid()
        .optional()
        .describe('Linux boot id (/proc/sys/kernel/random/boot_id): tells a reboot from an agent restart.'),
    }),
    vms: z
      .array(birthVmSchema)
      .max(64)
      .describe('Every VM besides the Service VM: RT VMs and user VMs, pre- and post-launched.'),
    desiredVersion: nonNegativeInt.describe(
      'Version of the last desired-state document the agent applied; 0 when none.',
    ),
  })
  .superRefine((birth, ctx) => {
    const pcpus = new Set(birth.board.pcpus.map((p) => p.id));
    const names = new Set<string>([birth.serviceVm.name]);
    birth.vms.forEach((vm, i) => {
      if (names.has(vm.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['vms', i, 'name'],
          message: `VM name ${vm.name} is used twice`,
        });
      }
      names.add(vm.name);
      vm.pcpus.forEach((pcpu, j) => {
        if (!pcpus.has(pcpu)) {
          ctx.addIssue({
            code: 'custom',
            path: ['vms', i, 'pcpus', j],
            message: `VM ${vm.name} is pinned to pCPU ${pcpu}, which the board does not have`,
          });
        }
      });
    });
  });
export type BirthPayload = z.infer<typeof birthPayloadSchema>;

export const birthMessageSchema = z
  .object({
    ...envelopeShape,
    seq: z.literal(0).describe('A birth opens its epoch: its sequence is always 0.'),
    payload: birthPayloadSchema,
  })
  .describe('The agent connected: full inventory and versions. Opens a new epoch.');

// ------------------------------------------------------------------------------------------- vm-state

export const vmStatePayloadSchema = z
  .object({
    vmName: vmNameSchema,
    state: acrnctlStateSchema.describe(
      "acrnctl's state after the change (for a Device Model event: the state the event left).",
    ),
    previousState: acrnctlStateSchema.optional(),
    event: z.enum(DM_VM_EVENTS).optional().describe('The Device Model event behind the report, if any.'),
    rtcDeltaSeconds: z.number().optional().describe('VM_EVENT_RTC_CHG: seconds the guest moved its RTC by.'),
    commandId: messageIdSchema.optional().describe('The command that caused the change, when one did.'),
    observedAt: timestampSchema
      .optional()
      .describe('When the agent saw the change; the envelope `sentAt` when absent.'),
  })
  .superRefine((m, ctx) => {
    if (m.rtcDeltaSeconds !== undefined && m.event !== 'VM_EVENT_RTC_CHG') {
      ctx.addIssue({
        code: 'custom',
        path: ['rtcDeltaSeconds'],
        message: 'rtcDeltaSeconds only goes with event VM_EVENT_RTC_CHG',
      });
    }
  });
export type VmStatePayload = z.infer<typeof vmStatePayloadSchema>;
export const vmStateMessageSchema = deviceMessage(
  vmStatePayloadSchema,
  "A VM's acrnctl state changed, or the Device Model reported an event for it.",
);

// ------------------------------------------------------------------------------------ update-progress

export const UPDATE_STAGES = [
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'activated',
  'failed',
  'rolled-back',
] as const;
export type UpdateStage = (typeof UPDATE_STAGES)[number];
/** Stages after which the agent sends nothing more for that rollout and target. */
export const TERMINAL_UPDATE_STAGES: readonly UpdateStage[] = ['activated', 'failed', 'rolled-back'];

export const updateProgressPayloadSchema = z
  .object({
    rolloutId: entityIdSchema,
    desiredVersion: positiveInt
      .optional()
      .describe('Version of the desired-state document that asked for this update.'),
    target: artefactTargetSchema,
    fromVersion: versionLabelSchema
      .nullable()
      .optional()
      .describe('The version being replaced; null for a first install.'),
    stage: z.enum(UPDATE_STAGES),
    percent: percent
      .optional()
      .describe('Progress within the stage (downloading, installing); absent when not measurable.'),
    error: errorInfoSchema.optional().describe('Why: required for failed and rolled-back, absent otherwise.'),
  })
  .superRefine((m, ctx) => {
    const needsError = m.stage === 'failed' || m.stage === 'rolled-back';
    if (needsError && !m.error) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: `stage ${m.stage} needs an error` });
    }
    if (!needsError && m.error) {
      ctx.addIssue({
        code: 'custom',
        path: ['error'],
        message: `stage ${m.stage} takes no error (only failed and rolled-back do)`,
      });
    }
  });
export type UpdateProgressPayload = z.infer<typeof updateProgressPayloadSchema>;
export const updateProgressMessageSchema = deviceMessage(
  updateProgressPayloadSchema,
  'An OTA update of the hypervisor, the Service VM or an RT VM image reached a stage.',
);

// --------------------------------------------------------------------------------------------- health

/** cyclictest-style histogram (`cyclictest -h`): counts[i] samples fell in [i·width, (i+1)·width) µs. */
export const latencyHistogramSchema = z.object({
  bucketWidthUs: positiveInt,
  counts: z.array(nonNegativeInt).max(MAX_HISTOGRAM_BUCKETS),
  overflow: nonNegativeInt.describe('Samples above the last bucket.'),
});
export type LatencyHistogram = z.infer<typeof latencyHistogramSchema>;

export const rtVmHealthSchema = z
  .object({
    vmName: vmNameSchema,
    samples: nonNegativeInt.describe('Latency samples (cyclictest loops) in the window.'),
    minLatencyUs: nonNegativeNumber.optional(),
    avgLatencyUs: nonNegativeNumber,
    worstCaseLatencyUs: nonNegativeNumber.describe(
      'Worst case in the window: what the latency budget and the rollout gates compare.',
    ),
    jitterUs: nonNegativeNumber.describe(
      "Spread of the latency (max − min, or the standard deviation as the agent's tool reports it).",
    ),
    histogram: latencyHistogramSchema.optional(),
  })
  .superRefine((h, ctx) => {
    if (h.avgLatencyUs > h.worstCaseLatencyUs) {
      ctx.addIssue({
        code: 'custom',
        path: ['avgLatencyUs'],
        message: 'the average is above the worst case',
      });
    }
    if (h.minLatencyUs !== undefined && h.minLatencyUs > h.avgLatencyUs) {
      ctx.addIssue({ code: 'custom', path: ['minLatencyUs'], message: 'the minimum is above the average' });
    }
  });
export type RtVmHealth = z.infer<typeof rtVmHealthSchema>;

export const DEVICE_MODEL_STATUSES = ['ok', 'degraded', 'down'] as const;

export const healthPayloadSchema = z
  .object({
    windowStart: timestampSchema,
    windowEnd: timestampSchema,
    rtVms: z.array(rtVmHealthSchema).max(64),
    serviceVm: z.object({
      load1: nonNegativeNumber,
      load5: nonNegativeNumber,
      load15: nonNegativeNumber,
      cpuPercent: percent,
      memoryUsedBytes: nonNegativeInt,
      memoryTotalBytes: positiveInt,
    }),
    deviceModel: z.object({
      status: z.enum(DEVICE_MODEL_STATUSES),
      acrnDmProcesses: nonNegativeInt.describe('Running acrn-dm processes (one per post-launched VM).'),
      unresponsiveVms: z
        .array(vmNameSchema)
        .max(64)
        .default(() => [])
        .describe('VMs whose lifecycle manager missed its sync (every 5 s over the vUART).'),
      message: z.string().max(1024).optional(),
    }),
  })
  .superRefine((h, ctx) => {
    if (Date.parse(h.windowEnd) < Date.parse(h.windowStart)) {
      ctx.addIssue({ code: 'custom', path: ['windowEnd'], message: 'the window ends before it starts' });
    }
  });
export type HealthPayload = z.infer<typeof healthPayloadSchema>;
export const healthMessageSchema = deviceMessage(
  healthPayloadSchema,
  'Real-time and platform health over a window: RT VM latency, Service VM load, Device Model.',
);

// ------------------------------------------------------------------------------------------ telemetry

export const telemetrySampleSchema = z.object({
  at: timestampSchema,
  vmName: vmNameSchema,
  cpuPercent: percent.describe("Share of the VM's vCPUs in use, 0–100."),
  memoryUsedBytes: nonNegativeInt,
  rtLatencyUs: z
    .object({ max: nonNegativeNumber, avg: nonNegativeNumber.optional() })
    .optional()
    .describe('RT VMs: latency over the sample interval.'),
});
export type TelemetrySample = z.infer<typeof telemetrySampleSchema>;

export const telemetryPayloadSchema = z.object({
  samples: z.array(telemetrySampleSchema).min(1).max(MAX_TELEMETRY_SAMPLES),
  droppedSamples: nonNegativeInt
    .default(0)
    .describe('Samples the agent dropped since the last batch (offline buffer full).'),
});
export type TelemetryPayload = z.infer<typeof telemetryPayloadSchema>;
export const telemetryMessageSchema = deviceMessage(
  telemetryPayloadSchema,
  `A batch of samples: per VM CPU and memory use, RT latency. Bounded to 64 KiB and ${MAX_TELEMETRY_SAMPLES} samples.`,
);

// --------------------------------------------------------------------------------------------- status

export const STATUS_REASONS = ['connected', 'shutdown', 'connection-lost'] as const;

export const statusPayloadSchema = z.object({
  state: z.enum(['online', 'offline']),
  reason: z
    .enum(STATUS_REASONS)
    .optional()
    .describe('`connected` with online; `shutdown` for a clean goodbye; `connection-lost` in the last will.'),
});
export type StatusPayload = z.infer<typeof statusPayloadSchema>;
export const statusMessageSchema = deviceMessage(
  statusPayloadSchema,
  "Online announcement (after the birth's reply) and the agent's last will (offline). Retained.",
);

// -------------------------------------------------------------------------------------------- cmd-ack

export const COMMAND_OUTCOMES = ['accepted', 'done', 'failed'] as const;
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number];

export const cmdAckPayloadSchema = z
  .object({
    commandId: messageIdSchema,
    command: z.enum(COMMAND_NAMES),
    outcome: z
      .enum(COMMAND_OUTCOMES)
      .describe('accepted: will execute; done: executed; failed: refused or failed (with error).'),
    error: errorInfoSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.outcome === 'failed' && !m.error) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: 'outcome failed needs an error' });
    }
    if (m.outcome !== 'failed' && m.error) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: `outcome ${m.outcome} takes no error` });
    }
  });
export type CmdAckPayload = z.infer<typeof cmdAckPayloadSchema>;
export const cmdAckMessageSchema = deviceMessage(
  cmdAckPayloadSchema,
  "The agent's acknowledgement of a backend command: accepted, then done or failed.",
);

// ------------------------------------------------------------------------------------------------ map

export const DEVICE_MESSAGE_SCHEMAS = {
  birth: birthMessageSchema,
  'vm-state': vmStateMessageSchema,
  'update-progress': updateProgressMessageSchema,
  health: healthMessageSchema,
  telemetry: telemetryMessageSchema,
  status: statusMessageSchema,
  'cmd-ack': cmdAckMessageSchema,
} as const satisfies { [K in DeviceMessageKind]: z.ZodType };

/** The parsed message (envelope + payload) of each device kind. */
export type DeviceMessageMap = { [K in DeviceMessageKind]: z.infer<(typeof DEVICE_MESSAGE_SCHEMAS)[K]> };
/** What an agent builds: defaults may be left out. */
export type DeviceMessageInputMap = { [K in DeviceMessageKind]: z.input<(typeof DEVICE_MESSAGE_SCHEMAS)[K]> };
export type DeviceMessage<K extends DeviceMessageKind = DeviceMessageKind> = DeviceMessageMap[K];
export type DevicePayload<K extends DeviceMessageKind> = DeviceMessageMap[K]['payload'];
