import { runApp } from '@hyperfleet/platform';
import { CommandLineError, parseFleetCommandLine, type FleetCommandLine } from './cli';
import { FleetModule } from './fleet.module';

const TITLE = 'Hyperfleet (all-in-one)';

function commandLine(): FleetCommandLine {
  try {
    return parseFleetCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    process.stderr.write(`${TITLE} cannot start: invalid command line.\n`);
    for (const p of err.problems) process.stderr.write(`  - ${p}\n`);
    process.stderr.write('npm start -- --help lists the options.\n');
    process.exit(2);
  }
}

const cli = commandLine();
if (cli.kind === 'help') {
  process.stdout.write(cli.text);
  process.exit(0);
}
const simulate = cli.simulate;

void runApp({
  title: TITLE,
  module: (infra) => FleetModule.forRoot(infra),
  needsMqtt: true,
  // `npm start -- --simulate 50`: a simulated fleet against the app, once it is up (simulate.ts).
  ...(simulate && {
    afterStart: async (app, infra, signal) =>
      (await import('./simulate')).startSimulation(app, infra, simulate, signal),
  }),
});
