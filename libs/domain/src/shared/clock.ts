/** Where command handlers get "now" for operator commands (device facts carry their own `at`). */
export interface Clock {
  /** The current time as an ISO-8601 string. */
  now(): string;
}

export const DOMAIN_CLOCK = Symbol.for('hyperfleet.domain.Clock');

export const systemClock: Clock = { now: () => new Date().toISOString() };

/** A clock that always says `at`; for tests. */
export function fixedClock(at: string): Clock {
  return { now: () => at };
}
