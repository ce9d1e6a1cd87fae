import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  renderMosquittoAcl,
  renderMosquittoConf,
  renderPasswdFile,
  type PasswdEntry,
} from '../../apps/device-gateway/src/identity';
// libs/testing's process helpers; its jest-only parts stay out of the build.
import { hasMosquitto, runAsCurrentUser, spawnMosquitto } from '../../libs/testing/src/mosquitto';
import { freePort } from '../../libs/testing/src/process';

export { freePort, hasMosquitto };

/**
 * A private Mosquitto for the ingest benchmark, configured as production is (`fleetctl
 * mosquitto-config`: password file, ACL, a device listener with `use_username_as_clientid` and a
 * gateway listener), plus `set_tcp_nodelay true`.
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
  fs.writeFileSync(conf, `${rendered}\n${extraConfig}\n${runAsCurrentUser()}`);
  let output = '';
  let drops = 0;
  const broker = await spawnMosquitto(conf, [port, gatewayPort], {
    onOutput: (text) => {
      drops += text.split('are being dropped').length - 1;
      output = (output + text).slice(-20_000);
    },
  });
  return {
    deviceUrl: `mqtt://127.0.0.1:${port}`,
    gatewayUrl: `mqtt://127.0.0.1:${gatewayPort}`,
    pid: broker.pid,
    dropNotices: () => drops,
    log: () => output,
    async stop() {
      await broker.stop('SIGKILL');
      fs.rmSync(conf, { force: true });
    },
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
