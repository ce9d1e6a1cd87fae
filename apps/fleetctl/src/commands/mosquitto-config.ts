import type { Command } from 'commander';
import {
  DeviceCredentialStore,
  generateMosquittoConfig,
  gatewayUsername,
  type MosquittoConfigReport,
} from '../../../device-gateway/src/identity';
import { withDatabase } from './database';

export interface MosquittoConfigCommandOptions {
  readonly out: string;
  readonly configDir?: string;
  readonly port?: number;
  readonly bind?: string;
  readonly gatewayPort?: number;
  readonly gatewayBind?: string;
  readonly dataDir?: string;
  readonly user?: string;
}

/**
 * `fleetctl mosquitto-config --out <dir>`: passwd, acl and mosquitto.conf from the credential registry.
 * The gateway account's password is MQTT_GATEWAY_PASSWORD; without it, the gateway line of an existing
 * passwd in <dir> is kept, else a password is generated into <dir>/gateway-password.
 */
export async function runMosquittoConfig(
  o: MosquittoConfigCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MosquittoConfigReport> {
  const gateway = { username: gatewayUsername(env), password: env.MQTT_GATEWAY_PASSWORD || undefined };
  return withDatabase(async (pool) => {
    const store = new DeviceCredentialStore(pool);
    try {
      return await generateMosquittoConfig({ ...o, outDir: o.out, store, gateway });
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') {
        throw new Error('the credential table does not exist yet: run `fleetctl migrate` first');
      }
      throw err;
    }
  }, env);
}

export function describeReport(r: MosquittoConfigReport): string[] {
  const lines = [
    `wrote ${r.files.passwd} (${r.devices} device${r.devices === 1 ? '' : 's'} + the gateway account)`,
    `wrote ${r.files.acl}`,
    `wrote ${r.files.conf}`,
  ];
  if (r.skipped.length) {
    lines.push(
      `left out ${r.skipped.length} device(s) whose id a Mosquitto password file cannot hold (":" or the gateway's name): ${r.skipped.join(', ')}`,
    );
  }
  if (r.gatewayPassword === 'generated') {
    lines.push(
      `generated a gateway password into ${r.gatewayPasswordFile}: give it to the gateway as MQTT_GATEWAY_PASSWORD`,
    );
  } else if (r.gatewayPassword === 'kept') {
    lines.push('kept the gateway account of the previous passwd (set MQTT_GATEWAY_PASSWORD to change it)');
  }
  lines.push(
    'mosquitto reads passwd after dropping to its `user` (default: mosquitto): make it readable by that user;',
    'a running broker re-reads passwd and acl on SIGHUP.',
  );
  return lines;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535)
    throw new Error(`${name}: must be a port number (got ${JSON.stringify(v)})`);
  return n;
};

export function registerMosquittoConfigCommand(program: Command): void {
  program
    .command('mosquitto-config')
    .description(
      'write a Mosquitto 2 password file (every active device + the gateway account), ACL and mosquitto.conf ' +
        'from the credential registry on DATABASE_URL (or the embedded PostgreSQL)',
    )
    .requiredOption('--out <dir>', 'folder to write passwd, acl and mosquitto.conf into')
    .option('--config-dir <dir>', 'where the broker will find passwd and acl (default: --out, absolute)')
    .option('--port <port>', 'device listener port (default 1883)', int('--port'))
    .option('--bind <address>', 'device listener address (default: every interface)')
    .option('--gateway-port <port>', 'gateway listener port (default 1885)', int('--gateway-port'))
    .option('--gateway-bind <address>', 'gateway listener address (default 127.0.0.1)')
    .option('--data-dir <dir>', 'turn persistence on, in this folder (recommended in production)')
    .option('--user <name>', "mosquitto's `user` (the account it drops to when started as root)")
    .action(async (o: MosquittoConfigCommandOptions) => {
      for (const line of describeReport(await runMosquittoConfig(o))) console.log(line);
    });
}
