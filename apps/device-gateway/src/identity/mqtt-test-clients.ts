import { connect, type IClientOptions, type MqttClient } from 'mqtt';

/**
 * Test helpers: real mqtt.js clients against a real broker (shared by the aedes, Mosquitto and API
 * integration tests). Not part of the build (see *.int-spec.ts).
 */

export type ConnectOutcome =
  { ok: true; client: MqttClient } | { ok: false; code: number | undefined; message: string };

/** One connection attempt, no retries: the client, or the broker's refusal code. */
export function tryConnect(url: string, options: IClientOptions): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const fail = (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ ok: false, code: typeof err.code === 'number' ? err.code : undefined, message: err.message });
    };
    client.once('connect', () => {
      client.off('error', fail);
      client.on('error', () => undefined);
      resolve({ ok: true, client });
    });
    client.once('error', fail);
    client.once('close', () => {
      if (!client.connected) fail(Object.assign(new Error('connection closed before CONNACK'), {}));
    });
  });
}

export async function connectOk(url: string, options: IClientOptions): Promise<MqttClient> {
  const r = await tryConnect(url, options);
  if (!r.ok) throw new Error(`expected to connect as ${options.username}: ${r.message} (code ${r.code})`);
  return r.client;
}

/** Every message a client receives, by topic. */
export function recorder(client: MqttClient): { topic: string; payload: string }[] {
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the client's connection closes (or at once if it is closed). */
export function closed(client: MqttClient, timeoutMs = 5000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    client.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** The SUBACK's granted codes, one per filter (mqtt.js rejects when any is a failure, 0x80). */
export async function subscribeGranted(
  client: MqttClient,
  filters: string[],
  qos: 0 | 1 = 1,
): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos });
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}
