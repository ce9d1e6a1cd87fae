import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatePassword } from './password-hash';

/**
 * The backend's own MQTT service account: the gateway's connections to an external broker (and any
 * backend tool that needs to see device traffic) log in with it. Its ACL is the mirror image of a
 * device's: it reads every device's device kinds and writes every device's reply, desired and cmd topics.
 *
 * - username: MQTT_GATEWAY_USERNAME, default `hyperfleet-gateway`. No device may have this id.
 * - password: MQTT_GATEWAY_PASSWORD. When it is unset, the password lives in
 *   `<HF_DATA_DIR>/mqtt-gateway-password` (mode 0600), generated on first use: that is how the
 *   embedded broker and a laptop work without any setup. With an external broker, set the variable
 *   (and generate the broker's password file with the same value, `fleetctl mosquitto-config`).
 */
export const DEFAULT_GATEWAY_USERNAME = 'hyperfleet-gateway';
export const GATEWAY_PASSWORD_FILE = 'mqtt-gateway-password';

export interface GatewayAccount {
  readonly username: string;
  readonly password: string;
  /** Where the password came from. */
  readonly source: 'env' | 'data-dir' | 'generated';
}

/** A username Mosquitto's password file and ACL can hold: no `:`, whitespace, wildcards or `/`. */
export function gatewayUsernameProblem(username: string): string | undefined {
  if (username.length === 0 || username.length > 128) return 'must be 1 to 128 characters';
  if (/[:\s+#/]/.test(username) || username.startsWith('$')) {
    return 'may not contain ":", "/", "+", "#" or whitespace, nor start with "$"';
  }
  return undefined;
}

export function gatewayUsername(env: NodeJS.ProcessEnv = process.env): string {
  const username = env.MQTT_GATEWAY_USERNAME?.trim() || DEFAULT_GATEWAY_USERNAME;
  const problem = gatewayUsernameProblem(username);
  if (problem) throw new Error(`MQTT_GATEWAY_USERNAME: ${problem} (got ${JSON.stringify(username)})`);
  return username;
}

/**
 * The gateway account from the environment, else from the data folder. With `generate`, a missing
 * password file is created (0600) with a new random password; without it, a missing password is null.
 */
export function resolveGatewayAccount(o: {
  readonly dataDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly generate: boolean;
}): GatewayAccount | null {
  const env = o.env ?? process.env;
  const username = gatewayUsername(env);
  const fromEnv = env.MQTT_GATEWAY_PASSWORD;
  if (fromEnv) return { username, password: fromEnv, source: 'env' };

  const file = path.join(o.dataDir, GATEWAY_PASSWORD_FILE);
  const existing = readIfExists(file);
  if (existing) return { username, password: existing, source: 'data-dir' };
  if (!o.generate) return null;

  fs.mkdirSync(o.dataDir, { recursive: true });
  const password = generatePassword();
  try {
    // 'wx': if another process created it first, use theirs.
    fs.writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { username, password: readIfExists(file)!, source: 'data-dir' };
  }
  return { username, password, source: 'generated' };
}

function readIfExists(file: string): string | null {
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    return s || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
