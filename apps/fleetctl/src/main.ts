import { Command } from 'commander';
import { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, runMigrations } from '@hyperfleet/event-store';
import { ConfigError, checkDatabase, loadConfig, redact, startInfrastructure } from '@hyperfleet/platform';
import { IDENTITY_MIGRATION_SET } from '../../device-gateway/src/identity';
import { registerDevicesCommands } from './commands/devices';
import { registerMosquittoConfigCommand } from './commands/mosquitto-config';

const program = new Command()
  .name('fleetctl')
  .description('Hyperfleet command line for operators and pipelines')
  .showHelpAfterError();

program
  .command('migrate')
  .description(
    'apply pending schema migrations to DATABASE_URL (or to the embedded PostgreSQL); safe to run twice',
  )
  .action(async () => {
    const config = loadConfig();
    const infra = await startInfrastructure(config, { needsMqtt: false });
    const pool = new Pool({ connectionString: infra.databaseUrl, max: 2 });
    pool.on('error', () => undefined);
    try {
      await checkDatabase(pool, infra.databaseUrl);
      const report = await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
      for (const m of report.applied) console.log(`applied event-store #${m.version} ${m.name}`);
      console.log(
        `${redact(infra.databaseUrl)}: event-store schema at version ${report.current}` +
          (report.applied.length ? '' : ' (nothing to do)'),
      );
      const identity = await runMigrations(pool, IDENTITY_MIGRATION_SET);
      for (const m of identity.applied) console.log(`applied identity #${m.version} ${m.name}`);
      console.log(`${redact(infra.databaseUrl)}: identity schema at version ${identity.current}`);
    } finally {
      await pool.end();
      await infra.stop();
    }
  });

registerMosquittoConfigCommand(program);
registerDevicesCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error('fleetctl: invalid configuration.');
    for (const p of err.problems) console.error(`  - ${p}`);
  } else {
    console.error(`fleetctl: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
});
