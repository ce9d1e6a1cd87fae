import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import {
  COMMAND_NAMES,
  DEVICE_MESSAGE_KINDS,
  DEVICE_PAYLOAD_LIMITS,
  PROTOCOL_REPLY_CODES,
  buildAsyncApiDocument,
  decodeDeviceMessage,
  parseTopic,
  type AsyncApiDocument,
} from '.';

const ROOT = join(__dirname, '..', '..', '..');
const DOCS_FILE = join(ROOT, 'docs', 'asyncapi.json');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('AsyncAPI document', () => {
  const doc = buildAsyncApiDocument() as Json;

  it('is a valid AsyncAPI 3.0 document (no error or warning diagnostics)', async () => {
    const { document, diagnostics } = await new Parser().parse(doc as AsyncApiDocument);
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(document).toBeDefined();
    expect(document?.version()).toBe('3.0.0');
    expect(document?.channels().length).toBe(DEVICE_MESSAGE_KINDS.length + 2 + COMMAND_NAMES.length);
  });

  it('has a channel per topic, each with the deviceId parameter', () => {
    const addresses = Object.values(doc.channels as Json).map((c: Json) => c.address);
    for (const kind of DEVICE_MESSAGE_KINDS) expect(addresses).toContain(`hf/v1/{deviceId}/${kind}`);
    for (const command of COMMAND_NAMES) expect(addresses).toContain(`hf/v1/{deviceId}/cmd/${command}`);
    expect(addresses).toEqual(expect.arrayContaining(['hf/v1/{deviceId}/reply', 'hf/v1/{deviceId}/desired']));
    for (const channel of Object.values(doc.channels as Json)) {
      expect(channel.parameters).toEqual({ deviceId: { $ref: '#/components/parameters/deviceId' } });
      // every address is a real topic once the parameter is filled in
      expect(parseTopic(channel.address.replace('{deviceId}', 'dev-1'))).toMatchObject({ ok: true });
    }
  });

  it('receives device messages (with a reply) and sends the rest, from the backend’s point of view', () => {
    const ops = Object.values(doc.operations as Json);
    const receive = ops.filter((o: Json) => o.action === 'receive');
    expect(receive).toHaveLength(DEVICE_MESSAGE_KINDS.length);
    for (const op of receive) expect(op.reply.channel).toEqual({ $ref: '#/channels/reply' });
    expect(ops.filter((o: Json) => o.action === 'send')).toHaveLength(2 + COMMAND_NAMES.length);
    expect(doc.operations.receiveStatus.bindings.mqtt).toEqual({
      qos: 1,
      retain: true,
      bindingVersion: '0.2.0',
    });
    expect(doc.operations.sendDesired.bindings.mqtt).toMatchObject({ qos: 1, retain: true });
    expect(doc.operations.receiveTelemetry.bindings.mqtt).toMatchObject({ qos: 1, retain: false });
  });

  it('carries JSON Schema payloads from zod and valid examples', () => {
    const messages = doc.components.messages as Json;
    expect(messages.birth.payload.properties.seq).toMatchObject({ const: 0 });
    expect(messages.birth.payload.properties.payload.properties.board.additionalProperties).toBe(false);
    expect(messages.vmState.payload.properties.payload.properties.state.enum).toEqual([
      'stopped',
      'started',
      'suspended',
      'untracked',
      'unknown',
    ]);
    expect(messages.status.description).toContain(`${DEVICE_PAYLOAD_LIMITS.status / 1024} KiB`);
    for (const code of PROTOCOL_REPLY_CODES) expect(messages.reply.description).toContain(`| ${code} |`);
    for (const kind of DEVICE_MESSAGE_KINDS) {
      const id = kind.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      for (const example of messages[id].examples) {
        const decoded = decodeDeviceMessage(`hf/v1/ipc-0042/${kind}`, JSON.stringify(example.payload), {
          authenticatedDeviceId: 'ipc-0042',
        });
        expect(decoded.ok).toBe(true);
      }
    }
  });

  it('is deterministic', () => {
    expect(JSON.stringify(buildAsyncApiDocument())).toBe(JSON.stringify(doc));
  });

  it('docs/asyncapi.json is the generated document (run `node dist/scripts/generate-asyncapi.js` after a change)', () => {
    const committed = JSON.parse(readFileSync(DOCS_FILE, 'utf8')) as unknown;
    expect(committed).toEqual(doc);
    // … with the same key order: only Prettier's layout may differ from JSON.stringify.
    expect(JSON.stringify(committed) === JSON.stringify(doc)).toBe(true);
  });
});

describe('@hyperfleet/contracts stays pure', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sources(path);
      return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
    });

  it('imports no I/O library', () => {
    const forbidden =
      /from '(node:)?(fs|net|http|https|tls|dgram|child_process|fs\/promises)'|from '(mqtt|aedes|pg|typeorm|kafkajs|@nestjs\/[a-z-]+)'|from '@hyperfleet\/(?!acrn')/;
    const offenders = sources(__dirname).filter((file) => forbidden.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
