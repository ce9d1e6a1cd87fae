/**
 * fleetctl's one HTTP client of the fleet API: where the API is, which credential to send, and an
 * error answer as an ApiCallError carrying the API's code and sentence.
 *
 * The API URL: --api, else FLEET_API_URL, else the config file's `api`, else http://127.0.0.1:$HTTP_PORT.
 * The credential: --api-key, else HF_API_KEY, else the config file's `apiKey`. The config file is
 * FLEETCTL_CONFIG, else ~/.config/hyperfleet/fleetctl.json: `{ "api": "...", "apiKey": "..." }`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface FleetctlConfig {
  readonly api?: string;
  readonly apiKey?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEETCTL_CONFIG || path.join(os.homedir(), '.config', 'hyperfleet', 'fleetctl.json');
}

export function readConfigFile(env: NodeJS.ProcessEnv = process.env): FleetctlConfig {
  const file = configPath(env);
  if (!fs.existsSync(file)) return {};
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed as FleetctlConfig;
  } catch (err) {
    throw new Error(`cannot read the fleetctl config file ${file}: ${(err as Error).message}`);
  }
}

/** Where the fleet API is: --api, else FLEET_API_URL, else the config file, else this machine's HTTP_PORT. */
export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEET_API_URL || readConfigFile(env).api || `http://127.0.0.1:${env.HTTP_PORT || 3000}`;
}

/** The credential fleetctl sends: --api-key, else HF_API_KEY, else the config file's apiKey. */
export function defaultApiKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.HF_API_KEY || readConfigFile(env).apiKey || undefined;
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

export interface CallOptions {
  readonly apiKey?: string;
  readonly headers?: Record<string, string>;
  /** Send `body` (a string) as it is, with this Content-Type (scenario or board XML). */
  readonly contentType?: string;
  /** Resolve to the answer's text (exported XML) instead of its JSON. */
  readonly text?: boolean;
}

/** One request to the fleet API; an error answer becomes an ApiCallError with the API's code and sentence. */
export async function callApi<T>(
  api: string,
  method: string,
  urlPath: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<T> {
  const url = new URL(urlPath, api.endsWith('/') ? api : `${api}/`).toString();
  const key = options.apiKey ?? defaultApiKey();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...options.headers,
      },
      body: body === undefined ? undefined : options.contentType ? String(body) : JSON.stringify(body),
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
    throw new ApiCallError(`${what.trim()}${credentialHint(res.status, key)}`, res.status, json);
  }
  return (options.text ? text : json) as T;
}

/** What to do about a 401/403, appended to the API's sentence. */
export function credentialHint(status: number, key: string | undefined): string {
  if (status === 401) {
    return key
      ? ' (check --api-key / HF_API_KEY: the key may be mistyped, expired or revoked)'
      : ' (pass --api-key or set HF_API_KEY; on the first start the API writes an admin key to <HF_DATA_DIR>/admin-api-key)';
  }
  if (status === 403)
    return " (the credential's role or scope does not allow this; use a key with a role that does)";
  return '';
}
