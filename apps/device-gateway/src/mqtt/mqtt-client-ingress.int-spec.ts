import { connect, type MqttClient } from 'mqtt';
import { hasMosquitto, startMosquitto, type MosquittoServer } from '@hyperfleet/testing';
import type { DeviceIngress, IngressInput, IngressResult } from '../ingress/device-ingress';
import { MqttClientIngress } from './mqtt-client-ingress';

if (!hasMosquitto() && process.env.CI === 'true')
  throw new Error('CI=true but the mosquitto binary is missing');
const describeMosquitto = hasMosquitto() ? describe : describe.skip;
if (!hasMosquitto()) console.warn('SKIPPED: no mosquitto binary on PATH (apt-get install mosquitto)');

/**
 * The adapter against a real Mosquitto 2, with the ingress replaced by one whose timing the test
 * controls (the ingress itself is covered by the gateway suites): several messages of one connection
 * are in the ingress at once, and still each PUBACK waits for its message and they leave in order.
 */
describeMosquitto('MqttClientIngress: pipelined messages, PUBACKs in arrival order (real Mosquitto)', () => {
  let broker: MosquittoServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await broker?.stop();
  });

  it('takes up to `inflight` messages at once, and acknowledges each after its effect, in the order they came', async () => {
    const N = 20;
    let inIngress = 0;
    let most = 0;
    const finished: number[] = [];
    const durable = new Set<number>();
    const ingress = {
      async handle(input: IngressInput): Promise<IngressResult> {
        const n = Number(JSON.parse(input.payload.toString()).n);
        inIngress++;
        most = Math.max(most, inIngress);
        // Later messages finish first.
        await new Promise((r) => setTimeout(r, 10 + (N - n) * 15));
        inIngress--;
        finished.push(n);
        durable.add(n);
        return { reply: null, status: 'accepted', duplicate: false };
      },
    } as unknown as DeviceIngress;

    const adapter = new MqttClientIngress(
      {
        url: broker.url,
        connections: 1,
        inflight: 8,
        sharedGroup: `pipe-${Date.now()}`,
        instanceId: 'gw-test',
        protocolVersion: 5,
        sessionExpirySeconds: 60,
      },
      ingress,
    );
    await adapter.start();
    try {
      // What the consuming connection received and what it acknowledged, packet by packet.
      const consumer = (adapter as unknown as { clients: MqttClient[] }).clients[0];
      const received: number[] = [];
      const acked: { messageId: number; durableBefore: number }[] = [];
      const idToN = new Map<number, number>();
      consumer.on('packetreceive', (p) => {
        if (p.cmd === 'publish' && p.messageId !== undefined) {
          received.push(p.messageId);
          idToN.set(p.messageId, Number(JSON.parse(p.payload.toString()).n));
        }
      });
      consumer.on('packetsend', (p) => {
        if (p.cmd === 'puback') acked.push({ messageId: p.messageId!, durableBefore: durable.size });
      });

      const device = await connect(broker.url, { clientId: 'dev-pipe', protocolVersion: 5 });
      clients.push(device);
      await new Promise((r) => device.once('connect', r));
      await Promise.all(
        Array.from({ length: N }, (_, n) =>
          device.publishAsync('hf/v1/dev-pipe/telemetry', JSON.stringify({ n }), { qos: 1 }),
        ),
      );
      const deadline = Date.now() + 15_000;
      while (acked.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

      expect(acked).toHaveLength(N);
      // Pipelined: more than one message of the one connection in the ingress at a time. (How many is
      // the broker's call: Mosquitto 2.0.11 sent the first 8, then up to its own max_inflight_messages.)
      expect(most).toBeGreaterThan(1);
      // Handled out of order (the test's timing), acknowledged in arrival order.
      expect(finished).not.toEqual([...finished].sort((a, b) => a - b));
      expect(acked.map((a) => a.messageId)).toEqual(received);
      // No PUBACK before its own message's effect: the k-th PUBACK leaves once messages 0..k are done.
      acked.forEach((a, k) => {
        expect(durable.has(idToN.get(a.messageId)!)).toBe(true);
        expect(a.durableBefore).toBeGreaterThanOrEqual(k + 1);
      });
    } finally {
      await adapter.stop();
    }
  });
});
