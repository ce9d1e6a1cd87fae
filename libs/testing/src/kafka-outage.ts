import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/**
 * A Kafka outage a test can switch on and off without touching the shared broker: a TCP proxy in
 * front of it that every connection of a client goes through (its socketFactory ignores the
 * advertised broker address), so `cut()` drops them all and refuses new ones until `restore()`.
 */
export class KafkaOutageProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private port = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(broker: string): Promise<KafkaOutageProxy> {
    const [host, port] = broker.split(':');
    const p = new KafkaOutageProxy({ host, port: Number(port) });
    await p.listen(0);
    return p;
  }

  /** `127.0.0.1:<port>`: what KAFKA_BROKERS should say. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** For KafkaTransport / kafkajs: every broker connection through this proxy. */
  readonly socketFactory: ISocketFactory = ({ onConnect }) => {
    const s = net.connect({ host: '127.0.0.1', port: this.port }, onConnect);
    s.setKeepAlive(true, 60_000);
    return s;
  };

  get isCut(): boolean {
    return this.server === null;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async restore(): Promise<void> {
    if (!this.server) await this.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }

  private async listen(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
}
