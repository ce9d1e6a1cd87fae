import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  renderMosquittoAcl,
  renderMosquittoConf,
  renderPasswdFile,
  type PasswdEntry,
} from '../../apps/device-gateway/src/identity';

/**
 * A private Mosquitto for the ingest benchmark, configured as production is (`fleetctl
 * mosquitto-config`: password file, ACL, a device listener with `use_username_as_clientid` and a
 * gateway listener), plus `set_tcp_nodelay true`. Adapted from `startMosquitto()` in libs/testing,
 * which is not part of the build.
 */
export interface BenchMosquitto {
  /** Where devices connect. */
  readonly deviceUrl: string;
  /** Where the gateway (and the ceiling subscriber) connect. */
  readonly gatewayUrl: string;
  readonly pid: number;
  /** Clients for which the broker reported dropping outgoing messages (its queue limit). */
  dropNotices(): number;
  log(): string;
  stop(): Promise<void>;
}

export const hasMosquitto = (): boolean => spawnSync('mosquitto', ['-h']).error === undefined;

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

/** The broker's files, written once per run: every phase starts a fresh broker from them. */
export function writeMosquittoFiles(
  dir: string,
  entries: readonly PasswdEntry[],
  gatewayUsername: string,
): void {
  fs.writeFileSync(path.join(dir, 'passwd'), renderPasswdFile(entries), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'acl'), renderMosquittoAcl(gatewayUsername));
}

/**
 * `set_tcp_nodelay`: without it Nagle's algorithm adds ~40 ms to every request/reply round trip
 * (docs/fleet-sim.md). `max_queued_messages`: Mosquitto's default (1000 per client) drops QoS 1
 * messages for the gateway's sessions as soon as a burst (a 10,000-device birth storm) runs more
 * than ~4,000 ahead of the gateway (docs/benchmarks.md).
 */
export const BENCH_MOSQUITTO_EXTRA = ['set_tcp_nodelay true', 'max_queued_messages 1000000'].join('\n');

export async function startBenchMosquitto(
  dir: string,
  extraConfig = BENCH_MOSQUITTO_EXTRA,
): Promise<BenchMosquitto> {
  if (!hasMosquitto()) throw new Error('the mosquitto binary is missing (apt-get install mosquitto)');
  const [port, gatewayPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, `mosquitto-${port}.conf`);
  const rendered = renderMosquittoConf({
    configDir: dir,
    port,
    bind: '127.0.0.1',
    gatewayPort,
    gatewayBind: '127.0.0.1',
  })
    // Connection chatter of 10,000 devices is not what is measured (notices stay: drops are one).
    .replace(/^log_type information$/m, '');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  fs.writeFileSync(conf, `${rendered}\n${extraConfig}\n${asRoot ? 'user root\n' : ''}`);
  let output = '';
  let drops = 0;
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => {
    const text = d.toString();
    drops += text.split('are being dropped').length - 1;
    output = (output + text).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port)) || !(await canConnect(gatewayPort))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start on ${port}/${gatewayPort}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    deviceUrl: `mqtt://127.0.0.1:${port}`,
    gatewayUrl: `mqtt://127.0.0.1:${gatewayPort}`,
    pid: child.pid!,
    dropNotices: () => drops,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(conf, { force: true });
    },
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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
