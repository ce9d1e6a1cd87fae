import { Command } from 'commander';
import { ConfigError, redact } from '@hyperfleet/platform';
import { withDatabase } from './commands/database';
import { runAllMigrations } from './commands/migrations';
import { registerProjectionsCommands } from './commands/projections';
import { registerDevicesCommands } from './commands/devices';
import { registerDeviceLabelsCommands } from './commands/device-labels';
import { registerAuditCommand } from './commands/audit';
import { registerMosquittoConfigCommand } from './commands/mosquitto-config';
import { registerTelemetryCommands } from './commands/telemetry';
import { registerVmCommands } from './commands/vm';
import { registerServiceVmCommands } from './commands/service-vm';
import { registerDeviceCommandsCommands } from './commands/device-commands';
import { registerPlansCommands } from './commands/plans';
import { registerBoardsCommands } from './commands/boards';
import { registerKeysCommands } from './commands/keys';
import { registerReleasesCommands } from './commands/releases';

const program = new Command()
  .name('fleetctl')
  .description('Hyperfleet command line for operators and pipelines')
  .showHelpAfterError();

program
  .command('migrate')
  .description(
    'apply pending schema migrations to DATABASE_URL (or to the embedded PostgreSQL); safe to run twice',
  )
  .action(() =>
    withDatabase(async (pool, { databaseUrl }) => {
      console.log(`migrating ${redact(databaseUrl)}`);
      await runAllMigrations(pool, databaseUrl, (line) => console.log(`  ${line}`));
    }),
  );

registerProjectionsCommands(program);
registerMosquittoConfigCommand(program);
registerDevicesCommands(program);
registerDeviceLabelsCommands(program);
registerAuditCommand(program);
registerTelemetryCommands(program);
registerVmCommands(program);
registerServiceVmCommands(program);
registerDeviceCommandsCommands(program);
registerPlansCommands(program);
registerBoardsCommands(program);
registerKeysCommands(program);
registerReleasesCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error('fleetctl: invalid configuration.');
    for (const p of err.problems) console.error(`  - ${p}`);
  } else {
    console.error(`fleetctl: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
});
