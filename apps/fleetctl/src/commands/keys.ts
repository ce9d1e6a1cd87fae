import type { Command } from 'commander';
import { ROLES } from '../../../fleet-api/src/auth/auth.types';
import { UsageError, action, call, withApiOptions, type ApiOptions } from './device-commands';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface ApiKeyView {
  id: string;
  name: string;
  role: string;
  scope: { sites: string[] | null; deviceClasses: string[] | null } | null;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  status: string;
}

interface CreateOptions extends ApiOptions {
  role?: string;
  site: string[];
  class: string[];
  expiresInDays?: string;
}

const scopeText = (k: ApiKeyView) =>
  k.scope
    ? [
        k.scope.sites && `sites ${k.scope.sites.join(',')}`,
        k.scope.deviceClasses && `classes ${k.scope.deviceClasses.join(',')}`,
      ]
        .filter(Boolean)
        .join('; ')
    : 'all devices';

/** The body of POST /api/v1/api-keys from the command line; usage errors for what the API would refuse. */
export function createKeyBody(name: string, o: CreateOptions): Record<string, unknown> {
  if (!o.role || !(ROLES as readonly string[]).includes(o.role)) {
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  }
  let expiresInDays: number | undefined;
  if (o.expiresInDays !== undefined) {
    expiresInDays = Number(o.expiresInDays);
    if (!Number.isInteger(expiresInDays) || expiresInDays < 1) {
      throw new UsageError('--expires-in-days must be a whole number of days, at least 1');
    }
  }
  const scope =
    o.site.length || o.class.length
      ? { ...(o.site.length ? { sites: o.site } : {}), ...(o.class.length ? { deviceClasses: o.class } : {}) }
      : undefined;
  return { name, role: o.role, ...(scope ? { scope } : {}), ...(expiresInDays ? { expiresInDays } : {}) };
}

/** `fleetctl keys create|list|show|revoke`: operator API keys (needs an admin credential). */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys of the operator API (admin)');

  withApiOptions(
    keys
      .command('create <name>')
      .description('create an API key; the key is printed once, keep it (e.g. as HF_API_KEY)')
      .option('--role <role>', `one of ${ROLES.join(', ')}`)
      .option('--site <site>', 'limit the key to this site (repeatable)', collect, [])
      .option('--class <class>', 'limit the key to this device class (repeatable)', collect, [])
      .option('--expires-in-days <n>', 'the key stops working after n days'),
  ).action(
    action(async (name: string, o: CreateOptions) => {
      const r = await call<{ key: string; apiKey: ApiKeyView }>(
        o,
        'POST',
        'api/v1/api-keys',
        createKeyBody(name, o),
      );
      if (o.json) return console.log(JSON.stringify(r, null, 2));
      console.log(r.key);
      console.error(
        `created API key ${r.apiKey.id} "${r.apiKey.name}" (${r.apiKey.role}, ${scopeText(r.apiKey)}` +
          `${r.apiKey.expiresAt ? `, expires ${r.apiKey.expiresAt}` : ''}); it is shown only now`,
      );
    }),
  );

  withApiOptions(keys.command('list').description('every API key (never the secrets)')).action(
    action(async (o: ApiOptions) => {
      const r = await call<{ items: ApiKeyView[] }>(o, 'GET', 'api/v1/api-keys');
      if (o.json) return console.log(JSON.stringify(r, null, 2));
      if (!r.items.length) return console.log('no API keys');
      const rows = r.items.map((k) => [
        k.id,
        k.name,
        k.role,
        k.status,
        scopeText(k),
        k.expiresAt ?? '-',
        k.lastUsedAt ?? '-',
      ]);
      const head = ['ID', 'NAME', 'ROLE', 'STATUS', 'SCOPE', 'EXPIRES', 'LAST USED'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
      for (const row of [head, ...rows])
        console.log(
          row
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        );
    }),
  );

  withApiOptions(keys.command('show <id>').description('one API key')).action(
    action(async (id: string, o: ApiOptions) => {
      const k = await call<ApiKeyView>(o, 'GET', `api/v1/api-keys/${encodeURIComponent(id)}`);
      if (o.json) return console.log(JSON.stringify(k, null, 2));
      console.log(
        `${k.id} "${k.name}" ${k.role} ${k.status}; ${scopeText(k)}; created ${k.createdAt} by ${k.createdBy}`,
      );
    }),
  );

  withApiOptions(
    keys.command('revoke <id>').description('revoke an API key (takes effect within seconds)'),
  ).action(
    action(async (id: string, o: ApiOptions) => {
      const k = await call<ApiKeyView>(o, 'POST', `api/v1/api-keys/${encodeURIComponent(id)}:revoke`);
      if (o.json) return console.log(JSON.stringify(k, null, 2));
      console.log(`revoked API key ${k.id} "${k.name}" at ${k.revokedAt}`);
    }),
  );
}
