import type { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, runMigrations } from '@hyperfleet/event-store';
import { MESSAGING_MIGRATION_SET } from '@hyperfleet/messaging';
import { DEVICE_COMMANDS_MIGRATION_SET } from '@hyperfleet/device-commands';
import {
  READ_MODEL_ENTITIES,
  READ_MODEL_MIGRATIONS,
  createReadModelDataSource,
  runReadModelMigrations,
} from '@hyperfleet/read-models';
import { GATEWAY_MIGRATION_SET } from '../../../device-gateway/src/sessions/migrations';
import { IDENTITY_MIGRATION_SET } from '../../../device-gateway/src/identity';
import { OPERATOR_AUTH_MIGRATION_SET } from '../../../fleet-api/src/auth/operator-auth.migrations';
import { AUDIT_MIGRATION_SET } from '../../../fleet-api/src/audit/audit.migrations';
import { IDEMPOTENCY_MIGRATION_SET } from '../../../fleet-api/src/http/idempotency.migrations';
import { BOARDS_MIGRATION_SET } from '../../../fleet-api/src/boards/boards.migrations';

/** Every schema Hyperfleet owns, in dependency order; each set is safe to run twice. */
export async function runAllMigrations(
  pool: Pool,
  databaseUrl: string,
  say: (line: string) => void,
): Promise<void> {
  for (const set of [
    { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS },
    MESSAGING_MIGRATION_SET,
    GATEWAY_MIGRATION_SET,
    IDENTITY_MIGRATION_SET,
    DEVICE_COMMANDS_MIGRATION_SET,
    OPERATOR_AUTH_MIGRATION_SET,
    IDEMPOTENCY_MIGRATION_SET,
    AUDIT_MIGRATION_SET,
    BOARDS_MIGRATION_SET,
  ]) {
    const report = await runMigrations(pool, set);
    for (const m of report.applied) say(`applied ${set.name} #${m.version} ${m.name}`);
    say(`${set.name}: at version ${report.current}${report.applied.length ? '' : ' (nothing to do)'}`);
  }
  const ds = createReadModelDataSource({
    url: databaseUrl,
    entities: READ_MODEL_ENTITIES,
    migrations: READ_MODEL_MIGRATIONS,
    poolSize: 1,
  });
  await ds.initialize();
  try {
    const ran = await runReadModelMigrations(ds, pool);
    for (const m of ran) say(`applied read-models ${m}`);
    say(`read-models: ${READ_MODEL_MIGRATIONS.length} migrations${ran.length ? '' : ' (nothing to do)'}`);
  } finally {
    await ds.destroy();
  }
}
