import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_FLEET_OPTIONS,
  parseDuration,
  resolveFleetOptions,
  type FleetOptions,
} from '@hyperfleet/fleet-sim';

/** What `--simulate` asks for: the simulator's options (without the broker and credentials) and the display. */
export interface SimulateOptions {
  readonly fleet: Omit<FleetOptions, 'mqttUrl' | 'credentialsFor'>;
  /** The simulator's live progress line. */
  readonly progress: boolean;
  /** A one-line backend summary this often (ms); 0: none. */
  readonly summaryIntervalMs: number;
}

export type FleetCommandLine =
  | { readonly kind: 'run'; readonly simulate: SimulateOptions | null }
  | { readonly kind: 'help'; readonly text: string };

/** A command line that cannot run: one sentence per problem. */
export class CommandLineError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'CommandLineError';
  }
}

const d = DEFAULT_FLEET_OPTIONS;
/**
 * CONNECTs per second of a simulated fleet in the all-in-one (fleet-sim's own default is 200). The
 * simulator, the gateway and PostgreSQL share one machine: on two cores the gateway registers a
 * couple of dozen births per second, so a faster connect rate only queues births (each holding a
 * database connection) without bringing the fleet online sooner.
 */
export const SIMULATE_CONNECT_RATE = 25;
const secs = (ms: number) => `${ms / 1000}s`;

const wholeNumber = (flag: string, min: number, example: string) => (value: string) => {
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < min) {
    throw new InvalidArgumentError(`${flag} takes a whole number ≥ ${min}, e.g. ${flag} ${example}.`);
  }
  return Number(value);
};
const number = (flag: string, example: string) => (value: string) => {
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    throw new InvalidArgumentError(`${flag} takes a number ≥ 0, e.g. ${flag} ${example}.`);
  }
  return Number(value);
};
const probability = (flag: string) => (value: string) => {
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || Number(value) > 1) {
    throw new InvalidArgumentError(`${flag} takes a probability between 0 and 1, e.g. ${flag} 0.01.`);
  }
  return Number(value);
};
const duration = (flag: string) => (value: string) => {
  try {
    return parseDuration(value);
  } catch {
    throw new InvalidArgumentError(`${flag} takes a duration: 500ms, 10s, 5m, 2h, or seconds.`);
  }
};

const idPrefix = (value: string) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,100}$/.test(value)) {
    throw new InvalidArgumentError(
      '--id-prefix takes 1-101 letters, digits, ".", "_", ":" or "-", starting with a letter or digit.',
    );
  }
  return value;
};

/** Options that only mean something with --simulate (attribute name → flag). */
const SIMULATION_FLAGS: Record<string, string> = {
  seed: '--seed',
  idPrefix: '--id-prefix',
  telemetryInterval: '--telemetry-interval',
  healthInterval: '--health-interval',
  telemetryBatch: '--telemetry-batch',
  connectRate: '--connect-rate',
  reconnectProb: '--reconnect-prob',
  tripleFaultProb: '--triple-fault-prob',
  vmChurnProb: '--vm-churn-prob',
  updateFailProb: '--update-fail-prob',
  commandFailureRate: '--command-failure-rate',
  commandSilenceRate: '--command-silence-rate',
  progress: '--no-progress',
  summaryInterval: '--summary-interval',
};

interface Parsed {
  simulate?: number;
  seed: number;
  idPrefix: string;
  telemetryInterval: number;
  healthInterval: number;
  telemetryBatch: number;
  connectRate: number;
  reconnectProb: number;
  tripleFaultProb: number;
  vmChurnProb: number;
  updateFailProb: number;
  commandFailureRate: number;
  commandSilenceRate: number;
  progress: boolean;
  summaryInterval: number;
}

function program(): Command {
  return new Command()
    .name('npm start --')
    .description(
      'Hyperfleet all-in-one: every service in one process, on embedded infrastructure unless configured ' +
        '(README.md). With --simulate, also a simulated fleet of ACRN devices against it (docs/fleet-sim.md).',
    )
    .option(
      '--simulate <devices>',
      'provision this many simulated devices and run them against the app',
      wholeNumber('--simulate', 1, '50'),
    )
    .option(
      '--seed <n>',
      'simulator seed: the same seed gives the same devices',
      wholeNumber('--seed', 0, '7'),
      d.seed,
    )
    .option('--id-prefix <prefix>', 'simulated device ids are <prefix>-00000, …', idPrefix, d.idPrefix)
    .addOption(
      new Option('--telemetry-interval <duration>', 'telemetry batch per device this often (0: off)')
        .argParser(duration('--telemetry-interval'))
        .default(d.telemetryIntervalMs, secs(d.telemetryIntervalMs)),
    )
    .addOption(
      new Option('--health-interval <duration>', 'health message per device this often (0: off)')
        .argParser(duration('--health-interval'))
        .default(d.healthIntervalMs, secs(d.healthIntervalMs)),
    )
    .option(
      '--telemetry-batch <n>',
      'samples per telemetry batch (1-500)',
      wholeNumber('--telemetry-batch', 1, '20'),
      d.telemetryBatch,
    )
    .option(
      '--connect-rate <n>',
      'simulated CONNECTs per second (0: unlimited)',
      number('--connect-rate', '100'),
      SIMULATE_CONNECT_RATE,
    )
    .option(
      '--reconnect-prob <p>',
      'per device and minute: abrupt disconnect, then reconnect',
      probability('--reconnect-prob'),
      d.reconnectProb,
    )
    .option(
      '--triple-fault-prob <p>',
      'per running post-launched RTVM and minute',
      probability('--triple-fault-prob'),
      d.tripleFaultProb,
    )
    .option(
      '--vm-churn-prob <p>',
      'per post-launched VM and minute: power off / start',
      probability('--vm-churn-prob'),
      d.vmChurnProb,
    )
    .option(
      '--update-fail-prob <p>',
      'per update: it fails',
      probability('--update-fail-prob'),
      d.updateFailProb,
    )
    .option(
      '--command-failure-rate <p>',
      'per command: the simulated agent accepts it, then answers failed',
      probability('--command-failure-rate'),
      d.commandFailureRate,
    )
    .option(
      '--command-silence-rate <p>',
      'per command: the simulated agent never answers',
      probability('--command-silence-rate'),
      d.commandSilenceRate,
    )
    .option('--no-progress', 'no live progress line of the simulator')
    .addOption(
      new Option('--summary-interval <duration>', 'a one-line backend summary this often (0: off)')
        .argParser(duration('--summary-interval'))
        .default(5000, '5s'),
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

/**
 * The all-in-one's command line (`npm start -- …`). Throws CommandLineError for anything it cannot
 * run: an unknown option, a value that is not a number, a simulator option without --simulate.
 */
export function parseFleetCommandLine(args: readonly string[]): FleetCommandLine {
  const p = program();
  try {
    p.parse([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        return { kind: 'help', text: p.helpInformation() };
      }
      throw new CommandLineError([err.message.replace(/^error: /, '')]);
    }
    throw err;
  }
  const o = p.opts<Parsed>();
  if (o.simulate === undefined) {
    const stray = Object.keys(SIMULATION_FLAGS).filter((k) => p.getOptionValueSource(k) === 'cli');
    if (stray.length > 0) {
      throw new CommandLineError(
        stray.map(
          (k) => `${SIMULATION_FLAGS[k]} only applies to a simulated fleet: add --simulate <devices>.`,
        ),
      );
    }
    return { kind: 'run', simulate: null };
  }
  let fleet: FleetOptions;
  try {
    fleet = resolveFleetOptions({
      count: o.simulate,
      seed: o.seed,
      idPrefix: o.idPrefix,
      telemetryIntervalMs: o.telemetryInterval,
      healthIntervalMs: o.healthInterval,
      telemetryBatch: o.telemetryBatch,
      connectRate: o.connectRate,
      reconnectProb: o.reconnectProb,
      tripleFaultProb: o.tripleFaultProb,
      vmChurnProb: o.vmChurnProb,
      updateFailProb: o.updateFailProb,
      commandFailureRate: o.commandFailureRate,
      commandSilenceRate: o.commandSilenceRate,
    });
  } catch (err) {
    throw new CommandLineError([(err as Error).message]);
  }
  const { mqttUrl: _url, credentialsFor: _credentials, ...rest } = fleet;
  return {
    kind: 'run',
    simulate: { fleet: rest, progress: o.progress, summaryIntervalMs: o.summaryInterval },
  };
}
