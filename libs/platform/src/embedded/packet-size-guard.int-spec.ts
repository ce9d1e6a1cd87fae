/**
 * The embedded broker refuses a packet above the maximum at its header: an 8 MiB PUBLISH closes the
 * connection and the broker's process does not grow by the packet's size; packets up to the maximum
 * pass.
 */
import * as net from 'node:net';
import { connect } from 'mqtt';
import { RECOMMENDED_MAX_PACKET_BYTES } from '@hyperfleet/contracts';
import { freePort } from '@hyperfleet/testing';
import { EMBEDDED_MAX_PACKET_BYTES, EmbeddedMqttBroker } from './embedded-mqtt';
import { MqttPacketSizeGuard } from './packet-size-guard';

const MiB = 1024 * 1024;

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4]),
    Buffer.from('MQTT'),
    Buffer.from([4, 2, 0, 60]),
    Buffer.from([0, id.length]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

function publishHeader(topic: string, payloadBytes: number): Buffer {
  const t = Buffer.from(topic);
  const remaining = 2 + t.length + payloadBytes;
  return Buffer.concat([Buffer.from([0x30]), varint(remaining), Buffer.from([0, t.length]), t]);
}

describe('embedded broker packet size limit', () => {
  let broker: EmbeddedMqttBroker;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    broker = new EmbeddedMqttBroker({ host: '127.0.0.1', port });
    await broker.start();
  });
  afterAll(() => broker?.stop());

  it('is the documented maximum', () => {
    expect(EMBEDDED_MAX_PACKET_BYTES).toBe(RECOMMENDED_MAX_PACKET_BYTES);
  });

  it('closes the connection at the header of an 8 MiB PUBLISH, before a byte of its body is sent', async () => {
    // Only the fixed header goes out: a broker that meant to read the packet would wait for the body
    // (an unguarded aedes buffers all 8 MiB); this one closes at once. Memory is the bench's business.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined); // ECONNRESET once the broker closes
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(connectPacket('big-1'));
    await new Promise<void>((r) => socket.once('data', () => r())); // CONNACK
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(publishHeader('hf/v1/big-1/birth', 8 * MiB));
    await Promise.race([
      closed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the broker waited for the body')), 10_000),
      ),
    ]);
    expect(socket.destroyed).toBe(true);
  });

  it('passes a 256 KiB PUBLISH (the largest payload) to subscribers', async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const sub = connect(url, { clientId: 'sub', reconnectPeriod: 0 });
    const pub = connect(url, { clientId: 'pub', reconnectPeriod: 0 });
    await Promise.all([sub, pub].map((c) => new Promise((r) => c.once('connect', r))));
    await sub.subscribeAsync('big/ok', { qos: 1 });
    const got = new Promise<Buffer>((r) => sub.once('message', (_t, p) => r(p)));
    await pub.publishAsync('big/ok', Buffer.alloc(256 * 1024, 0x62), { qos: 1 });
    expect((await got).length).toBe(256 * 1024);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });
});

describe('MqttPacketSizeGuard', () => {
  it('passes packets split anywhere, and fails on an oversized header', async () => {
    const guard = new MqttPacketSizeGuard(100);
    const out: Buffer[] = [];
    guard.on('data', (b: Buffer) => out.push(b));
    const small = Buffer.concat([publishHeader('a/b', 50), Buffer.alloc(50)]);
    const bytes = Buffer.concat([small, small]);
    for (let i = 0; i < bytes.length; i += 7) guard.write(bytes.subarray(i, i + 7));
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    const failed = new Promise<Error>((r) => guard.once('error', r));
    guard.write(publishHeader('a/b', 200));
    expect((await failed).message).toMatch(/above the maximum 100/);
  });
});
