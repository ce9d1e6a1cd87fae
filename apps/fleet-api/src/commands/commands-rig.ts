/**
 * The whole command path in one Nest HTTP app, for the device-command tests and the commands bench:
 * fleet-api, the device gateway (over the embedded aedes broker, devices log in with the credential
 * the API issues) and the projector, on one database — the all-in-one's composition.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import type { Request } from 'express';
import { DeviceGatewayModule } from '@hyperfleet/device-gateway';
import { DomainModule } from '@hyperfleet/domain';
import {
  EVENT_STORE,
  PlatformModule,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import { ProjectorModule } from '@hyperfleet/projector';
import type { GatewayOptions } from '../../../device-gateway/src/gateway-options';
import { freePort } from '../../../../libs/testing/src/process';
import type { Actor } from '../auth/auth.types';
import { FleetApiModule } from '../fleet-api.module';

// Response bodies are read loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface CommandsRig {
  readonly app: INestApplication;
  readonly infra: RuntimeInfrastructure;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly mqttUrl: string;
  /** Headers that authenticate as the bootstrap admin (empty while the API has no auth). */
  readonly auth: Record<string, string>;
  request(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Body; headers: Headers }>;
  get(url: string): Promise<{ status: number; body: Body; headers: Headers }>;
  /** POST /api/v1/devices: provisions the device and returns its MQTT password. */
  provision(d: { deviceId: string; deviceClass: string; site: string; tags?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export interface CommandsRigOptions {
  readonly databaseUrl: string;
  /** Gateway tunables; false: no gateway and no broker (registry-only benches). */
  readonly gateway?: Partial<GatewayOptions> | false;
  /** An external broker (e.g. a bench's own Mosquitto); default: the embedded aedes broker. */
  readonly mqttUrl?: string;
  /** More environment for loadConfig (DB_POOL_SIZE, …). */
  readonly env?: Record<string, string>;
  readonly logLevels?: LogLevel[];
  /** Run the projector in the app (default true): GET /api/v1/devices/{id} and filters need it. */
  readonly projector?: boolean;
}

/** The actor of requests while the API has no authentication yet (the auth guard replaces it). */
const BOOTSTRAP_ACTOR: Actor = {
  subject: 'test-admin',
  credentialKind: 'api-key',
  credentialId: 'test',
  role: 'admin',
  scope: { sites: null, deviceClasses: null },
  requestId: 'test',
};

export async function startCommandsRig(o: CommandsRigOptions): Promise<CommandsRig> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-commands-'));
  const withGateway = o.gateway !== false;
  const config = loadConfig({
    DATABASE_URL: o.databaseUrl,
    ...(withGateway
      ? o.mqttUrl
        ? { MQTT_URL: o.mqttUrl }
        : { EMBEDDED_MQTT_PORT: String(await freePort()) }
      : {}),
    HF_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...o.env,
  });
  const infra = await startInfrastructure(config, { needsMqtt: withGateway });
  let app: INestApplication | null = null;
  const close = async () => {
    await app?.close();
    await infra.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    app = await NestFactory.create(
      {
        module: class CommandsRigModule {},
        imports: [
          PlatformModule.forRoot(infra),
          CqrsModule.forRoot(),
          DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
          ...(o.gateway === false
            ? []
            : [
                DeviceGatewayModule.forRoot({
                  sharedGroup: `hf-cmd-${randomUUID().slice(0, 8)}`,
                  instanceId: 'gw-commands',
                  ...o.gateway,
                }),
              ]),
          ...(o.projector === false ? [] : [ProjectorModule]),
          FleetApiModule,
        ],
      },
      { logger: o.logLevels ?? ['error'], abortOnError: false },
    );
    // Until the auth guard sets the request's actor, requests act as an admin (see auth.types.ts).
    let fallbackActor = false;
    app.use((req: Request & { actor?: Actor }, _res: unknown, next: () => void) => {
      if (fallbackActor && !req.actor) req.actor = BOOTSTRAP_ACTOR;
      next();
    });
    const port = await freePort();
    await app.listen(port, '127.0.0.1');
    const keyFile = path.join(dataDir, 'admin-api-key');
    const adminKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : null;
    fallbackActor = adminKey === null;
    const auth: Record<string, string> = adminKey ? { authorization: `Bearer ${adminKey}` } : {};
    const base = `http://127.0.0.1:${port}`;
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
      infra,
      base,
      mqttUrl: infra.mqttUrl,
      auth,
      request,
      get: (url) => request('GET', url),
      provision: async (d) => {
        const r = await request('POST', '/api/v1/devices', {
          deviceId: d.deviceId,
          deviceClass: d.deviceClass,
          site: d.site,
          ...(d.tags?.length ? { tags: d.tags } : {}),
        });
        if (r.status !== 201)
          throw new Error(`provisioning ${d.deviceId}: ${r.status} ${JSON.stringify(r.body)}`);
        return String(r.body.mqtt.password);
      },
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
