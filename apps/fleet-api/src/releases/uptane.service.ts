/**
 * The server's half of the Uptane Image repository: it keeps the metadata the offline keys signed (root,
 * targets) after checking it, and signs snapshot and timestamp with the online keys, which live in
 * HF_DATA_DIR/uptane/online (copied there from the `online` folder `fleetctl releases keys init` wrote).
 * Metadata rows are in hf.uptane_metadata (one per role and version), so every API replica serves the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  buildSnapshot,
  buildTimestamp,
  metadataBytes,
  parseRoot,
  parseTargets,
  roleKeyFromPem,
  signable,
  targetPath,
  tufExpiry,
  verifyRole,
  type CatalogueRelease,
  type RoleKey,
} from '@hyperfleet/artifacts';
import { runMigrations, type Migration } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ApiError } from '../http/api-error';
import { ReleasesService, releaseResponse } from './releases.service';

export const UPTANE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'uptane-metadata',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;
CREATE TABLE hf.uptane_metadata (
  repository  text NOT NULL,
  role        text NOT NULL CHECK (role IN ('root', 'targets', 'snapshot', 'timestamp')),
  version     integer NOT NULL CHECK (version > 0),
  -- The exact bytes served: snapshot and timestamp hash them, so they are kept as text, not jsonb.
  body        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, role, version)
);
`,
  },
];
export const UPTANE_MIGRATION_SET = { name: 'uptane', migrations: UPTANE_MIGRATIONS } as const;

export const IMAGE_REPOSITORY = 'image';
export type MetadataRole = 'root' | 'targets' | 'snapshot' | 'timestamp';
const SNAPSHOT_DAYS = 7;
const TIMESTAMP_DAYS = 1;

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new ApiError(422, 'UPTANE_METADATA_INVALID', message, details);

@Injectable()
export class UptaneService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Uptane');
  private refresher: NodeJS.Timeout | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    private readonly releases: ReleasesService,
  ) {}

  async onModuleInit(): Promise<void> {
    await runMigrations(this.pool, UPTANE_MIGRATION_SET);
    // timestamp.json lives a day: re-sign it well before, so devices never see it expire.
    this.refresher = setInterval(() => {
      this.refreshTimestamp().catch((error: unknown) =>
        this.log.warn(`timestamp refresh failed: ${(error as Error).message}`),
      );
    }, 15 * 60_000);
    this.refresher.unref();
  }

  onModuleDestroy(): void {
    if (this.refresher) clearInterval(this.refresher);
  }

  /**
   * A new timestamp over the current snapshot when the current one expires within half its lifetime (as
   * seen at `now`). Several API processes may race: the second insert of a version is a no-op.
   */
  async refreshTimestamp(now = new Date()): Promise<number | null> {
    const [current, snapshotRow] = [await this.latest('timestamp'), await this.latest('snapshot')];
    if (!current || !snapshotRow) return null;
    const expires = Date.parse((JSON.parse(current.body) as { signed: { expires: string } }).signed.expires);
    if (expires - now.getTime() > (TIMESTAMP_DAYS * 86_400_000) / 2) return null;
    if (!fs.existsSync(path.join(this.onlineKeysDir, 'timestamp.ed25519.pem'))) return null;
    const timestamp = buildTimestamp(Buffer.from(snapshotRow.body), snapshotRow.version, {
      version: current.version + 1,
      expires: tufExpiry(new Date(now.getTime() + TIMESTAMP_DAYS * 86_400_000)),
      signWith: [this.onlineKey('timestamp')],
    });
    try {
      await this.insert('timestamp', current.version + 1, metadataBytes(timestamp));
    } catch (error) {
      if ((error as { code?: string }).code === 'UPTANE_VERSION_EXISTS') return null;
      throw error;
    }
    return current.version + 1;
  }

  get onlineKeysDir(): string {
    return path.join(this.infra.config.dataDir, 'uptane', 'online');
  }

  /** The latest metadata of a role, or the given version; null when there is none. */
  async latest(role: MetadataRole, version?: number): Promise<{ version: number; body: string } | null> {
    const { rows } = await this.pool.query<{ version: number; body: string }>(
      `SELECT version, body FROM hf.uptane_metadata
        WHERE repository = $1 AND role = $2 AND ($3::int IS NULL OR version = $3)
        ORDER BY version DESC LIMIT 1`,
      [IMAGE_REPOSITORY, role, version ?? null],
    );
    return rows[0] ?? null;
  }

  private async insert(role: MetadataRole, version: number, body: Buffer): Promise<void> {
    try {
      await this.pool.query(
        'INSERT INTO hf.uptane_metadata (repository, role, version, body) VALUES ($1, $2, $3, $4)',
        [IMAGE_REPOSITORY, role, version, body.toString('utf8')],
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new ApiError(409, 'UPTANE_VERSION_EXISTS', `${role} version ${version} exists already`, {
          role,
          version,
        });
      }
      throw error;
    }
  }

  /** A new root: the first one signed by itself; a later one by a threshold of the previous and its own keys. */
  async putRoot(json: unknown): Promise<{ version: number; expires: string }> {
    let root;
    try {
      root = parseRoot(json);
    } catch (error) {
      throw invalid(`Not TUF root metadata: ${(error as Error).message}`);
    }
    const previous = await this.latest('root');
    const expected = (previous?.version ?? 0) + 1;
    if (root.signed.version !== expected) {
      throw invalid(`The next root must be version ${expected}, not ${root.signed.version}`, { expected });
    }
    if (root.signed.isExpired()) throw invalid('The root has expired', { expires: root.signed.expires });
    try {
      if (previous) verifyRole(parseRoot(JSON.parse(previous.body)), 'root', root);
      verifyRole(root, 'root', root);
    } catch (error) {
      throw invalid(`The root is not signed as TUF requires: ${(error as Error).message}`);
    }
    await this.insert('root', root.signed.version, metadataBytes(root));
    return { version: root.signed.version, expires: root.signed.expires };
  }

  /**
   * Targets signed offline: checked against the current root, newer than the last, naming only images the
   * catalogue holds with those lengths and hashes. Then snapshot and timestamp are signed online.
   */
  async putTargets(json: unknown): Promise<{ targets: number; snapshot: number; timestamp: number }> {
    const rootRow = await this.latest('root');
    if (!rootRow)
      throw new ApiError(
        409,
        'UPTANE_ROOT_MISSING',
        'Upload root metadata first (fleetctl releases keys init)',
      );
    const root = parseRoot(JSON.parse(rootRow.body));
    let targets;
    try {
      targets = parseTargets(json);
    } catch (error) {
      throw invalid(`Not TUF targets metadata: ${(error as Error).message}`);
    }
    try {
      verifyRole(root, 'targets', targets);
    } catch (error) {
      throw invalid(`targets.json is not signed by the root's targets key(s): ${(error as Error).message}`);
    }
    if (targets.signed.isExpired())
      throw invalid('targets.json has expired', { expires: targets.signed.expires });
    const previous = await this.latest('targets');
    if (previous && targets.signed.version <= previous.version) {
      throw invalid(`targets.json must be newer than version ${previous.version}`, {
        latest: previous.version,
      });
    }
    const catalogue = new Map<string, { length: number; sha256: string; sha512: string }>();
    for (const loaded of await this.releases.list()) {
      const release = releaseResponse(loaded) as CatalogueRelease;
      if (!signable(release)) continue;
      for (const image of release.images) catalogue.set(targetPath(release.releaseId, image), image);
    }
    const unknown = Object.values(targets.signed.targets).filter((t) => {
      const image = catalogue.get(t.path);
      return (
        !image ||
        image.length !== t.length ||
        image.sha256 !== t.hashes.sha256 ||
        image.sha512 !== t.hashes.sha512
      );
    });
    if (unknown.length > 0) {
      throw invalid('targets.json names images the catalogue does not offer with those lengths and hashes', {
        paths: unknown.map((t) => t.path),
      });
    }
    const [snapshotKey, timestampKey] = [this.onlineKey('snapshot'), this.onlineKey('timestamp')];
    const targetsBytes = metadataBytes(targets);
    const snapshotVersion = ((await this.latest('snapshot'))?.version ?? 0) + 1;
    const now = Date.now();
    const snapshot = buildSnapshot(targetsBytes, targets.signed.version, {
      version: snapshotVersion,
      expires: tufExpiry(new Date(now + SNAPSHOT_DAYS * 86_400_000)),
      signWith: [snapshotKey],
    });
    const timestampVersion = ((await this.latest('timestamp'))?.version ?? 0) + 1;
    const timestamp = buildTimestamp(metadataBytes(snapshot), snapshotVersion, {
      version: timestampVersion,
      expires: tufExpiry(new Date(now + TIMESTAMP_DAYS * 86_400_000)),
      signWith: [timestampKey],
    });
    // The root must trust the online keys the server holds, or devices would refuse what it signs.
    try {
      verifyRole(root, 'snapshot', snapshot);
      verifyRole(root, 'timestamp', timestamp);
    } catch {
      throw new ApiError(
        409,
        'UPTANE_ONLINE_KEYS_UNTRUSTED',
        "The server's online keys are not the root's snapshot/timestamp keys",
      );
    }
    await this.insert('targets', targets.signed.version, targetsBytes);
    await this.insert('snapshot', snapshotVersion, metadataBytes(snapshot));
    await this.insert('timestamp', timestampVersion, metadataBytes(timestamp));
    return { targets: targets.signed.version, snapshot: snapshotVersion, timestamp: timestampVersion };
  }

  private onlineKey(role: 'snapshot' | 'timestamp'): RoleKey {
    const file = path.join(this.onlineKeysDir, `${role}.ed25519.pem`);
    try {
      return roleKeyFromPem(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new ApiError(409, 'UPTANE_ONLINE_KEYS_MISSING', `The ${role} key is not at ${file}`, { role });
    }
  }

  async status() {
    const roles = {} as Record<MetadataRole, { version: number; expires: string; keyIds: string[] } | null>;
    const root = await this.latest('root');
    const parsedRoot = root ? parseRoot(JSON.parse(root.body)) : null;
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      const row = role === 'root' ? root : await this.latest(role);
      const signed = row
        ? (JSON.parse(row.body) as { signed: { version: number; expires: string } }).signed
        : null;
      roles[role] = signed
        ? {
            version: signed.version,
            expires: signed.expires,
            keyIds: parsedRoot?.signed.roles[role]?.keyIDs ?? [],
          }
        : null;
    }
    const online = (['snapshot', 'timestamp'] as const).map((role) => ({
      role,
      present: fs.existsSync(path.join(this.onlineKeysDir, `${role}.ed25519.pem`)),
    }));
    return { repository: IMAGE_REPOSITORY, roles, onlineKeys: online };
  }
}
