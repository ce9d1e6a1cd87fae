import { z } from 'zod';
import { MAX_REPLY_MESSAGE_LENGTH, type CommandName } from '../protocol';
import {
  artefactSourceSchema,
  codeSchema,
  entityIdSchema,
  messageIdSchema,
  planRefSchema,
  positiveInt,
  protocolVersionSchema,
  timestampSchema,
  versionLabelSchema,
  vmNameSchema,
} from './common';

/** Backend → device messages: the reply to each device message, the desired state, and commands. */

// ---------------------------------------------------------------------------------------------- reply

export const REPLY_STATUSES = ['accepted', 'rejected'] as const;
export type ReplyStatus = (typeof REPLY_STATUSES)[number];

export const replySchema = z
  .object({
    protocolVersion: protocolVersionSchema,
    inReplyTo: messageIdSchema
      .nullable()
      .describe('The msgId replied to; null when it could not be read (unparsable or oversized payload).'),
    kind: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('The topic kind the message came on, as received (may be an unknown one).'),
    status: z.enum(REPLY_STATUSES),
    code: codeSchema
      .optional()
      .describe('Set on every rejection, and on an accepted duplicate (DUPLICATE_MESSAGE).'),
    message: z
      .string()
      .min(1)
      .max(MAX_REPLY_MESSAGE_LENGTH)
      .optional()
      .describe('A sentence for humans; set whenever code is.'),
    duplicate: z
      .literal(true)
      .optional()
      .describe(
        'The message id was seen before: this repeats the first reply and nothing was applied again.',
      ),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Machine-readable particulars (zod issues, the current epoch, a retry delay…).'),
  })
  .superRefine((r, ctx) => {
    if (r.status === 'rejected' && (!r.code || !r.message)) {
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'a rejection needs a code and a message' });
    }
    if (r.code !== undefined && r.message === undefined) {
      ctx.addIssue({ code: 'custom', path: ['message'], message: 'a code needs a message' });
    }
  })
  .describe('Exactly one per device message: accepted, or rejected with a code and a sentence.');
/** A reply as sent; `Reply` (reply.ts) is the same type plus its builders. */
export type ReplyMessage = z.infer<typeof replySchema>;

// -------------------------------------------------------------------------------------------- desired

export const desiredStateSchema = z
  .object({
    protocolVersion: protocolVersionSchema,
    version: positiveInt.describe(
      'Raised by one on every change, per device. The agent ignores a document not above the last one applied.',
    ),
    issuedAt: timestampSchema,
    plan: planRefSchema
      .nullable()
      .describe(
        'The partition plan revision the desired hypervisor binary is built from; null: keep the current one.',
      ),
    hypervisor: z
      .object({ version: versionLabelSchema, artefact: artefactSourceSchema, rolloutId: entityIdSchema })
      .nullable()
      .describe('Desired hypervisor binary; null: keep the running one.'),
    serviceVm: z
      .object({
        osImageVersion: versionLabelSchema,
        artefact: artefactSourceSchema,
        rolloutId: entityIdSchema,
      })
      .nullable()
      .describe('Desired Service VM OS image; null: keep the running one.'),
    rtVms: z
      .array(
        z.object({
          vmName: vmNameSchema,
          imageVersion: versionLabelSchema,
          artefact: artefactSourceSchema,
          rolloutId: entityIdSchema,
        }),
      )
      .max(64)
      .describe('Desired RT VM images; VMs not listed keep theirs.'),
  })
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.rtVms.forEach((vm, i) => {
      if (seen.has(vm.vmName)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rtVms', i, 'vmName'],
          message: `VM ${vm.vmName} is listed twice`,
        });
      }
      seen.add(vm.vmName);
    });
  })
  .describe('Retained, versioned desired state of one device. A zero-length retained payload clears it.');
export type DesiredState = z.infer<typeof desiredStateSchema>;
export type DesiredStateInput = z.input<typeof desiredStateSchema>;

// ------------------------------------------------------------------------------------------- commands

export const commandArgsSchemas = {
  'start-vm': z.object({ vmName: vmNameSchema }).describe('`acrnctl start`; the VM must be stopped.'),
  'stop-vm': z
    .object({ vmName: vmNameSchema, force: z.boolean().default(false) })
    .describe('`acrnctl stop [--force]`; the Device Model refuses a plain stop of a post-launched RTVM.'),
  'restart-vm': z
    .object({ vmName: vmNameSchema })
    .describe('`acrnctl reset`: stop, wait up to 30 s, start; from started or suspended.'),
  'delete-vm': z
    .object({ vmName: vmNameSchema })
    .describe("`acrnctl del`: removes the VM's configuration; the VM must be stopped."),
  'apply-plan': z
    .object({
      plan: planRefSchema,
      hypervisor: z.object({ version: versionLabelSchema, artefact: artefactSourceSchema }),
      reboot: z.boolean().default(true),
    })
    .describe(
      'Install the hypervisor binary built from this plan revision (the scenario is compiled into it), then reboot into it unless reboot is false.',
    ),
  reboot: z
    .object({
      reason: z.string().min(1).max(256),
      graceSeconds: z.int().min(0).max(300).default(60),
    })
    .describe(
      'Reboot the platform; user VMs get graceSeconds to shut down (the lifecycle manager waits at most 300 s).',
    ),
  shutdown: z
    .object({
      reason: z.string().min(1).max(256),
      graceSeconds: z.int().min(0).max(300).default(60),
    })
    .describe(
      'Power the platform off; user VMs get graceSeconds to shut down. The agent sends done after the birth of its next power-on.',
    ),
} as const satisfies { [K in CommandName]: z.ZodType };

function commandSchema<K extends CommandName>(name: K) {
  return z
    .object({
      protocolVersion: protocolVersionSchema,
      commandId: messageIdSchema.describe(
        'Unique per command; the agent dedupes redeliveries by it and quotes it in cmd-ack.',
      ),
      issuedAt: timestampSchema,
      expiresAt: timestampSchema.describe(
        'After this instant the agent must not start the command (cmd-ack failed, COMMAND_EXPIRED).',
      ),
      args: commandArgsSchemas[name],
    })
    .superRefine((c, ctx) => {
      if (Date.parse(c.expiresAt) <= Date.parse(c.issuedAt)) {
        ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after issuedAt' });
      }
    })
    .describe(`Command ${name}.`);
}

export const COMMAND_SCHEMAS = {
  'start-vm': commandSchema('start-vm'),
  'stop-vm': commandSchema('stop-vm'),
  'restart-vm': commandSchema('restart-vm'),
  'delete-vm': commandSchema('delete-vm'),
  'apply-plan': commandSchema('apply-plan'),
  reboot: commandSchema('reboot'),
  shutdown: commandSchema('shutdown'),
} as const;

export type CommandMap = { [K in CommandName]: z.infer<(typeof COMMAND_SCHEMAS)[K]> };
export type CommandInputMap = { [K in CommandName]: z.input<(typeof COMMAND_SCHEMAS)[K]> };
export type Command<K extends CommandName = CommandName> = CommandMap[K];
export type CommandArgs<K extends CommandName> = CommandMap[K]['args'];
