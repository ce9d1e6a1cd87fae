import { Duplex, Transform, type TransformCallback } from 'node:stream';
import type * as net from 'node:net';

/**
 * Reads each MQTT packet's fixed header as the bytes pass (type byte, then the remaining length,
 * 1–4 bytes of 7-bit groups) and fails the stream as soon as a header announces a packet larger than
 * `maxPacketBytes`, so the broker's parser never buffers it. Bytes pass through unchanged.
 */
export class MqttPacketSizeGuard extends Transform {
  /** Bytes of the current packet's body still to pass; -1 while reading a header. */
  private remaining = -1;
  private headerBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxPacketBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.remaining = -1;
        continue;
      }
      const byte = chunk[i++];
      if (this.headerBytes === 0) {
        this.headerBytes = 1; // the type and flags byte
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.headerBytes++;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        if (this.headerBytes > 5) return done(new Error('malformed MQTT remaining length'));
        continue;
      }
      const total = this.headerBytes + this.length;
      if (total > this.maxPacketBytes) {
        return done(
          Object.assign(
            new Error(`MQTT packet of ${total} bytes is above the maximum ${this.maxPacketBytes}`),
            {
              code: 'PACKET_TOO_LARGE',
            },
          ),
        );
      }
      this.headerBytes = 0;
      this.remaining = this.length === 0 ? -1 : this.length;
    }
    done(null, chunk);
  }
}

/**
 * The socket as a duplex whose readable side passes the guard: what aedes reads is size-checked
 * packet by packet, and an oversized announcement destroys the socket before its body is read.
 */
export function guardedConnection(socket: net.Socket, maxPacketBytes: number): Duplex {
  const guard = new MqttPacketSizeGuard(maxPacketBytes);
  const conn = Duplex.from({ readable: socket.pipe(guard), writable: socket });
  guard.on('error', (err) => {
    socket.destroy();
    conn.destroy(err);
  });
  socket.on('close', () => conn.destroy());
  return conn;
}
