import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { ServerConfig } from './server';

/** The parent's handle on a forked server (bench/ingest/server.ts): requests over IPC, stop, pid. */
export class ServerProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly deviceUrl: string,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(
    config: ServerConfig,
    env: Record<string, string>,
    onLogLine?: (line: string) => void,
    execArgv: string[] = [],
  ) {
    const child = fork(path.join(__dirname, 'server.js'), [], {
      env: { ...process.env, ...env, BENCH_INGEST_SERVER: JSON.stringify(config) },
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-8000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deviceUrl = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the ${config.role} process exited (${code}) before it was ready:\n${output}`));
      child.once('exit', onExit);
      child.on('message', function ready(m: { type?: string; deviceUrl?: string; error?: string }) {
        if (m.type === 'ready') {
          child.off('message', ready);
          child.off('exit', onExit);
          resolve(m.deviceUrl ?? '');
        } else if (m.type === 'failed') {
          reject(new Error(`the ${config.role} process failed to start: ${m.error}\n${output}`));
        }
      });
    });
    const p = new ServerProcess(child, deviceUrl);
    let partial = '';
    const onOutput = (d: Buffer) => {
      p.stderr = (p.stderr + d.toString()).slice(-8000);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      // eslint-disable-next-line no-control-regex
      for (const l of lines) if (l.trim()) onLogLine?.(l.replace(/\x1b\[[0-9;]*m/g, ''));
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      const w = m.id === undefined ? undefined : p.waiting.get(m.id);
      if (!w) return;
      p.waiting.delete(m.id!);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.result);
    });
    child.once('exit', () => {
      for (const w of p.waiting.values()) w.reject(new Error('the server process exited'));
      p.waiting.clear();
    });
    return p;
  }

  request<T = unknown>(type: string, extra: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, type, ...extra });
    });
  }

  /** Recent stderr (warnings the gateway logged), for the report. */
  log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.request('stop').catch(() => undefined);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(killer);
  }
}
