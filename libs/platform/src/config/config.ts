import * as path from 'node:path';

/**
 * Everything Hyperfleet reads from its environment. Infrastructure is chosen here, by
 * configuration only: unset DATABASE_URL / MQTT_URL / KAFKA_BROKERS mean the embedded defaults.
 */
export interface HyperfleetConfig {
  readonly http: { readonly host: string; readonly port: number };
  /** null: start embedded PostgreSQL. */
  readonly databaseUrl: string | null;
  /** null: start the embedded aedes broker. */
  readonly mqttUrl: string | null;
  /** null: use the Postgres log as event transport. */
  readonly kafkaBrokers: readonly string[] | null;
  /** Kafka topics are `<prefix>.<channel>.v1` and consumer groups `<prefix>.<group>`. */
  readonly kafkaTopicPrefix: string;
  readonly dataDir: string;
  readonly embedded: { readonly postgresPort: number; readonly mqttPort: number; readonly mqttHost: string };
  readonly migrateOnStart: boolean;
  readonly logLevel: LogLevel;
  readonly dbPoolSize: number;
  /** Operator API credentials (apps/fleet-api/src/auth). */
  readonly auth: AuthConfig;
  /** Release image storage and download links (libs/artifacts). */
  readonly artifacts: ArtifactsConfig;
}

export interface ArtifactsConfig {
  /** Largest image an upload may bring (bytes). */
  readonly maxBytes: number;
  /** HMAC secret of device download links; null: generated into HF_DATA_DIR/artifact-url-secret. */
  readonly urlSecret: string | null;
  /** How long a signed download link is valid (seconds). */
  readonly urlTtlSeconds: number;
}

/** Asymmetric JWS algorithms only: never `none`, never a shared-secret HMAC. */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtConfig {
  /** Exactly one of jwksUrl and publicKeyPem. */
  readonly jwksUrl: string | null;
  readonly publicKeyPem: string | null;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly roleClaim: string;
}

export interface AuthConfig {
  /** HF_ADMIN_API_KEY: an admin key the API makes sure exists (then no bootstrap key file is written). */
  readonly adminApiKey: string | null;
  /** null: JWT bearer tokens are not accepted (API keys only). */
  readonly jwt: JwtConfig | null;
}

/** `hf_<keyId>_<secret>` (apps/fleet-api/src/auth/api-key-format.ts makes and reads them). */
const API_KEY_SHAPE = /^hf_[a-z0-9]{8,32}_[A-Za-z0-9_-]{43,200}$/;

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variables, their defaults and meaning: the README's configuration table is generated from this. */
export const CONFIG_VARIABLES: readonly { name: string; default: string; meaning: string }[] = [
  {
    name: 'DATABASE_URL',
    default: '(embedded PostgreSQL)',
    meaning: 'PostgreSQL connection URL, e.g. postgres://postgres@127.0.0.1:5432/hyperfleet',
  },
  {
    name: 'MQTT_URL',
    default: '(embedded aedes broker)',
    meaning: 'MQTT broker URL the gateway connects to, e.g. mqtt://127.0.0.1:1883',
  },
  {
    name: 'KAFKA_BROKERS',
    default: '(Postgres log transport)',
    meaning: 'Comma-separated Kafka bootstrap brokers, e.g. 127.0.0.1:9092',
  },
  {
    name: 'MQTT_GATEWAY_USERNAME',
    default: 'hyperfleet-gateway',
    meaning: "The backend's MQTT account on an external broker (no device may use this id)",
  },
  {
    name: 'MQTT_GATEWAY_PASSWORD',
    default: '(generated into HF_DATA_DIR)',
    meaning:
      "Its password; with an external broker, set it and generate the broker's files with fleetctl mosquitto-config",
  },
  {
    name: 'KAFKA_TOPIC_PREFIX',
    default: 'hyperfleet',
    meaning: 'Prefix of Kafka topic and consumer group names',
  },
  { name: 'HTTP_HOST', default: '127.0.0.1', meaning: 'Address the HTTP API binds to' },
  { name: 'HTTP_PORT', default: '3000', meaning: 'Port of the HTTP API' },
  {
    name: 'HF_DATA_DIR',
    default: './.hyperfleet',
    meaning: 'Folder for embedded PostgreSQL data and other local state',
  },
  { name: 'EMBEDDED_PG_PORT', default: '54329', meaning: 'Port of the embedded PostgreSQL' },
  {
    name: 'EMBEDDED_MQTT_PORT',
    default: '1884',
    meaning: 'Port of the embedded MQTT broker (1884, so it never fights a local Mosquitto on 1883)',
  },
  { name: 'EMBEDDED_MQTT_HOST', default: '127.0.0.1', meaning: 'Address the embedded MQTT broker binds to' },
  { name: 'MIGRATE_ON_START', default: 'true', meaning: 'Apply pending schema migrations at startup' },
  {
    name: 'DB_POOL_SIZE',
    default: '20',
    meaning: 'PostgreSQL connections per process (the gateway adds GATEWAY_DEVICE_CONCURRENCY)',
  },
  { name: 'LOG_LEVEL', default: 'log', meaning: `One of ${LOG_LEVELS.join(', ')}` },
  {
    name: 'HF_ADMIN_API_KEY',
    default: '(generated into HF_DATA_DIR/admin-api-key)',
    meaning:
      'An admin API key (hf_<8-32 a-z0-9>_<43+ base64url chars>) the API makes sure exists; no key file is written',
  },
  {
    name: 'AUTH_JWT_JWKS_URL',
    default: '(JWT off)',
    meaning: 'JWKS URL of the identity provider; turns on JWT bearer tokens (or AUTH_JWT_PUBLIC_KEY)',
  },
  {
    name: 'AUTH_JWT_PUBLIC_KEY',
    default: '(JWT off)',
    meaning: 'PEM public key (SPKI) that signs JWT bearer tokens',
  },
  { name: 'AUTH_JWT_ISSUER', default: '(required with JWT)', meaning: 'Expected `iss` of JWT bearer tokens' },
  {
    name: 'AUTH_JWT_AUDIENCE',
    default: '(required with JWT)',
    meaning: 'Expected `aud` of JWT bearer tokens',
  },
  {
    name: 'AUTH_JWT_ALGORITHMS',
    default: 'RS256,ES256,EdDSA',
    meaning: 'Accepted JWS algorithms (asymmetric only: none and HS* are refused)',
  },
  {
    name: 'AUTH_JWT_ROLE_CLAIM',
    default: 'hf_role',
    meaning: 'Claim holding the role (viewer, operator, release-manager, admin)',
  },
  {
    name: 'ARTIFACT_MAX_BYTES',
    default: '8G',
    meaning: 'Largest release image an upload may bring (bytes, or with a K, M or G suffix)',
  },
  {
    name: 'ARTIFACT_URL_SECRET',
    default: '(generated into HF_DATA_DIR/artifact-url-secret)',
    meaning: 'HMAC secret (32+ characters) of the signed image download links handed to devices',
  },
  { name: 'ARTIFACT_URL_TTL_SECONDS', default: '3600', meaning: 'How long a signed download link is valid' },
];

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, cwd = process.cwd()): HyperfleetConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const port = (name: string, fallback: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      problems.push(`${name}: must be a port number between 1 and 65535 (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    problems.push(`${name}: must be true or false (got ${JSON.stringify(raw)})`);
    return fallback;
  };

  const url = (name: string, protocols: string[], example: string): string | null => {
    const raw = get(name);
    if (raw === undefined) return null;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(
        `${name}: not a URL (got ${JSON.stringify(redact(raw))}); expected something like ${example}`,
      );
      return null;
    }
    if (!protocols.includes(parsed.protocol)) {
      problems.push(
        `${name}: scheme must be ${protocols.map((p) => p.replace(':', '://')).join(' or ')} (got ${JSON.stringify(parsed.protocol.replace(':', '://'))}); expected something like ${example}`,
      );
      return null;
    }
    if (!parsed.hostname) {
      problems.push(
        `${name}: has no host (got ${JSON.stringify(redact(raw))}); expected something like ${example}`,
      );
      return null;
    }
    return raw;
  };

  const databaseUrl = url(
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'postgres://postgres@127.0.0.1:5432/hyperfleet',
  );
  const mqttUrl = url(
    'MQTT_URL',
    ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'],
    'mqtt://127.0.0.1:1883',
  );

  let kafkaBrokers: string[] | null = null;
  const rawKafka = get('KAFKA_BROKERS');
  if (rawKafka !== undefined) {
    const list = rawKafka.split(',').map((s) => s.trim());
    const bad = list.filter((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b) || Number(b.split(':')[1]) > 65535);
    if (bad.length || list.length === 0) {
      problems.push(
        `KAFKA_BROKERS: must be a comma-separated list of host:port (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}); expected something like 127.0.0.1:9092`,
      );
    } else {
      kafkaBrokers = list;
    }
  }

  const topicPrefix = (): string => {
    const raw = get('KAFKA_TOPIC_PREFIX') ?? 'hyperfleet';
    if (/^[A-Za-z0-9._-]{1,100}$/.test(raw)) return raw;
    problems.push(`KAFKA_TOPIC_PREFIX: only letters, digits, ".", "_" and "-" (got ${JSON.stringify(raw)})`);
    return 'hyperfleet';
  };

  const rawLevel = get('LOG_LEVEL') ?? 'log';
  let logLevel: LogLevel = 'log';
  if ((LOG_LEVELS as readonly string[]).includes(rawLevel)) logLevel = rawLevel as LogLevel;
  else problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(rawLevel)})`);

  const rawPool = get('DB_POOL_SIZE');
  let dbPoolSize = 20;
  if (rawPool !== undefined) {
    if (/^\d+$/.test(rawPool) && Number(rawPool) >= 1 && Number(rawPool) <= 200) dbPoolSize = Number(rawPool);
    else problems.push(`DB_POOL_SIZE: must be a whole number from 1 to 200 (got ${JSON.stringify(rawPool)})`);
  }

  const adminApiKey = get('HF_ADMIN_API_KEY') ?? null;
  if (adminApiKey !== null && !API_KEY_SHAPE.test(adminApiKey)) {
    problems.push(
      'HF_ADMIN_API_KEY: must look like hf_<8-32 lowercase letters or digits>_<43 to 200 base64url characters>',
    );
  }
  const jwt = jwtConfig(get, problems);
  const artifacts = artifactsConfig(get, problems);

  const config: HyperfleetConfig = {
    http: { host: get('HTTP_HOST') ?? '127.0.0.1', port: port('HTTP_PORT', 3000) },
    databaseUrl,
    mqttUrl,
    kafkaBrokers,
    kafkaTopicPrefix: topicPrefix(),
    dataDir: path.resolve(cwd, get('HF_DATA_DIR') ?? '.hyperfleet'),
    embedded: {
      postgresPort: port('EMBEDDED_PG_PORT', 54329),
      mqttPort: port('EMBEDDED_MQTT_PORT', 1884),
      mqttHost: get('EMBEDDED_MQTT_HOST') ?? '127.0.0.1',
    },
    migrateOnStart: bool('MIGRATE_ON_START', true),
    logLevel,
    dbPoolSize,
    auth: { adminApiKey, jwt },
    artifacts,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function artifactsConfig(get: (name: string) => string | undefined, problems: string[]): ArtifactsConfig {
  const rawMax = get('ARTIFACT_MAX_BYTES') ?? '8G';
  const m = /^(\d{1,15})([KMG]?)$/i.exec(rawMax);
  const maxBytes = m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : NaN;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    problems.push(
      `ARTIFACT_MAX_BYTES: must be a number of bytes ≥ 1, e.g. 8G (got ${JSON.stringify(rawMax)})`,
    );
  }
  const urlSecret = get('ARTIFACT_URL_SECRET') ?? null;
  if (urlSecret !== null && urlSecret.length < 32)
    problems.push('ARTIFACT_URL_SECRET: must be at least 32 characters');
  const rawTtl = get('ARTIFACT_URL_TTL_SECONDS') ?? '3600';
  const urlTtlSeconds = Number(rawTtl);
  if (!/^\d+$/.test(rawTtl) || urlTtlSeconds < 10 || urlTtlSeconds > 7 * 24 * 3600) {
    problems.push(
      `ARTIFACT_URL_TTL_SECONDS: must be whole seconds from 10 to 604800 (got ${JSON.stringify(rawTtl)})`,
    );
  }
  return { maxBytes: Number.isSafeInteger(maxBytes) ? maxBytes : 8 * 1024 ** 3, urlSecret, urlTtlSeconds };
}

function jwtConfig(get: (name: string) => string | undefined, problems: string[]): JwtConfig | null {
  const jwksUrl = get('AUTH_JWT_JWKS_URL') ?? null;
  // A PEM in one environment line may carry its newlines as "\n".
  const publicKeyPem = get('AUTH_JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n') ?? null;
  if (!jwksUrl && !publicKeyPem) return null;
  if (jwksUrl && publicKeyPem) problems.push('AUTH_JWT_JWKS_URL and AUTH_JWT_PUBLIC_KEY: set one, not both');
  if (jwksUrl && !/^https?:\/\/[^/]+/.test(jwksUrl)) {
    problems.push(`AUTH_JWT_JWKS_URL: must be an http(s) URL (got ${JSON.stringify(jwksUrl)})`);
  }
  if (publicKeyPem && !publicKeyPem.includes('-----BEGIN PUBLIC KEY-----')) {
    problems.push('AUTH_JWT_PUBLIC_KEY: must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  const issuer = get('AUTH_JWT_ISSUER');
  const audience = get('AUTH_JWT_AUDIENCE');
  if (!issuer) problems.push('AUTH_JWT_ISSUER: required when JWT bearer tokens are on');
  if (!audience) problems.push('AUTH_JWT_AUDIENCE: required when JWT bearer tokens are on');
  const algorithms = (get('AUTH_JWT_ALGORITHMS') ?? 'RS256,ES256,EdDSA').split(',').map((a) => a.trim());
  const bad = algorithms.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
  if (bad.length) {
    problems.push(
      `AUTH_JWT_ALGORITHMS: ${bad.map((a) => JSON.stringify(a)).join(', ')} not allowed; choose from ${JWT_ALGORITHMS.join(', ')}`,
    );
  }
  return {
    jwksUrl,
    publicKeyPem,
    issuer: issuer ?? '',
    audience: audience ?? '',
    algorithms: algorithms.filter((a): a is JwtAlgorithm =>
      (JWT_ALGORITHMS as readonly string[]).includes(a),
    ),
    roleClaim: get('AUTH_JWT_ROLE_CLAIM') ?? 'hf_role',
  };
}

/** Hides the password of a URL for logs and error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
  }
}
