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
  fs.appendFileSync(conf, `\n${runAsCurrentUser()}`);
  let output = '';
  const broker = await spawnMosquitto(conf, [port], { onOutput: (text) => (output += text) });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    log: () => output,
    async stop() {
      await broker.stop('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** As root mosquitto drops to its own user; keeping root lets it read the files we wrote. */
export function runAsCurrentUser(): string {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return asRoot ? 'user root\n' : '';
}

export interface SpawnedMosquitto {
  readonly pid: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `mosquitto -c conf` and waits until every one of `ports` accepts connections. */
export async function spawnMosquitto(
  conf: string,
  ports: readonly number[],
  options: { onOutput?: (text: string) => void; timeoutMs?: number } = {},
): Promise<SpawnedMosquitto> {
  let output = '';
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => {
    const text = d.toString();
    output = (output + text).slice(-20_000);
    options.onOutput?.(text);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const up = await Promise.all(ports.map(canConnect));
    if (up.every(Boolean)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start on ${ports.join('/')}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid!,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill(signal);
        await exited;
      }
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
