import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AGENT_ERROR_CODES,
  BACKEND_PAYLOAD_LIMITS,
  COMMAND_NAMES,
  DEVICE_MESSAGE_KINDS,
  DEVICE_PAYLOAD_LIMITS,
  MAX_TELEMETRY_SAMPLES,
  PROTOCOL_REPLY_CODES,
  decodeBackendMessage,
  decodeDeviceMessage,
  parseTopic,
} from '.';

/** docs/protocol.md is prose, but its examples, codes and limits must match the contracts. */
const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'protocol.md'), 'utf8');
const examples = [...doc.matchAll(/^Topic: `([^`]+)`\n\n```json\n([\s\S]*?)\n```/gm)].map((m) => ({
  topic: m[1],
  json: m[2],
}));

describe('docs/protocol.md', () => {
  it('has an example of every message', () => {
    const kinds = examples.map(({ topic }) => {
      const parsed = parseTopic(topic);
      if (!parsed.ok) throw new Error(`bad example topic ${topic}`);
      return parsed.kind === 'cmd' ? `cmd/${parsed.command}` : parsed.kind;
    });
    expect(new Set(kinds)).toEqual(
      new Set([...DEVICE_MESSAGE_KINDS, 'reply', 'desired', ...COMMAND_NAMES.map((c) => `cmd/${c}`)]),
    );
  });

  it('every example is a valid message', () => {
    expect(examples.length).toBeGreaterThanOrEqual(DEVICE_MESSAGE_KINDS.length + 2 + COMMAND_NAMES.length);
    for (const { topic, json } of examples) {
      const parsed = parseTopic(topic);
      const result =
        parsed.ok && parsed.direction === 'device-to-backend'
          ? decodeDeviceMessage(topic, json, { authenticatedDeviceId: parsed.deviceId })
          : decodeBackendMessage(topic, json, { deviceId: parsed.ok ? parsed.deviceId : '' });
      expect({ topic, result: result.ok ? 'ok' : result.message }).toEqual({ topic, result: 'ok' });
    }
  });

  it('documents every reply code and agent error code', () => {
    for (const code of PROTOCOL_REPLY_CODES) expect(doc).toMatch(new RegExp(`^\\| \`${code}\`\\s+\\|`, 'm'));
    for (const code of Object.keys(AGENT_ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
  });

  it('states the size limits the code enforces', () => {
    const limits: Record<string, number> = {
      ...DEVICE_PAYLOAD_LIMITS,
      reply: BACKEND_PAYLOAD_LIMITS.reply,
      desired: BACKEND_PAYLOAD_LIMITS.desired,
      'cmd/<name>': BACKEND_PAYLOAD_LIMITS.cmd,
    };
    for (const [kind, bytes] of Object.entries(limits)) {
      const row = new RegExp(
        `^\\| \`${kind.replace(/[/<>]/g, '\\$&')}\`\\s+\\| ${bytes / 1024} KiB\\s+\\|`,
        'm',
      );
      expect({ kind, documented: row.test(doc) }).toEqual({ kind, documented: true });
    }
    expect(doc).toContain(`1–${MAX_TELEMETRY_SAMPLES} samples`);
  });
});
