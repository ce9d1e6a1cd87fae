import { Client } from 'pg';

let installed = false;

/**
 * Wraps pg's Client.prototype.query once per process, so that every statement of every client
 * reports its text and its time from sending it to its rows being parsed; the code measured stays
 * as it is. Callbacks and promises alike.
 */
export function timeEveryQuery(onDone: (text: string, ms: number) => void): void {
  if (installed) return;
  installed = true;
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const t0 = performance.now();
    const done = () => onDone(text, performance.now() - t0);
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...r: unknown[]) {
        done();
        return (last as (...a: unknown[]) => unknown).apply(this, r);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as { then?: (a: () => void, b: () => void) => void };
    if (result && typeof result.then === 'function') result.then(done, done);
    return result;
  };
}
