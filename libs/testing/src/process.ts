import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A built app (dist/) running as a real child process, with its output captured. */
export class AppProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(script: string, env: NodeJS.ProcessEnv, args: string[] = []) {
    const file = path.join(REPO_ROOT, script);
    if (!fs.existsSync(file))
      throw new Error(`${script} is missing: run \`npm run build\` first (npm test does)`);
    this.child = spawn(process.execPath, [file, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!pattern.test(this.stdout)) {
      if (exited) throw new Error(`process exited before ${pattern}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGINT');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** The environment of this test process without the infrastructure variables, i.e. a fresh laptop. */
export function embeddedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'MQTT_URL', 'KAFKA_BROKERS', 'HF_TEST_ADMIN_URL']) delete env[k];
  return { ...env, ...extra };
}
