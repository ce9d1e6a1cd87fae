/**
 * Issue 11, part 3: every record an end-to-end run produces conforms to the consumer contract
 * (docs/asyncapi-kafka.json), checked by an independent validator (ajv) against the document as
 * written, not against the code that generated it. The gateway runs on the PostgreSQL-log transport
 * (same CloudEvents as on Kafka: the transports share toCloudEvent and the gateway's records); the
 * records are read the way a consumer reads them, through the transport's subscriptions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { CommandBus } from '@nestjs/cqrs';
import { ChangeRtVmLatencyBudget, StopRtVm, UpdateDeviceLabels } from '@hyperfleet/domain';
import { topicName, type Delivery, type EventTransport } from '@hyperfleet/messaging';
import { EVENT_TRANSPORT } from '@hyperfleet/platform';
import { startGateway, uniqueId, type Harness, type TestAgent } from './harness';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DOC = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', 'docs', 'asyncapi-kafka.json'), 'utf8'),
) as Json;

/** topic → CloudEvent type → validator of the whole record value, from the document alone. */
function validators(): Map<string, Map<string, ValidateFunction>> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const byTopic = new Map<string, Map<string, ValidateFunction>>();
  for (const channel of Object.values(DOC.channels as Json)) {
    const types = new Map<string, ValidateFunction>();
    for (const ref of Object.values(channel.messages as Json)) {
      const name = (ref.$ref as string).split('/').pop()!;
      const message = DOC.components.messages[name];
      types.set(message.payload.properties.type.const, ajv.compile(message.payload));
    }
    byTopic.set(channel.address, types);
  }
  return byTopic;
}

describe('every record of an end-to-end run conforms to docs/asyncapi-kafka.json', () => {
  let h: Harness;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    h = await startGateway();
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await h?.close();
  });

  async function read(transport: EventTransport, channel: 'device-events' | 'telemetry') {
    const got: Delivery[] = [];
    const sub = await transport.subscribe({
      group: `contract-${channel}`,
      channel,
      handle: async (b) => void got.push(...b),
    });
    await sub.waitUntilCaughtUp(30_000);
    await sub.stop();
    return got;
  }

  it('domain events and telemetry records validate against their message schemas', async () => {
    for (let i = 0; i < 2; i++) {
      const id = uniqueId('contract');
      await h.provision(id);
      const a = await h.agent(id);
      agents.push(a);
      expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
      for (const kind of ['vm-state', 'health', 'telemetry', 'update-progress'] as const) {
        const m = a.message(kind);
        if (kind === 'vm-state') {
          (m as Json).payload = { vmName: 'RT_VM0', state: 'stopped', observedAt: new Date().toISOString() };
        }
        expect(await a.send(kind, m as never)).toMatchObject({ status: 'accepted' });
      }
      const bus = h.app.get(CommandBus);
      await bus.execute(new UpdateDeviceLabels({ deviceId: id, site: 'plant-7', tags: ['line-2'] }));
      await bus.execute(new ChangeRtVmLatencyBudget({ deviceId: id, vmName: 'RT_VM0', budgetUs: 80 }));
      await bus.execute(new StopRtVm({ deviceId: id, vmName: 'RT_VM0' })).catch(() => undefined);
    }

    const transport = h.app.get<EventTransport>(EVENT_TRANSPORT);
    const check = validators();
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const channel of ['device-events', 'telemetry'] as const) {
      const records = await read(transport, channel);
      expect(records.length).toBeGreaterThan(0);
      const topic = topicName(channel);
      for (const r of records) {
        seen.add(r.event.type);
        const validate = check.get(topic)?.get(r.event.type);
        if (!validate) {
          failures.push(`${topic}: ${r.event.type} is not in the document`);
          continue;
        }
        if (!validate(JSON.parse(JSON.stringify(r.event)))) {
          failures.push(`${topic} ${r.event.type} ${r.event.id}: ${JSON.stringify(validate.errors)}`);
        }
        // Key rule: the device id (device streams), else the stream id.
        const deviceId = (r.event.data as Json).deviceId ?? r.event.subject;
        if (r.key !== deviceId) failures.push(`${topic} ${r.event.id}: key ${r.key}, expected ${deviceId}`);
      }
    }
    expect(failures).toEqual([]);
    // The validator does bite: a record without a required data field is refused.
    const online = check.get('hyperfleet.device-events.v1')!.get('DeviceWentOnline')!;
    expect(
      online({ specversion: '1.0', id: 'x', source: 's', type: 'DeviceWentOnline', data: { at: 'now' } }),
    ).toBe(false);
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'DeviceProvisioned',
        'DeviceWentOnline',
        'BoardInventoryReported',
        'RtVmRegistered',
        'RtVmStateReported',
        'RtVmLatencyReported',
        'DeviceLabelsUpdated',
        'RtVmLatencyBudgetChanged',
        'ServiceVmBooted',
        'hf.device.telemetry',
        'hf.device.health',
        'hf.device.update-progress',
      ]),
    );
  }, 120_000);
});
