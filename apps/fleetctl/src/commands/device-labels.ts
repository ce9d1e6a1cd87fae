import type { Command } from 'commander';
import { callApi, defaultApiUrl } from '../client';
import { EXIT, UsageError, action, withApiOptions, type ApiOptions } from './device-commands';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface LabelsAnswer {
  deviceId: string;
  version: number;
  changed: boolean;
  site: string;
  tags: string[];
}

interface AttributesAnswer {
  deviceId: string;
  version: number;
  changed: boolean;
  attributes: Record<string, string>;
}

interface WriteOptions extends ApiOptions {
  ifMatch?: string;
}

function patch<T>(o: WriteOptions, path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = o.ifMatch ? { 'if-match': `"${o.ifMatch.replace(/"/g, '')}"` } : {};
  return callApi<T>(o.api ?? defaultApiUrl(), 'PATCH', path, body, {
    headers,
    ...(o.apiKey ? { apiKey: o.apiKey } : {}),
  });
}

/** `--set k=v` values as an object; a usage error for one without `=`. */
export function parseAssignments(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 1) throw new UsageError(`--set takes key=value, not "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const devicePath = (deviceId: string, sub: string) => `api/v1/devices/${encodeURIComponent(deviceId)}/${sub}`;
const ifMatchOption = [
  '--if-match <version>',
  'write only if the device is still at this version (its ETag)',
] as const;

/**
 * `fleetctl devices label <id> [--site S] [--tag T]…` and `devices attr <id> [--set k=v]… [--remove k]…`,
 * added to the `devices` command (registered before this).
 */
export function registerDeviceLabelsCommands(program: Command): void {
  const devices =
    program.commands.find((c) => c.name() === 'devices') ??
    program.command('devices').description('provision devices and manage them');

  withApiOptions(
    devices
      .command('label <deviceId>')
      .description('move a device to another site and/or replace its tags (--tag repeated: the full list)')
      .option('--site <site>', 'the new site')
      .option('--tag <tag>', 'a tag (repeatable; the given tags replace the current ones)', collect, [])
      .option('--clear-tags', 'remove every tag')
      .option(...ifMatchOption),
  ).action(
    action(
      async (deviceId: string, o: WriteOptions & { site?: string; tag: string[]; clearTags?: boolean }) => {
        if (o.clearTags && o.tag.length) throw new UsageError('--clear-tags and --tag exclude each other');
        const body = {
          ...(o.site !== undefined ? { site: o.site } : {}),
          ...(o.tag.length ? { tags: o.tag } : o.clearTags ? { tags: [] } : {}),
        };
        if (!Object.keys(body).length)
          throw new UsageError('say what to change: --site, --tag or --clear-tags');
        const r = await patch<LabelsAnswer>(o, devicePath(deviceId, 'labels'), body);
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else
          console.log(
            `${r.deviceId}: site ${r.site}, tags ${r.tags.length ? r.tags.join(', ') : '(none)'}` +
              ` (version ${r.version}${r.changed ? '' : ', unchanged'})`,
          );
        process.exitCode = EXIT.ok;
      },
    ),
  );

  withApiOptions(
    devices
      .command('attr <deviceId>')
      .description('set and remove free-form inventory attributes of a device (removals first)')
      .option('--set <key=value>', 'set an attribute (repeatable)', collect, [])
      .option('--remove <key>', 'remove an attribute (repeatable)', collect, [])
      .option(...ifMatchOption),
  ).action(
    action(async (deviceId: string, o: WriteOptions & { set: string[]; remove: string[] }) => {
      const set = parseAssignments(o.set);
      const body = {
        ...(o.set.length ? { set } : {}),
        ...(o.remove.length ? { remove: o.remove } : {}),
      };
      if (!Object.keys(body).length)
        throw new UsageError('say what to change: --set key=value or --remove key');
      const r = await patch<AttributesAnswer>(o, devicePath(deviceId, 'attributes'), body);
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        const entries = Object.entries(r.attributes);
        console.log(
          `${r.deviceId}: ${entries.length} attributes (version ${r.version}${r.changed ? '' : ', unchanged'})`,
        );
        for (const [k, v] of entries) console.log(`  ${k}=${v}`);
      }
      process.exitCode = EXIT.ok;
    }),
  );
}
