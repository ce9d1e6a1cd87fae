/**
 * The Kafka consumer contract: docs/asyncapi-kafka.json is valid AsyncAPI 3.0, generated from the
 * code's own schemas and up to date, every domain event type has a schema, and no published event
 * type's schema changes incompatibly (docs/event-schemas.snapshot.json).
 *
 * After a deliberate change, regenerate both files:
 *   HF_WRITE_CONTRACT=1 npx jest libs/messaging/src/asyncapi/kafka-asyncapi.spec.ts
 *   npx prettier --write docs/asyncapi-kafka.json docs/event-schemas.snapshot.json
 * (the snapshot only ever gains types, versions and compatible changes; an incompatible change
 * still fails: publish it as a new schemaVersion of the type).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { DOMAIN_EVENT_SCHEMAS, DOMAIN_EVENT_SCHEMA_VERSIONS } from '@hyperfleet/domain';
import { buildKafkaAsyncApiDocument } from './kafka-asyncapi';
import { publishedEventTypes } from './published-schemas';
import { breakingChanges } from './schema-compat';

const ROOT = join(__dirname, '..', '..', '..', '..');
const DOC_FILE = join(ROOT, 'docs', 'asyncapi-kafka.json');
const SNAPSHOT_FILE = join(ROOT, 'docs', 'event-schemas.snapshot.json');
const WRITE = process.env.HF_WRITE_CONTRACT === '1';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Snapshot {
  readonly note: string;
  readonly types: Record<string, { channel: string; versions: Record<string, Json> }>;
}

const readJson = (file: string): unknown =>
  existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
const writeJson = (file: string, value: unknown) =>
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

describe('Kafka consumer contract (docs/asyncapi-kafka.json)', () => {
  const doc = buildKafkaAsyncApiDocument() as Json;

  it('every domain event type has a data schema', () => {
    const withSchema = DOMAIN_EVENT_SCHEMAS.filter((s) => s.data !== undefined).map((s) => s.type);
    expect(withSchema.sort()).toEqual(Object.keys(DOMAIN_EVENT_SCHEMA_VERSIONS).sort());
    expect(withSchema.length).toBeGreaterThanOrEqual(30);
  });

  it('is a valid AsyncAPI 3.0 document with the three topics', async () => {
    const { document, diagnostics } = await new Parser().parse(doc as never);
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(
      document
        ?.channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['hyperfleet.device-events.v1', 'hyperfleet.telemetry.v1', 'hyperfleet.dead-letters.v1']);
    const perChannel = Object.fromEntries(
      Object.entries(doc.channels as Json).map(([id, c]) => [id, Object.keys((c as Json).messages).length]),
    );
    expect(perChannel).toEqual({
      deviceEvents: DOMAIN_EVENT_SCHEMAS.length,
      telemetry: 3,
      deadLetters: 1,
    });
  });

  it('docs/asyncapi-kafka.json is the generated document', () => {
    if (WRITE) writeJson(DOC_FILE, doc);
    expect(readJson(DOC_FILE)).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('no published event type changed incompatibly (a new schemaVersion is the way to break)', () => {
    const snapshot: Snapshot = existsSync(SNAPSHOT_FILE)
      ? (JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')) as Snapshot)
      : { note: '', types: {} };
    const next: Snapshot = {
      note:
        'Every published event type and schema version with the JSON Schema of its data. Checked by ' +
        'libs/messaging/src/asyncapi/kafka-asyncapi.spec.ts; entries are only ever added.',
      types: JSON.parse(JSON.stringify(snapshot.types)),
    };
    const problems: string[] = [];
    const published = publishedEventTypes();
    for (const t of published) {
      const known = snapshot.types[t.type]?.versions[String(t.schemaVersion)];
      if (!known) {
        if (!WRITE)
          problems.push(
            `${t.type} v${t.schemaVersion}: not in the snapshot (record it: HF_WRITE_CONTRACT=1)`,
          );
        next.types[t.type] ??= { channel: t.channel, versions: {} };
        next.types[t.type].versions[String(t.schemaVersion)] = t.data;
        continue;
      }
      const broken = breakingChanges(known, t.data);
      if (broken.length) problems.push(...broken.map((b) => `${t.type} v${t.schemaVersion}: ${b}`));
      else next.types[t.type].versions[String(t.schemaVersion)] = t.data;
    }
    for (const type of Object.keys(snapshot.types)) {
      if (!published.some((t) => t.type === type)) problems.push(`${type}: a published type is gone`);
    }
    if (WRITE && problems.length === 0) writeJson(SNAPSHOT_FILE, next);
    expect(problems).toEqual([]);
    // Compatible changes are recorded too, so the snapshot always shows what is published.
    expect(readJson(SNAPSHOT_FILE)).toEqual(next);
  });
});

describe('breakingChanges', () => {
  const v1 = {
    type: 'object',
    required: ['deviceId', 'state'],
    properties: {
      deviceId: { type: 'string' },
      state: { type: 'string', enum: ['stopped', 'started'] },
      note: { type: 'string' },
    },
  };
  const change = (f: (s: Json) => void) => {
    const s = JSON.parse(JSON.stringify(v1)) as Json;
    f(s);
    return breakingChanges(v1, s);
  };

  it('accepts a new optional field, a new enum value and a description', () => {
    expect(
      change((s) => {
        s.properties.extra = { type: 'number' };
        s.properties.state.enum.push('suspended');
        s.properties.deviceId.description = 'the device';
      }),
    ).toEqual([]);
  });

  it('refuses a removed field, a changed type, a new required field, a removed enum value', () => {
    expect(change((s) => delete s.properties.note)).toEqual(['data.note: field removed']);
    expect(change((s) => (s.properties.deviceId = { type: 'number' }))).toEqual([
      'data.deviceId: type changed from string to number',
    ]);
    expect(
      change((s) => {
        s.properties.budget = { type: 'number' };
        s.required.push('budget');
      }),
    ).toEqual(['data.budget: new required field']);
    expect(change((s) => (s.properties.state.enum = ['stopped']))).toEqual([
      'data.state: enum values removed: "started"',
    ]);
    expect(change((s) => (s.required = ['deviceId']))).toEqual([
      'data.state: required field became optional',
    ]);
  });
});
