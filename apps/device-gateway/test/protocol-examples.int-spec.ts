/**
 * docs/protocol.md's examples, exactly as printed, through a real MQTT client against the gateway
 * (embedded aedes broker, real Postgres): every device example is accepted, and the VMs its birth
 * announces are recorded (the RTVM in rt-vm-…, HMI_VM and the Service VM in vm-…).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseTopic } from '@hyperfleet/contracts';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { streamIds } from '@hyperfleet/domain';
import { startGateway, type Harness, type TestAgent } from './harness';

const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'protocol.md'), 'utf8');
const examples = [...doc.matchAll(/^Topic: `([^`]+)`\n\n```json\n([\s\S]*?)\n```/gm)].map((m) => ({
  topic: m[1],
  text: m[2],
}));
const deviceExamples = examples
  .filter((e) => {
    const p = parseTopic(e.topic);
    return p.ok && p.direction === 'device-to-backend';
  })
  // In sequence order, as an agent sends them.
  .sort((a, b) => (JSON.parse(a.text) as { seq: number }).seq - (JSON.parse(b.text) as { seq: number }).seq);

describe('docs/protocol.md examples against the gateway', () => {
  let h: Harness;
  let agent: TestAgent;
  const deviceId = 'ipc-0042';

  beforeAll(async () => {
    h = await startGateway();
    await h.provision(deviceId);
    agent = await h.agent(deviceId);
  });
  afterAll(async () => {
    await agent?.close();
    await h?.close();
  });

  it('has every device message kind', () => {
    expect(deviceExamples.map((e) => e.topic.split('/')[3]).sort()).toEqual(
      ['birth', 'cmd-ack', 'health', 'status', 'telemetry', 'update-progress', 'vm-state'].sort(),
    );
  });

  it('accepts every device example, byte for byte as printed', async () => {
    // The cmd-ack example acknowledges a command the backend sent: put it in the command log, sent.
    const ack = JSON.parse(examples.find((e) => e.topic.endsWith('/cmd-ack'))!.text) as {
      payload: { commandId: string };
    };
    const commands = h.app.get(DeviceCommandStore);
    await commands.record({
      commandId: ack.payload.commandId,
      deviceId,
      name: 'start-vm',
      args: { vmName: 'HMI_VM' },
      deliverBy: new Date(Date.now() + 3_600_000),
      decidedAt: new Date(),
    });
    await commands.markSent(ack.payload.commandId, new Date());

    for (const { topic, text } of deviceExamples) {
      const msgId = (JSON.parse(text) as { msgId: string }).msgId;
      const reply = await agent.sendRaw(topic, text, msgId);
      expect({ topic, status: reply.status, code: reply.code ?? null }).toEqual({
        topic,
        status: 'accepted',
        code: null,
      });
    }
  });

  it('records every VM of the birth: the RTVM, the standard VM and the Service VM', async () => {
    const types = async (stream: string) => (await h.store.readStream(stream)).map((e) => e.type);
    expect(await types(streamIds.rtVm(deviceId, 'RT_VM0'))).toContain('RtVmRegistered');
    // The vm-state example started HMI_VM.
    expect(await types(streamIds.vm(deviceId, 'HMI_VM'))).toEqual(['VmRegistered', 'VmStateReported']);
    const svc = await h.store.readStream(streamIds.vm(deviceId, 'Service_VM'));
    expect(svc.map((e) => [e.type, (e.data as { loadOrder: string; state: string }).loadOrder])).toEqual([
      ['VmRegistered', 'SERVICE_VM'],
    ]);
  });

  it('a vm-state for the Service VM is SERVICE_VM_NOT_ACRNCTL_MANAGED; for an unknown VM VM_NOT_REGISTERED', async () => {
    agent.epoch = 7;
    const seq = 100;
    const send = async (vmName: string, s: number) => {
      const msgId = randomUUID();
      const m = {
        protocolVersion: 1,
        msgId,
        epoch: 7,
        seq: s,
        sentAt: new Date().toISOString(),
        payload: { vmName, state: 'stopped' },
      };
      return agent.sendRaw(`hf/v1/${deviceId}/vm-state`, JSON.stringify(m), msgId);
    };
    expect(await send('Service_VM', seq)).toMatchObject({
      status: 'rejected',
      code: 'SERVICE_VM_NOT_ACRNCTL_MANAGED',
    });
    expect(await send('NOPE_VM', seq + 1)).toMatchObject({ status: 'rejected', code: 'VM_NOT_REGISTERED' });
  });

  it('forbidden publishes (the backend examples, another device, outside hf/v1) are answered, never delivered', async () => {
    const backendExamples = examples.filter((e) => {
      const p = parseTopic(e.topic);
      return p.ok && p.direction === 'backend-to-device';
    });
    expect(backendExamples.length).toBeGreaterThanOrEqual(3);
    const replies = agent.replies.length;
    const received = agent.received.length;
    for (const { topic, text } of backendExamples) {
      const reply = await agent.sendRaw(topic, text, null);
      expect({ topic, status: reply.status, code: reply.code }).toEqual({
        topic,
        status: 'rejected',
        code: 'UNKNOWN_TYPE',
      });
    }
    const forged = { ...(JSON.parse(deviceExamples[1].text) as object), msgId: randomUUID() };
    expect(await agent.sendRaw('hf/v1/ipc-0043/status', JSON.stringify(forged), null)).toMatchObject({
      status: 'rejected',
      code: 'IDENTITY_MISMATCH',
    });
    expect(await agent.sendRaw('plant/floor-1/cmd', '{}', null)).toMatchObject({
      status: 'rejected',
      code: 'INVALID_TOPIC',
    });
    // Only the gateway's answers came back: nothing the device published reached its own subscriptions.
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.replies.length - replies).toBe(backendExamples.length + 2);
    expect(agent.received.slice(received)).toEqual([]);
    expect(agent.client.connected).toBe(true);
  });
});
