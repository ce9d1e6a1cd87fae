import * as net from 'node:net';
import type { Aedes, AedesOptions } from 'aedes';
import { guardedConnection } from './packet-size-guard';

/**
 * The largest MQTT packet the embedded broker reads: RECOMMENDED_MAX_PACKET_BYTES of
 * @hyperfleet/contracts (257 KiB; the platform does not depend on the contracts, a test checks both agree).
 */
export const EMBEDDED_MAX_PACKET_BYTES = 257 * 1024;

/** The aedes broker in process: MQTT 3.1.1, no shared subscriptions; enough for one gateway. */
export class EmbeddedMqttBroker {
  private broker: Aedes | null = null;
  private server: net.Server | null = null;

  constructor(
    private readonly o: { host: string; port: number; options?: AedesOptions; maxPacketBytes?: number },
  ) {}

  get url(): string {
    return `mqtt://${this.o.host}:${this.o.port}`;
  }

  get aedes(): Aedes | null {
    return this.broker;
  }

  async start(): Promise<void> {
    // aedes 1.x is ESM; Node 20.19+ loads it with require(), lazily so apps without a broker never load it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Aedes: AedesClass } = require('aedes') as typeof import('aedes');
    this.broker = await AedesClass.createBroker(this.o.options);
    const broker = this.broker;
    const server = net.createServer((socket) => {
      // Every device message waits for its small reply: Nagle's algorithm would add ~40 ms to each.
      socket.setNoDelay(true);
      // A larger packet closes the connection at its header, before aedes buffers its body.
      broker.handle(guardedConnection(socket, this.o.maxPacketBytes ?? EMBEDDED_MAX_PACKET_BYTES));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `Embedded MQTT broker: port ${this.o.port} on ${this.o.host} is in use (set EMBEDDED_MQTT_PORT, or MQTT_URL to use the broker already there)`
              : `Embedded MQTT broker could not listen on ${this.o.host}:${this.o.port}: ${err.message}`,
          ),
        ),
      );
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = null;
    this.broker = null;
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
