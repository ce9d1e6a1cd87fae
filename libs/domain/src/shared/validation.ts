/**
 * Input checks for command fields. A command's shape is checked before its rules: a broken field is an
 * INVALID_COMMAND rejection (HTTP 422) listing every problem as `field: sentence`.
 */
import { reject, type DomainRejection } from './rejection';

/** Device ids: letters, digits, `.`, `_`, `:` and `-`, starting with a letter or digit, at most 128. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** ACRN's VMNameType (misc/config_tools/schema/types.xsd): 1-15 of `[a-zA-Z0-9_-]`. */
export const VM_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,15}$/;
/** Partition plan ids: like device ids. */
export const PLAN_ID_PATTERN = DEVICE_ID_PATTERN;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export class FieldErrors {
  readonly errors: string[] = [];

  add(field: string, message: string): this {
    this.errors.push(`${field}: ${message}`);
    return this;
  }

  check(condition: boolean, field: string, message: string): this {
    if (!condition) this.add(field, message);
    return this;
  }

  pattern(value: unknown, pattern: RegExp, field: string, what: string): this {
    return this.check(typeof value === 'string' && pattern.test(value), field, `must be ${what}`);
  }

  nonEmptyString(value: unknown, field: string, max = 200): this {
    return this.check(
      typeof value === 'string' && value.trim().length > 0 && value.length <= max,
      field,
      `must be a non-empty string of at most ${max} characters`,
    );
  }

  timestamp(value: unknown, field: string): this {
    return this.check(
      typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)),
      field,
      'must be an ISO-8601 timestamp with a time zone, e.g. 2025-01-31T12:00:00Z',
    );
  }

  optionalTimestamp(value: unknown, field: string): this {
    return value === undefined ? this : this.timestamp(value, field);
  }

  nonNegativeNumber(value: unknown, field: string): this {
    return this.check(
      typeof value === 'number' && Number.isFinite(value) && value >= 0,
      field,
      'must be a finite number ≥ 0',
    );
  }

  positiveInteger(value: unknown, field: string): this {
    return this.check(Number.isInteger(value) && (value as number) > 0, field, 'must be an integer ≥ 1');
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): this {
    return this.check(
      typeof value === 'string' && (allowed as readonly string[]).includes(value),
      field,
      `must be one of ${allowed.join(', ')}`,
    );
  }

  /** The INVALID_COMMAND rejection, or undefined when every field is fine. */
  rejection(command: string): DomainRejection | undefined {
    if (this.errors.length === 0) return undefined;
    return reject('INVALID_COMMAND', `${command} is invalid: ${this.errors.join('; ')}`, {
      errors: this.errors,
    });
  }
}

export function fields(): FieldErrors {
  return new FieldErrors();
}

/** Compares ISO timestamps by the instant they denote. */
export function isBefore(a: string, b: string): boolean {
  return Date.parse(a) < Date.parse(b);
}
