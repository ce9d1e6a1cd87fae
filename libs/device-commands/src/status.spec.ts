import {
  COMMAND_STATUSES,
  FINAL_COMMAND_STATUSES,
  isFinalStatus,
  onAck,
  onDeadline,
  onRejectedByBackend,
  onSent,
  type CommandStatus,
} from './status';

const move = (to: CommandStatus) => ({ kind: 'move', to });

describe('device command status machine', () => {
  it('runs the happy path queued → sent → acknowledged → succeeded', () => {
    expect(onSent('queued')).toEqual(move('sent'));
    expect(onAck('sent', 'accepted')).toEqual(move('acknowledged'));
    expect(onAck('acknowledged', 'done')).toEqual(move('succeeded'));
  });

  it('an accepted command that fails is failed; one refused before accepting is rejected', () => {
    expect(onAck('acknowledged', 'failed')).toEqual(move('failed'));
    expect(onAck('sent', 'failed')).toEqual(move('rejected'));
  });

  it('done without accepted goes straight to succeeded', () => {
    expect(onAck('sent', 'done')).toEqual(move('succeeded'));
  });

  it('a second accepted changes nothing', () => {
    expect(onAck('acknowledged', 'accepted')).toEqual({ kind: 'ignored' });
  });

  it('an ack for a command never sent is not believed', () => {
    for (const o of ['accepted', 'done', 'failed'] as const)
      expect(onAck('queued', o)).toEqual({ kind: 'not-sent' });
  });

  it('final states never move; an ack for one is late', () => {
    for (const s of FINAL_COMMAND_STATUSES) {
      expect(isFinalStatus(s)).toBe(true);
      for (const o of ['accepted', 'done', 'failed'] as const) expect(onAck(s, o)).toEqual({ kind: 'late' });
      expect(onSent(s)).toEqual({ kind: 'ignored' });
      expect(onRejectedByBackend(s)).toEqual({ kind: 'ignored' });
      expect(onDeadline(s, 'deliver-by')).toEqual({ kind: 'ignored' });
      expect(onDeadline(s, 'execution')).toEqual({ kind: 'ignored' });
    }
    expect(COMMAND_STATUSES.filter((s) => !isFinalStatus(s))).toEqual(['queued', 'sent', 'acknowledged']);
  });

  it('the backend refuses only what it has not sent', () => {
    expect(onRejectedByBackend('queued')).toEqual(move('rejected'));
    expect(onRejectedByBackend('sent')).toEqual({ kind: 'ignored' });
  });

  it('deadlines: a queued command expires, one in flight times out', () => {
    expect(onDeadline('queued', 'deliver-by')).toEqual(move('expired'));
    expect(onDeadline('queued', 'execution')).toEqual({ kind: 'ignored' });
    expect(onDeadline('sent', 'execution')).toEqual(move('timed-out'));
    expect(onDeadline('acknowledged', 'execution')).toEqual(move('timed-out'));
    expect(onDeadline('sent', 'deliver-by')).toEqual({ kind: 'ignored' });
  });
});
