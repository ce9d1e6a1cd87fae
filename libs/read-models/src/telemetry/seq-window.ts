/**
 * Per-device dedupe of telemetry-channel records by the agent's (epoch, seq).
 *
 * Why not just a high-water mark: telemetry and health share one sequence counter per epoch, and on
 * the channel a device's records keep the gateway's order. Health is "ordered" (the gateway refuses a
 * seq at or below the last one), but telemetry is "epoch-only": the gateway accepts a telemetry batch
 * whose seq is below one it already handled (an agent re-publishing after a lost reply, a redelivery
 * from the broker after a gateway restart). A plain `seq > last` rule would drop such a batch as a
 * duplicate. So the state is the highest seq seen in the current epoch plus a bitmap of which of the
 * `SEQ_WINDOW` seqs below it have been seen:
 *
 * - an older epoch than the current one is a redelivery (the gateway never publishes a record of an
 *   epoch older than one it has already published for that device, and the channel keeps per-device
 *   order), so it is a duplicate;
 * - a newer epoch starts over;
 * - in the current epoch a seq above the high-water mark is new; one within the window is new unless
 *   its bit is set; one more than `SEQ_WINDOW` below the high-water mark is refused as `stale` (counted,
 *   never applied: a double count is worse than a lost late batch, and it takes thousands of messages
 *   in between to get there).
 */
export const SEQ_WINDOW = 4096;
const BYTES = SEQ_WINDOW / 8;

export type Admission = 'fresh' | 'duplicate' | 'stale';

export class SeqWindow {
  /** 0: nothing seen yet (epochs start at 1). */
  epoch: number;
  hwm: number;
  /** Bit i set: seq `hwm - i` was seen. */
  readonly bits: Uint8Array;

  constructor(epoch = 0, hwm = -1, bits?: Uint8Array | null) {
    this.epoch = epoch;
    this.hwm = hwm;
    this.bits = new Uint8Array(BYTES);
    if (bits) this.bits.set(bits.subarray(0, BYTES));
  }

  admit(epoch: number, seq: number): Admission {
    if (epoch < this.epoch) return 'duplicate';
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.hwm = seq;
      this.bits.fill(0);
      this.bits[0] = 1;
      return 'fresh';
    }
    if (seq > this.hwm) {
      this.shift(seq - this.hwm);
      this.hwm = seq;
      this.bits[0] |= 1;
      return 'fresh';
    }
    const d = this.hwm - seq;
    if (d >= SEQ_WINDOW) return 'stale';
    const mask = 1 << (d & 7);
    if (this.bits[d >> 3] & mask) return 'duplicate';
    this.bits[d >> 3] |= mask;
    return 'fresh';
  }

  /** Ages every bit by k seqs (bit i → i + k); bits beyond the window fall off. */
  private shift(k: number): void {
    if (k >= SEQ_WINDOW) {
      this.bits.fill(0);
      return;
    }
    const bytes = k >> 3;
    const bitsShift = k & 7;
    const b = this.bits;
    for (let j = BYTES - 1; j >= 0; j--) {
      const src = j - bytes;
      const hi = src >= 0 ? b[src] : 0;
      const lo = src - 1 >= 0 ? b[src - 1] : 0;
      b[j] = bitsShift === 0 ? hi : ((hi << bitsShift) | (lo >> (8 - bitsShift))) & 0xff;
    }
  }
}
