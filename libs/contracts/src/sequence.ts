import { DELIVERY, type DeviceMessageKind } from './protocol';
import type { ReplyDetailsByCode } from './reply-codes';

/**
 * The epoch/sequence rule, as a pure function the gateway runs after dedupe (docs/protocol.md,
 * "Epochs and sequences"). State per device: the current epoch and the last sequence of an ordered
 * message processed in it.
 *
 * - A birth opens an epoch: accepted iff there is no epoch yet or its epoch is above the current one
 *   (its seq is 0, which the schema enforces); else STALE_SEQUENCE.
 * - Any other message needs an accepted birth: no state, or an epoch above the current one (its birth
 *   not seen yet) → NOT_REGISTERED; an epoch below the current one → STALE_SEQUENCE.
 * - Same epoch: epoch-only kinds (status, telemetry) are accepted and leave the state alone; ordered
 *   kinds are accepted iff seq > lastSeq (gaps are fine), else OUT_OF_ORDER.
 */
export interface SequenceState {
  epoch: number;
  /** Highest seq of an ordered message processed in this epoch (0 right after the birth). */
  lastSeq: number;
}

export interface SequencedMessage {
  kind: DeviceMessageKind;
  epoch: number;
  seq: number;
}

export type SequenceVerdict =
  | {
      ok: true;
      /** The state to store with the message's effect (same transaction). */
      state: SequenceState;
      /** A birth: the gateway marks the device online and starts a new session. */
      opensEpoch: boolean;
      /** Ordered messages skipped between lastSeq and this one (logged, not an error). */
      gap: number;
    }
  | { ok: false; code: 'STALE_SEQUENCE'; details: ReplyDetailsByCode['STALE_SEQUENCE'] }
  | { ok: false; code: 'OUT_OF_ORDER'; details: ReplyDetailsByCode['OUT_OF_ORDER'] }
  | { ok: false; code: 'NOT_REGISTERED'; details: ReplyDetailsByCode['NOT_REGISTERED'] };

export function checkSequence(state: SequenceState | null, message: SequencedMessage): SequenceVerdict {
  const { kind, epoch, seq } = message;
  if (kind === 'birth') {
    if (state === null || epoch > state.epoch) {
      return { ok: true, state: { epoch, lastSeq: seq }, opensEpoch: true, gap: 0 };
    }
    return { ok: false, code: 'STALE_SEQUENCE', details: { epoch, currentEpoch: state.epoch, birth: true } };
  }
  if (state === null) return { ok: false, code: 'NOT_REGISTERED', details: { epoch, currentEpoch: null } };
  if (epoch > state.epoch) {
    return { ok: false, code: 'NOT_REGISTERED', details: { epoch, currentEpoch: state.epoch } };
  }
  if (epoch < state.epoch) {
    return { ok: false, code: 'STALE_SEQUENCE', details: { epoch, currentEpoch: state.epoch, birth: false } };
  }
  if (DELIVERY[kind].ordering === 'epoch-only') return { ok: true, state, opensEpoch: false, gap: 0 };
  if (seq <= state.lastSeq) {
    return { ok: false, code: 'OUT_OF_ORDER', details: { epoch, seq, lastSeq: state.lastSeq } };
  }
  return { ok: true, state: { epoch, lastSeq: seq }, opensEpoch: false, gap: seq - state.lastSeq - 1 };
}
