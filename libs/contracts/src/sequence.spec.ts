import { checkSequence, type SequenceState, type SequenceVerdict } from '.';
import type { DeviceMessageKind } from './protocol';

const at = (epoch: number, lastSeq: number): SequenceState => ({ epoch, lastSeq });
const msg = (kind: DeviceMessageKind, epoch: number, seq: number) => ({ kind, epoch, seq });
const code = (v: SequenceVerdict) => (v.ok ? 'accept' : v.code);

describe('checkSequence: the epoch/sequence rule', () => {
  it.each<[string, SequenceState | null, ReturnType<typeof msg>, string]>([
    // birth
    ['a first birth opens the epoch', null, msg('birth', 1, 0), 'accept'],
    ['a birth of a newer epoch opens it (any jump)', at(4, 17), msg('birth', 9, 0), 'accept'],
    ['a birth of the current epoch is stale', at(4, 17), msg('birth', 4, 0), 'STALE_SEQUENCE'],
    ['a birth of an older epoch is stale', at(4, 17), msg('birth', 3, 0), 'STALE_SEQUENCE'],
    // before birth
    ['anything before the first birth: not registered', null, msg('vm-state', 1, 1), 'NOT_REGISTERED'],
    ['status before the first birth: not registered', null, msg('status', 1, 0), 'NOT_REGISTERED'],
    [
      'a newer epoch whose birth is not in: not registered',
      at(4, 17),
      msg('vm-state', 5, 1),
      'NOT_REGISTERED',
    ],
    // older epochs
    ['an ordered message of an older epoch is stale', at(4, 17), msg('vm-state', 3, 99), 'STALE_SEQUENCE'],
    ["an older session's last will is stale", at(4, 17), msg('status', 3, 0), 'STALE_SEQUENCE'],
    ['telemetry of an older epoch is stale', at(4, 17), msg('telemetry', 3, 50), 'STALE_SEQUENCE'],
    // current epoch, ordered
    ['the next seq is accepted', at(4, 17), msg('vm-state', 4, 18), 'accept'],
    ['a gap is accepted', at(4, 17), msg('update-progress', 4, 25), 'accept'],
    ['the same seq again (other msgId) is out of order', at(4, 17), msg('health', 4, 17), 'OUT_OF_ORDER'],
    ['a lower seq is out of order', at(4, 17), msg('cmd-ack', 4, 12), 'OUT_OF_ORDER'],
    ['seq 0 after the birth is out of order', at(4, 0), msg('vm-state', 4, 0), 'OUT_OF_ORDER'],
    // current epoch, epoch-only
    ['telemetry with a lower seq is accepted', at(4, 17), msg('telemetry', 4, 3), 'accept'],
    ['the last will (seq 0) of the current epoch is accepted', at(4, 17), msg('status', 4, 0), 'accept'],
  ])('%s', (_what, state, message, expected) => {
    expect(code(checkSequence(state, message))).toBe(expected);
  });

  it('moves the state for births and ordered messages, and reports gaps', () => {
    expect(checkSequence(null, msg('birth', 3, 0))).toEqual({
      ok: true,
      state: at(3, 0),
      opensEpoch: true,
      gap: 0,
    });
    expect(checkSequence(at(3, 5), msg('vm-state', 3, 6))).toEqual({
      ok: true,
      state: at(3, 6),
      opensEpoch: false,
      gap: 0,
    });
    expect(checkSequence(at(3, 5), msg('vm-state', 3, 9))).toMatchObject({
      ok: true,
      state: at(3, 9),
      gap: 3,
    });
  });

  it('leaves the state alone for epoch-only kinds', () => {
    expect(checkSequence(at(3, 5), msg('telemetry', 3, 40))).toEqual({
      ok: true,
      state: at(3, 5),
      opensEpoch: false,
      gap: 0,
    });
    // so a later ordered message with a lower seq than that telemetry still goes through
    expect(code(checkSequence(at(3, 5), msg('vm-state', 3, 6)))).toBe('accept');
  });

  it('gives the details the reply needs (the current epoch lets an agent resynchronise)', () => {
    expect(checkSequence(at(4, 17), msg('birth', 2, 0))).toEqual({
      ok: false,
      code: 'STALE_SEQUENCE',
      details: { epoch: 2, currentEpoch: 4, birth: true },
    });
    expect(checkSequence(at(4, 17), msg('vm-state', 4, 12))).toEqual({
      ok: false,
      code: 'OUT_OF_ORDER',
      details: { epoch: 4, seq: 12, lastSeq: 17 },
    });
    expect(checkSequence(null, msg('health', 1, 1))).toEqual({
      ok: false,
      code: 'NOT_REGISTERED',
      details: { epoch: 1, currentEpoch: null },
    });
  });

  it('replays a whole session deterministically', () => {
    // epoch 1: birth, online, two ordered, a late will from epoch 0 would be stale; agent restarts as epoch 2
    const session: [ReturnType<typeof msg>, string][] = [
      [msg('vm-state', 1, 1), 'NOT_REGISTERED'],
      [msg('birth', 1, 0), 'accept'],
      [msg('status', 1, 1), 'accept'],
      [msg('vm-state', 1, 2), 'accept'],
      [msg('telemetry', 1, 4), 'accept'],
      [msg('vm-state', 1, 3), 'accept'],
      [msg('cmd-ack', 1, 3), 'OUT_OF_ORDER'],
      [msg('birth', 2, 0), 'accept'],
      [msg('status', 1, 0), 'STALE_SEQUENCE'],
      [msg('update-progress', 1, 5), 'STALE_SEQUENCE'],
      [msg('update-progress', 2, 1), 'accept'],
    ];
    let state: SequenceState | null = null;
    for (const [m, expected] of session) {
      const verdict = checkSequence(state, m);
      expect([m, code(verdict)]).toEqual([m, expected]);
      if (verdict.ok) state = verdict.state;
    }
    expect(state).toEqual(at(2, 1));
  });
});
