import {
  COMMAND_NAMES,
  DELIVERY,
  DEVICE_MESSAGE_KINDS,
  DEVICE_PAYLOAD_LIMITS,
  BACKEND_PAYLOAD_LIMITS,
  MAX_TELEMETRY_SAMPLES,
  PROTOCOL_VERSION,
  type CommandName,
  type DeviceMessageKind,
  type TopicKind,
} from './protocol';
import { DEVICE_ID_PATTERN } from './ids';
import { PROTOCOL_REPLY_CODES, REPLY_CODES } from './reply-codes';
import { COMMAND_SCHEMAS, desiredStateSchema, replySchema } from './schemas/backend';
import { DEVICE_MESSAGE_SCHEMAS } from './schemas/device';
import { exampleCommands, exampleDesiredState, exampleDeviceMessages, exampleReplies } from './examples';
import { toJsonSchema, type JsonSchema } from './json-schema';
import { channelAddress } from './topics';

/**
 * The AsyncAPI 3.0 document of the agent protocol, generated from the contracts: one channel per topic
 * (with the `{deviceId}` parameter), operations from the backend's point of view (it receives device
 * messages and replies to each, and sends desired state and commands), payloads as JSON Schema from zod.
 * scripts/generate-asyncapi.ts writes it to docs/asyncapi.json; a test keeps that file from drifting.
 */

/** A plain AsyncAPI 3.0 document (JSON-serialisable). */
export type AsyncApiDocument = { asyncapi: string } & Record<string, unknown>;

const MQTT_BINDING_VERSION = '0.2.0';

const SUMMARIES: { readonly [K in DeviceMessageKind]: string } = {
  birth: 'The agent connected: board inventory, hypervisor, Service VM and VMs. Opens a new epoch (seq 0).',
  'vm-state': "A VM's acrnctl state changed, or the Device Model reported an event for it.",
  'update-progress': 'An OTA update (hypervisor binary, Service VM image, RT VM image) reached a stage.',
  health: 'RT VM latency (worst case, average, jitter, histogram), Service VM load, Device Model health.',
  telemetry: `A batch of per-VM samples (CPU, memory, RT latency); at most 64 KiB and ${MAX_TELEMETRY_SAMPLES} samples.`,
  status: 'online after the birth is accepted; offline as the last will or on a clean shutdown. Retained.',
  'cmd-ack': 'Acknowledges a command: accepted, then done or failed (with an error).',
};

const COMMAND_SUMMARIES: { readonly [K in CommandName]: string } = {
  'start-vm': 'Start a stopped post-launched VM (acrnctl start).',
  'stop-vm': 'Stop a VM (acrnctl stop; force for a post-launched RTVM, which refuses a plain stop).',
  'restart-vm': 'Reset a started or suspended VM (acrnctl reset: stop, wait up to 30 s, start).',
  'delete-vm': "Delete a stopped VM's configuration (acrnctl del).",
  'apply-plan': 'Install the hypervisor binary built from a partition plan revision and reboot into it.',
  reboot: 'Reboot the platform, giving user VMs graceSeconds to shut down.',
  shutdown: 'Power the platform off, giving user VMs graceSeconds to shut down; done follows the next boot.',
};

const CROSS_FIELD_RULES: Partial<Record<DeviceMessageKind | 'reply' | 'desired' | 'cmd', string>> = {
  birth:
    'Besides the schema: VM names are unique (the Service VM included) and every pinned pCPU exists on the board; the board passes @hyperfleet/acrn rules (pCPU ids unique, caches name existing pCPUs, memory ranges add up).',
  'vm-state': 'Besides the schema: rtcDeltaSeconds only with event VM_EVENT_RTC_CHG.',
  'update-progress':
    'Besides the schema: error is required for stages failed and rolled-back, and absent otherwise.',
  health: 'Besides the schema: windowEnd is not before windowStart; min ≤ avg ≤ worst case.',
  'cmd-ack': 'Besides the schema: error is required for outcome failed, and absent otherwise.',
  reply: 'Besides the schema: a rejection has a code and a message; a code always comes with a message.',
  desired: 'Besides the schema: an RT VM is listed at most once.',
  cmd: 'Besides the schema: expiresAt is after issuedAt.',
};

function camel(name: string): string {
  return name.replace(/[-/]([a-z])/g, (_, c: string) => c.toUpperCase());
}

function kib(bytes: number): string {
  return `${bytes / 1024} KiB`;
}

function deliveryText(kind: TopicKind): string {
  const d = DELIVERY[kind];
  return `QoS ${d.qos}, ${d.retain ? 'retained' : 'not retained'}`;
}

function operationBinding(kind: TopicKind) {
  return {
    mqtt: { qos: DELIVERY[kind].qos, retain: DELIVERY[kind].retain, bindingVersion: MQTT_BINDING_VERSION },
  };
}

function replyCodesTable(): string {
  const rows = PROTOCOL_REPLY_CODES.map(
    (code) =>
      `| ${code} | ${REPLY_CODES[code].status} | ${REPLY_CODES[code].retryable ? 'yes' : 'no'} | ${REPLY_CODES[code].meaning} |`,
  );
  return [
    '| code | status | retryable | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '| any other UPPER_SNAKE_CASE code | rejected | no | A domain rejection passed through, e.g. RTVM_NOT_STOPPED. |',
  ].join('\n');
}

export function buildAsyncApiDocument(): AsyncApiDocument {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const deviceExamples = exampleDeviceMessages();
  const replyExamples = exampleReplies();
  const commandExamples = exampleCommands();

  const addChannel = (
    id: string,
    address: string,
    description: string,
    message: {
      title: string;
      summary: string;
      description: string;
      payload: JsonSchema;
      examples: unknown[];
    },
  ) => {
    messages[id] = {
      name: id,
      title: message.title,
      summary: message.summary,
      description: message.description,
      contentType: 'application/json',
      payload: message.payload,
      examples: message.examples.map((payload, i) => ({ name: `${id}Example${i + 1}`, payload })),
    };
    channels[id] = {
      address,
      title: message.title,
      description,
      parameters: { deviceId: { $ref: '#/components/parameters/deviceId' } },
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
    };
  };

  // The reply channel first: the device operations point at it.
  addChannel(
    'reply',
    channelAddress('reply'),
    `Backend → device. ${deliveryText('reply')}. Exactly one per device message.`,
    {
      title: 'Reply',
      summary:
        'accepted, or rejected with a machine-readable code and a sentence; duplicate: true for a redelivery.',
      description: [
        `At most ${kib(BACKEND_PAYLOAD_LIMITS.reply)}. ${CROSS_FIELD_RULES.reply}`,
        '',
        replyCodesTable(),
      ].join('\n'),
      payload: toJsonSchema(replySchema),
      examples: [replyExamples.accepted, replyExamples.rejected, replyExamples.duplicate],
    },
  );

  for (const kind of DEVICE_MESSAGE_KINDS) {
    const id = camel(kind);
    const ordering =
      DELIVERY[kind].ordering === 'ordered'
        ? 'Ordered: its seq must be above the last one processed in the epoch.'
        : 'Checked against the epoch only; never moves the sequence.';
    addChannel(id, channelAddress(kind), `Device → backend. ${deliveryText(kind)}. ${ordering}`, {
      title: kind,
      summary: SUMMARIES[kind],
      description: [`At most ${kib(DEVICE_PAYLOAD_LIMITS[kind])}.`, CROSS_FIELD_RULES[kind] ?? '']
        .filter(Boolean)
        .join(' '),
      payload: toJsonSchema(DEVICE_MESSAGE_SCHEMAS[kind]),
      examples: [deviceExamples[kind]],
    });
    operations[`receive${id[0].toUpperCase()}${id.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: SUMMARIES[kind],
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
      bindings: operationBinding(kind),
      reply: {
        channel: { $ref: '#/channels/reply' },
        messages: [{ $ref: '#/channels/reply/messages/reply' }],
      },
    };
  }

  operations.sendReply = {
    action: 'send',
    channel: { $ref: '#/channels/reply' },
    summary: 'Answer one device message (after its effect is durable, before the PUBACK).',
    messages: [{ $ref: '#/channels/reply/messages/reply' }],
    bindings: operationBinding('reply'),
  };

  addChannel(
    'desired',
    channelAddress('desired'),
    `Backend → device. ${deliveryText('desired')}. The latest document stays on the broker; a zero-length retained publish clears it.`,
    {
      title: 'Desired state',
      summary:
        'Versioned desired versions of the hypervisor, Service VM and RT VM images, and the partition plan.',
      description: `At most ${kib(BACKEND_PAYLOAD_LIMITS.desired)}. The agent applies a document only when its version is above the last one applied, and reports that version in birth. ${CROSS_FIELD_RULES.desired}`,
      payload: toJsonSchema(desiredStateSchema),
      examples: [exampleDesiredState()],
    },
  );
  operations.sendDesired = {
    action: 'send',
    channel: { $ref: '#/channels/desired' },
    summary: 'Publish the device’s desired state (retained).',
    messages: [{ $ref: '#/channels/desired/messages/desired' }],
    bindings: operationBinding('desired'),
  };

  for (const command of COMMAND_NAMES) {
    const id = camel(`cmd-${command}`);
    addChannel(
      id,
      channelAddress('cmd', command),
      `Backend → device. ${deliveryText('cmd')}. The agent answers on cmd-ack.`,
      {
        title: `cmd/${command}`,
        summary: COMMAND_SUMMARIES[command],
        description: `At most ${kib(BACKEND_PAYLOAD_LIMITS.cmd)}. ${CROSS_FIELD_RULES.cmd}`,
        payload: toJsonSchema(COMMAND_SCHEMAS[command]),
        examples: [commandExamples[command]],
      },
    );
    operations[`send${id[0].toUpperCase()}${id.slice(1)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      summary: COMMAND_SUMMARIES[command],
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
      bindings: operationBinding('cmd'),
    };
  }

  return {
    asyncapi: '3.0.0',
    id: `urn:hyperfleet:agent-protocol:v${PROTOCOL_VERSION}`,
    info: {
      title: 'Hyperfleet agent protocol',
      version: `${PROTOCOL_VERSION}.0.0`,
      description: [
        'MQTT protocol between the agent in an ACRN Service VM and the Hyperfleet device gateway. Generated from',
        'libs/contracts (`npm run build && node dist/scripts/generate-asyncapi.js`); docs/protocol.md is the prose.',
        '',
        'Every device message carries an envelope (protocolVersion, msgId, epoch, seq, sentAt) and gets exactly one',
        'reply. The gateway checks size, topic and kind, identity, JSON, schema; then rate limit, msgId dedupe and',
        'the epoch/sequence rule. Operations are written from the backend’s point of view. MQTT 3.1.1 suffices.',
      ].join('\n'),
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      embedded: {
        host: '127.0.0.1:1884',
        protocol: 'mqtt',
        protocolVersion: '3.1.1',
        description: 'The aedes broker `npm start` embeds (MQTT 3.1.1).',
      },
      production: {
        host: '{broker}:8883',
        protocol: 'secure-mqtt',
        protocolVersion: '3.1.1',
        description:
          'Mosquitto, EMQX or HiveMQ over TLS; agents authenticate with a client certificate whose CN is the device id.',
        variables: { broker: { default: 'mqtt.example.com', description: 'Broker host name.' } },
        security: [{ $ref: '#/components/securitySchemes/clientCertificate' }],
      },
    },
    channels,
    operations,
    components: {
      parameters: {
        deviceId: {
          description: `Device id: ${DEVICE_ID_PATTERN.source} (letters, digits, ".", "_", ":" and "-"; at most 128; no MQTT wildcards).`,
          examples: ['ipc-0042'],
        },
      },
      securitySchemes: {
        clientCertificate: { type: 'X509', description: 'TLS client certificate; its CN is the device id.' },
      },
      messages,
    },
  };
}
