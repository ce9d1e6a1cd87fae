// Helpers for the e2e suites that run the built all-in-one (dist/apps/fleet) as a child process.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FLEET = 'dist/apps/fleet/src/main.js';

/** The `postgres` processes whose command line names this data folder (none after a clean stop). */
export function postgresProcessesFor(dataDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dataDir) && /postgres/.test(l));
}

/** Errors reach the user as sentences, never as a stack trace. */
export const noStackTrace = (s: string) => expect(s).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

/** A fresh data folder that the embedded PostgreSQL can use. */
export function embeddedDataDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
  fs.chmodSync(dir, 0o755);
  return dir;
}
