/**
 * The decider test form: given events, when a command, then events or a rejection.
 *
 *   given(rtVmDecider, [registered, started])
 *     .when(new StartRtVm({ deviceId, vmName }))
 *     .thenRejects('RTVM_NOT_STOPPED');
 *
 * Every event, given or produced, goes through the JSON check the store applies, so event data that is
 * not plain JSON fails the test. Assertions use node:assert, so this file works under any test runner
 * (and compiles without Jest's types).
 */
import { AssertionError } from 'node:assert';
import type { Decider, DecideContext } from '../shared/decider';
import type { DomainEvent } from '../shared/event';
import { jsonEqual, toJson, toJsonObject } from '../shared/json';
import { isDomainRejection, type DomainRejection, type RejectionCode } from '../shared/rejection';

export const TEST_NOW = '2025-06-02T08:00:00.000Z';

export interface Scenario<S, E extends DomainEvent, C, X extends object> {
  /** Read-only facts from other aggregates (e.g. `{ device }`), and the time the command arrives. */
  withContext(context: Partial<DecideContext<X>>): Scenario<S, E, C, X>;
  when(command: C): Outcome<S, E>;
  /** The state after the given events. */
  state(): S;
}

export interface Outcome<S, E extends DomainEvent> {
  /** Asserts the command produced exactly these events; returns the state after them. */
  then(expected: readonly E[]): S;
  /** Asserts the command produced events matching these (a subset of each event's fields). */
  thenMatches(expected: readonly { type: E['type']; data?: object }[]): S;
  /** Asserts the command was rejected with this code; returns the rejection for further checks. */
  thenRejects(code: RejectionCode, details?: object): DomainRejection;
  /** The raw decision. */
  decision(): readonly E[] | DomainRejection;
}

function assertJson(events: readonly DomainEvent[]): void {
  for (const e of events) toJsonObject(e.data, `${e.type}.data`);
}

export function given<S, E extends DomainEvent, C, X extends object>(
  decider: Decider<S, E, C, X>,
  events: readonly E[] = [],
  context: Partial<DecideContext<X>> = {},
): Scenario<S, E, C, X> {
  assertJson(events);
  const state = () => events.reduce((s, e) => decider.evolve(s, e), decider.initialState());
  return {
    withContext: (more) => given(decider, events, { ...context, ...more }),
    state,
    when(command) {
      const before = state();
      const decided = decider.decide(command, before, { now: TEST_NOW, ...context } as DecideContext<X>);
      const produced = (): readonly E[] => {
        if (isDomainRejection(decided)) {
          throw new Error(
            `expected events, but the command was rejected: ${decided.code}: ${decided.message}`,
          );
        }
        assertJson(decided);
        return decided;
      };
      const after = () => produced().reduce((s, e) => decider.evolve(s, e), before);
      return {
        then(expected) {
          // Compared as JSON (what the store keeps): key order and object realms do not matter.
          const actual = toJson(produced());
          const wanted = toJson(expected);
          if (!jsonEqual(actual, wanted)) {
            throw new AssertionError({ actual, expected: wanted, operator: 'deepStrictEqual' });
          }
          return after();
        },
        thenMatches(expected) {
          const actual = produced();
          if (actual.length !== expected.length || !expected.every((e, i) => matches(actual[i], e))) {
            throw new AssertionError({
              message: 'events do not match',
              actual,
              expected,
              operator: 'matches',
            });
          }
          return after();
        },
        thenRejects(code, details) {
          if (!isDomainRejection(decided)) {
            throw new AssertionError({
              message: `expected rejection ${code}, but the command produced events`,
              actual: decided,
              expected: code,
            });
          }
          if (decided.code !== code || (details !== undefined && !matches(decided.details, details))) {
            throw new AssertionError({
              message: `expected rejection ${code}, got ${decided.code}: ${decided.message}`,
              actual: { code: decided.code, details: decided.details },
              expected: { code, details },
              operator: 'matches',
            });
          }
          return decided;
        },
        decision: () => decided,
      };
    },
  };
}

/** True when `actual` has every field of `expected` with a matching value (arrays must match in full). */
export function matches(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected);
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e))
    );
  }
  return Object.entries(expected).every(([key, value]) =>
    matches((actual as Record<string, unknown>)[key], value),
  );
}
