/**
 * Event data is plain JSON: the store keeps it as jsonb, Kafka carries it as CloudEvents, and replaying a
 * stream must give back exactly what was decided. Times are ISO-8601 strings, never Date; numbers are
 * finite; there is no bigint.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Thrown when a value that must be JSON is not: a programming error, never a rejection. */
export class NotJsonError extends Error {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`${path} is ${what}, which is not plain JSON (use ISO strings for times and numbers for counts)`);
    this.name = 'NotJsonError';
  }
}

/**
 * A deep copy of `value` as plain JSON. `undefined` object properties are dropped (as JSON.stringify
 * does); anything else that JSON cannot carry faithfully (Date, bigint, NaN, Infinity, functions, class
 * instances, undefined in arrays) throws NotJsonError instead of being silently converted.
 */
export function toJson(value: unknown, path = '$'): JsonValue {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, String(value));
      return value;
    case 'object': {
      if (Array.isArray(value)) {
        return value.map((item, i) => {
          if (item === undefined) throw new NotJsonError(`${path}[${i}]`, 'undefined');
          return toJson(item, `${path}[${i}]`);
        });
      }
      // A plain object's prototype is null or some realm's Object.prototype (structuredClone in a Jest
      // sandbox returns objects of another realm); Date, Map and class instances have another one.
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== null && Object.getPrototypeOf(proto) !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
        throw new NotJsonError(path, `a ${name}`);
      }
      const out: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        if (item === undefined) continue;
        out[key] = toJson(item, `${path}.${key}`);
      }
      return out;
    }
    default:
      throw new NotJsonError(path, typeof value === 'bigint' ? 'a bigint' : `a ${typeof value}`);
  }
}

export function toJsonObject(value: object, path = '$'): JsonObject {
  const json = toJson(value, path);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new NotJsonError(path, 'not an object');
  }
  return json;
}

/** Structural equality of JSON values, ignoring key order (jsonb does not keep it). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const defined = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined);
  const entriesA = defined(a);
  const entriesB = new Map(defined(b));
  return (
    entriesA.length === entriesB.size &&
    entriesA.every(([key, value]) => entriesB.has(key) && jsonEqual(value, entriesB.get(key)))
  );
}
