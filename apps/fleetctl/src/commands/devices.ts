import type { Command } from 'commander';

export { ApiCallError, callApi, defaultApiUrl } from '../client';
import { callApi, defaultApiUrl } from '../client';

interface IssuedCredential {
  deviceId: string;
  mqtt: { username: string; password: string; issuedAt: string };
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
  const apiKeyOption = ['--api-key <key>', 'credential (default: HF_API_KEY or the config file)'] as const;
  const withKey = (o: { apiKey?: string }) => (o.apiKey ? { apiKey: o.apiKey } : {});

  devices
    .command('provision <deviceId>')
    .description('provision a device and print its MQTT credential')
    .requiredOption('--class <deviceClass>', 'vehicle or industrial-pc')
    .requiredOption('--site <site>', 'where the device is, e.g. depot-1')
    .option('--tag <key=value>', 'a tag (repeatable)', collect, [])
    .option(...apiOption)
    .option(...apiKeyOption)
    .option('--json', 'print the API response as JSON')
    .action(
      async (
        deviceId: string,
        o: { class: string; site: string; tag: string[]; api?: string; apiKey?: string; json?: boolean },
      ) => {
        const body = {
          deviceId,
          deviceClass: o.class,
          site: o.site,
          ...(o.tag.length ? { tags: o.tag } : {}),
        };
        const c = await callApi<IssuedCredential>(
          o.api ?? defaultApiUrl(),
          'POST',
          'api/v1/devices',
          body,
          withKey(o),
        );
        if (o.json) console.log(JSON.stringify(c, null, 2));
        else printCredential(c, `Provisioned ${c.deviceId} (${o.class}, site ${o.site}).`);
      },
    );

  devices
    .command('rotate-credential <deviceId>')
    .description('issue a new MQTT password for a device (the old one stops working) and print it')
    .option(...apiOption)
    .option('--json', 'print the API response as JSON')
    .option(...apiKeyOption)
    .action(async (deviceId: string, o: { api?: string; apiKey?: string; json?: boolean }) => {
      const path = `api/v1/devices/${encodeURIComponent(deviceId)}/credentials:rotate`;
      const c = await callApi<IssuedCredential>(
        o.api ?? defaultApiUrl(),
        'POST',
        path,
        undefined,
        withKey(o),
      );
      if (o.json) console.log(JSON.stringify(c, null, 2));
      else printCredential(c, `Rotated the MQTT password of ${c.deviceId}.`);
    });

  devices
    .command('revoke-credential <deviceId>')
    .description('revoke the MQTT credential of a device: it can no longer connect')
    .option(...apiOption)
    .option('--json', 'print the API response as JSON')
    .option(...apiKeyOption)
    .action(async (deviceId: string, o: { api?: string; apiKey?: string; json?: boolean }) => {
      const path = `api/v1/devices/${encodeURIComponent(deviceId)}/credentials`;
      const s = await callApi<{ deviceId: string; revokedAt: string }>(
        o.api ?? defaultApiUrl(),
        'DELETE',
        path,
        undefined,
        withKey(o),
      );
      if (o.json) console.log(JSON.stringify(s, null, 2));
      else console.log(`Revoked the MQTT credential of ${s.deviceId} (at ${s.revokedAt}).`);
    });
}
