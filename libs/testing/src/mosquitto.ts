import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './process';

export interface MosquittoServer {
  readonly url: string;
  readonly port: number;
  log(): string;
  stop(): Promise<void>;
}

export const hasMosquitto = (): boolean => spawnSync('mosquitto', ['-h']).error === undefined;

/**
 * A private Mosquitto for one test file, on a free port, so no other client of the shared broker
 * (and no persistent session left by an earlier run) can interfere. `extraConfig` is appended to a
 * config that listens on 127.0.0.1 with anonymous access and no persistence.
 */
export async function startMosquitto(extraConfig = ''): Promise<MosquittoServer> {
  if (!hasMosquitto()) {
    throw new Error(
      'the mosquitto binary is missing (apt-get install mosquitto), and this suite needs a real broker',
    );
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      extraConfig,
    ].join('\n'),
  );
  // As root mosquitto drops to its own user; keep root so it can read the files the test wrote.
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot) fs.appendFileSync(conf, '\nuser root\n');
  let output = '';
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
