import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import { parseTopic, TOPIC_ROOT, type OutboundMessage } from '@hyperfleet/contracts';
import type { DeviceIngress } from '../ingress/device-ingress';
import type { DevicePublisher } from './publisher';

type AuthorizePublish = (
  client: Client | null,
  packet: AedesPublishPacket,
  cb: (err?: Error | null) => void,
) => void;

/**
 * The gateway inside the embedded broker: device messages are processed in aedes' authorizePublish
 * hook, so the device's PUBACK leaves only after the effect is durable and the reply is queued.
 */
/** Where a consumed device message goes instead of being forwarded: a topic nobody can subscribe to. */
const CONSUMED = '$hyperfleet/consumed';

function isDeviceDirection(topic: string): boolean {
  if (!topic.startsWith('hf/')) return false;
  const parsed = parseTopic(topic);
  return !(parsed.ok && parsed.direction === 'backend-to-device') && topic !== TOPIC_ROOT;
}

export class AedesIngress implements DevicePublisher {
  private previous: AuthorizePublish | null = null;

  constructor(
    private readonly broker: Aedes,
    private readonly ingress: DeviceIngress,
  ) {}

  install(): void {
    const broker = this.broker as unknown as { authorizePublish: AuthorizePublish };
    const previous = broker.authorizePublish.bind(this.broker);
    this.previous = previous;
    broker.authorizePublish = (client, packet, cb) => {
      // Our own publishes (client null) and the last wills aedes publishes go to the identity rules.
      if (!client) return previous(client, packet, cb);
      const consume = () =>
        this.ingress
          .handle({
            topic: packet.topic,
            payload: packet.payload as Buffer,
            authenticatedDeviceId: client.id,
          })
          .then((result) => (result.reply ? this.publish(result.reply) : undefined))
          .catch(() => undefined) // the ingress answers INTERNAL_ERROR itself; only the reply can fail here
          .then(() => {
            packet.topic = CONSUMED;
            packet.retain = false;
            cb(null);
          });
      // Everything a device sends under hf/ is the gateway's: it answers forged, unknown and
      // malformed messages with a reply instead of a disconnect, and nothing is forwarded.
      if (isDeviceDirection(packet.topic)) return void consume();
      // Backend-to-device and non-protocol topics: allowed for the gateway account. A device's
      // forbidden publish (its own reply, desired or cmd/…, or a topic outside hf/v1) is answered too
      // (UNKNOWN_TYPE, INVALID_TOPIC, …) and dropped, never delivered; the connection stays open.
      previous(client, packet, (err) => (err ? void consume() : cb(null)));
    };
  }

  uninstall(): void {
    if (this.previous)
      (this.broker as unknown as { authorizePublish: AuthorizePublish }).authorizePublish = this.previous;
  }

  publish(m: OutboundMessage): Promise<void> {
    return new Promise((resolve, reject) =>
      this.broker.publish(
        {
          cmd: 'publish',
          topic: m.topic,
          payload: m.payload,
          qos: m.qos,
          retain: m.retain,
          dup: false,
        } as AedesPublishPacket,
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
  }
}
