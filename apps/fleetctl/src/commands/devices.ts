import type { Command } from 'commander';

/** Where the fleet API is: --api, else FLEET_API_URL, else this machine's HTTP_PORT. */
export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEET_API_URL || `http://127.0.0.1:${env.HTTP_PORT || 3000}`;
}

export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

interface IssuedCredential {
  deviceId: string;
  mqtt: { username: string; password: string; issuedAt: string };
}

/** One request to the fleet API; an error answer becomes an ApiCallError with the API's code and sentence. */
export async function callApi<T>(api: string, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, api.endsWith('/') ? api : `${api}/`).toString();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ApiCallError(
      `cannot reach the fleet API at ${api}: ${cause?.code === 'ECONNREFUSED' ? 'connection refused (is it running? see --api)' : (cause?.message ?? (err as Error).message)}`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const p = json as { code?: string; message?: string } | undefined;
    const what = p?.code ? `${p.code}: ${p.message ?? ''}` : `HTTP ${res.status} ${text.slice(0, 200)}`;
    throw new ApiCallError(what.trim(), res.status, json);
  }
  return json as T;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function printCredential(c: IssuedCredential, headline: string): void {
  console.log(headline);
  console.log('MQTT credential (shown once; only its hash is stored):');
  console.log(`  username  ${c.mqtt.username}`);
  console.log(`  password  ${c.mqtt.password}`);
}

export function registerDevicesCommands(program: Command): void {
  const devices = program
    .command('devices')
    .description('provision devices and manage their MQTT credentials');
  const apiOption = [
    '--api <url>',
    'fleet API base URL (default: FLEET_API_URL or http://127.0.0.1:$HTTP_PORT)',
  ] as const;

  devices
    .command('provision <deviceId>')
    .description('provision a device and print its MQTT credential')
    .requiredOption('--class <deviceClass>', 'vehicle or industrial-pc')
    .requiredOption('--site <site>', 'where the device is, e.g. depot-1')
    .option('--tag <key=value>', 'a tag (repeatable)', collect, [])
    .option(...apiOption)
    .option('--json', 'print the API response as JSON')
    .action(
      async (
        deviceId: string,
        o: { class: string; site: string; tag: string[]; api?: string; json?: boolean },
      ) => {
        const body = {
          deviceId,
          deviceClass: o.class,
          site: o.site,
          ...(o.tag.length ? { tags: o.tag } : {}),
        };
        const c = await callApi<IssuedCredential>(o.api ?? defaultApiUrl(), 'POST', 'api/v1/devices', body);
        if (o.json) console.log(JSON.stringify(c, null, 2));
        else printCredential(c, `Provisioned ${c.deviceId} (${o.class}, site ${o.site}).`);
      },
    );

  devices
    .command('rotate-credential <deviceId>')
    .description('issue a new MQTT password for a device (the old one stops working) and print it')
    .option(...apiOption)
    .option('--json', 'print the API response as JSON')
    .action(async (deviceId: string, o: { api?: string; json?: boolean }) => {
      const path = `api/v1/devices/${encodeURIComponent(deviceId)}/credentials:rotate`;
      const c = await callApi<IssuedCredential>(o.api ?? defaultApiUrl(), 'POST', path);
      if (o.json) console.log(JSON.stringify(c, null, 2));
      else printCredential(c, `Rotated the MQTT password of ${c.deviceId}.`);
    });

  devices
    .command('revoke-credential <deviceId>')
    .description('revoke the MQTT credential of a device: it can no longer connect')
    .option(...apiOption)
    .option('--json', 'print the API response as JSON')
    .action(async (deviceId: string, o: { api?: string; json?: boolean }) => {
      const path = `api/v1/devices/${encodeURIComponent(deviceId)}/credentials`;
      const s = await callApi<{ deviceId: string; revokedAt: string }>(
        o.api ?? defaultApiUrl(),
        'DELETE',
        path,
      );
      if (o.json) console.log(JSON.stringify(s, null, 2));
      else console.log(`Revoked the MQTT credential of ${s.deviceId} (at ${s.revokedAt}).`);
    });
}
