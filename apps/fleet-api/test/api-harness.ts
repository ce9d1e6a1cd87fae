/**
 * Test harness: the fleet API as a real Nest HTTP app on a fresh test database, with the embedded
 * aedes broker (or none) and, for the query endpoints, the projector filling the read models.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EmbeddedMqttBroker, loadConfig, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { createTestDatabase, freePort, type TestDatabase } from '@hyperfleet/testing';
import { ProjectorModule } from '@hyperfleet/projector';
import { FleetApiAppModule } from '../src/fleet-api.module';

// Response bodies are read loosely in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface ApiHarness {
  readonly app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly db: TestDatabase;
  /** HF_DATA_DIR of the app (a fresh temporary folder). */
  readonly dataDir: string;
  readonly broker: EmbeddedMqttBroker | null;
  /** The admin API key the first start wrote to HF_DATA_DIR (null while the API has no auth). */
  readonly adminKey: string | null;
  /** Headers that authenticate as that admin (empty when there is no key). */
  readonly auth: Record<string, string>;
  /** GET `base + url` as the admin, the body parsed as JSON. */
  get(url: string): Promise<{ status: number; body: Body; headers: Headers }>;
  /** Any request as the admin (or with `headers.authorization` of your own), the body parsed as JSON. */
  request(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Body; headers: Headers }>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  /** Run the projector in the same app, so that the query endpoints see what commands did. */
  readonly projector?: boolean;
  /** Start an embedded aedes broker (default); without it the API runs with no MQTT at all. */
  readonly broker?: boolean;
  /** More environment for loadConfig (e.g. AUTH_JWT_*, HF_ADMIN_API_KEY). */
  readonly env?: Record<string, string>;
  /** Another app's database (a second API process on the same data); it is left for its owner to drop. */
  readonly db?: TestDatabase;
}

/** The bootstrap admin key the API writes on its first start (`<HF_DATA_DIR>/admin-api-key`). */
export function readAdminKey(dataDir: string): string | null {
  const file = path.join(dataDir, 'admin-api-key');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null;
}

export async function startFleetApi(name: string, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const db = options.db ?? (await createTestDatabase(name));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  let broker: EmbeddedMqttBroker | null = null;
  let app: INestApplication | null = null;
  const close = async () => {
    await app?.close();
    await broker?.stop();
    if (!options.db) await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    if (options.broker !== false) {
      broker = new EmbeddedMqttBroker({ host: '127.0.0.1', port: await freePort() });
      await broker.start();
    }
    const config = loadConfig({
      DATABASE_URL: db.url,
      ...(broker ? { MQTT_URL: broker.url } : {}),
      HF_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...options.env,
    });
    const infra: RuntimeInfrastructure = {
      config,
      databaseUrl: db.url,
      mqttUrl: broker?.url ?? '',
      kafkaBrokers: null,
      postgres: { mode: 'external' },
      mqtt: broker ? { mode: 'embedded', broker } : { mode: 'external' },
      transport: 'postgres-log',
      stop: async () => undefined,
    };
    const moduleRef = await Test.createTestingModule({
      imports: [FleetApiAppModule.forRoot(infra), ...(options.projector ? [ProjectorModule] : [])],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    const port = await freePort();
    // Migrations (event store, messaging, read models) run at startup.
    await app.listen(port, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const adminKey = readAdminKey(dataDir);
    const auth: Record<string, string> = adminKey ? { authorization: `Bearer ${adminKey}` } : {};
    const request = async (
      method: string,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: {
          ...auth,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: Body;
      try {
        parsed = text ? (JSON.parse(text) as Body) : {};
      } catch {
        parsed = { text };
      }
      return { status: res.status, body: parsed, headers: res.headers };
    };
    return {
      app,
      base,
      db,
      dataDir,
      broker,
      adminKey,
      auth,
      get: (url) => request('GET', url),
      request,
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
