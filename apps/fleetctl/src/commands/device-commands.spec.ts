import { EXIT, countsLine, exitCodeFor, exitCodeForCounts, parseDuration } from './device-commands';

describe('fleetctl device-command exit codes', () => {
  it.each([
    ['succeeded', false, EXIT.ok],
    ['succeeded', true, EXIT.ok],
    ['failed', true, EXIT.failed],
    ['rejected', false, EXIT.failed],
    ['timed-out', true, EXIT.timedOut],
    ['expired', false, EXIT.timedOut],
    ['queued', false, EXIT.ok],
    ['sent', true, EXIT.pending],
    ['acknowledged', true, EXIT.pending],
  ] as const)('%s (waited: %s) → %d', (status, waited, code) => {
    expect(exitCodeFor(status, waited)).toBe(code);
  });

  it('a bulk command exits with its worst device: failures, then deadlines, then pending', () => {
    expect(exitCodeForCounts({ succeeded: 5 }, true)).toBe(EXIT.ok);
    expect(exitCodeForCounts({ succeeded: 5, queued: 1 }, false)).toBe(EXIT.ok);
    expect(exitCodeForCounts({ succeeded: 5, sent: 1 }, true)).toBe(EXIT.pending);
    expect(exitCodeForCounts({ succeeded: 5, expired: 1, sent: 1 }, true)).toBe(EXIT.timedOut);
    expect(exitCodeForCounts({ rejected: 1, 'timed-out': 1 }, true)).toBe(EXIT.failed);
    expect(exitCodeForCounts({}, true)).toBe(EXIT.ok);
  });

  it('durations', () => {
    expect(parseDuration('120s')).toBe(120_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90')).toBe(90_000);
    expect(() => parseDuration('soon')).toThrow('not a duration');
  });

  it('the progress line counts final devices and names the non-empty states', () => {
    const counts = {
      queued: 1,
      sent: 0,
      acknowledged: 2,
      succeeded: 6,
      failed: 1,
      rejected: 0,
      'timed-out': 0,
      expired: 0,
    };
    expect(countsLine({ total: 10, counts })).toBe(
      '7/10 final  queued 1 · acknowledged 2 · succeeded 6 · failed 1',
    );
  });
});
