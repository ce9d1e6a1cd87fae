import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { FakeGateway, purgeDevices } from './fake-gateway';
import { Fleet } from './fleet';
import { credentialsFromFile, DEFAULT_FLEET_OPTIONS, parseDuration, type FleetOptions } from './options';
import { formatSummary, ProgressDisplay } from './progress';

/**
 * fleet-sim: N simulated ACRN devices on real MQTT connections (docs/fleet-sim.md).
 *
 *   node dist/apps/fleet-sim/src/main.js --count 50 --mqtt-url mqtt://127.0.0.1:1884
 *   node dist/apps/fleet-sim/src/main.js fake-gateway --mqtt-url mqtt://127.0.0.1:1883
 */

const num = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};
const whole = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
  return n;
};
const prob = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a probability between 0 and 1`);
  return n;
};
const duration = (value: string) => {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
};
const secs = (ms: number) => `${ms / 1000}s`;
const d = DEFAULT_FLEET_OPTIONS;

interface CliOptions {
  count: number;
  mqttUrl: string;
  seed: number;
  idPrefix: string;
  firstIndex: number;
  healthInterval: number;
  telemetryInterval: number;
  telemetryBatch: number;
  tripleFaultProb: number;
  vmChurnProb: number;
  reconnectProb: number;
  updateFailProb: number;
  commandFailureRate: number;
  commandSilenceRate: number;
  shutdownOff: number;
  latencyRegressProb: number;
  latencyRegressFactor: number;
  connectRate: number;
  duration?: number;
  keepalive: number;
  replyTimeout: number;
  updateStage: number;
  rebootDelay: number;
  credentials?: string;
  validate: boolean;
  progress: boolean;
  fakeGateway: boolean;
  manifest?: string;
  summaryJson?: string;
  purge: boolean;
}

const program = new Command()
  .name('fleet-sim')
  .description(
    'Simulated ACRN devices (Service VM agent) speaking the Hyperfleet agent protocol v1 over MQTT',
  )
  .showHelpAfterError()
  // Options after `fake-gateway` belong to it (both have --mqtt-url and --id-prefix).
  .enablePositionalOptions()
  .addOption(new Option('-n, --count <n>', 'number of devices').argParser(whole('--count')).default(d.count))
  .addOption(new Option('--mqtt-url <url>', 'broker URL').env('MQTT_URL').default(d.mqttUrl))
  .option('--seed <n>', 'random seed: the same seed gives the same devices', whole('--seed'), d.seed)
  .option('--id-prefix <prefix>', 'device ids are <prefix>-<00000>', d.idPrefix)
  .option(
    '--first-index <n>',
    'index of the first device (split a fleet over processes)',
    whole('--first-index'),
    0,
  )
  .addOption(
    new Option('--health-interval <duration>', 'health message interval (0: off)')
      .argParser(duration)
      .default(d.healthIntervalMs, secs(d.healthIntervalMs)),
  )
  .addOption(
    new Option('--telemetry-interval <duration>', 'telemetry batch interval (0: off)')
      .argParser(duration)
      .default(d.telemetryIntervalMs, secs(d.telemetryIntervalMs)),
  )
  .option(
    '--telemetry-batch <n>',
    'samples per telemetry batch (1-500)',
    whole('--telemetry-batch'),
    d.telemetryBatch,
  )
  .option(
    '--triple-fault-prob <p>',
    'per running post-launched RT VM and minute',
    prob('--triple-fault-prob'),
    d.tripleFaultProb,
  )
  .option(
    '--vm-churn-prob <p>',
    'per post-launched VM and minute: power off / start',
    prob('--vm-churn-prob'),
    d.vmChurnProb,
  )
  .option(
    '--reconnect-prob <p>',
    'per device and minute: abrupt connection drop (will), then reconnect',
    prob('--reconnect-prob'),
    d.reconnectProb,
  )
  .option('--update-fail-prob <p>', 'per update: it fails', prob('--update-fail-prob'), d.updateFailProb)
  .option(
    '--command-failure-rate <p>',
    'per command: accepted, then failed with an agent error code',
    prob('--command-failure-rate'),
    d.commandFailureRate,
  )
  .option(
    '--command-silence-rate <p>',
    'per command: never answered (the backend times it out)',
    prob('--command-silence-rate'),
    d.commandSilenceRate,
  )
  .addOption(
    new Option('--shutdown-off <duration>', 'how long a shutdown command keeps a device off (0: stays off)')
      .argParser(duration)
      .default(d.shutdownOffMs, secs(d.shutdownOffMs)),
  )
  .option(
    '--latency-regress-prob <p>',
    'per activated update: RT latency regresses',
    prob('--latency-regress-prob'),
    d.latencyRegressProb,
  )
  .option(
    '--latency-regress-factor <x>',
    'how much a regression multiplies RT latency',
    num('--latency-regress-factor'),
    d.latencyRegressFactor,
  )
  .option(
    '--connect-rate <n>',
    'CONNECTs per second across the fleet (0: unlimited)',
    num('--connect-rate'),
    d.connectRate,
  )
  .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)', duration)
  .option('--keepalive <seconds>', 'MQTT keep-alive', whole('--keepalive'), d.keepaliveSec)
  .addOption(
    new Option('--reply-timeout <duration>', 'no reply by then: re-publish once, then give up')
      .argParser(duration)
      .default(d.replyTimeoutMs, secs(d.replyTimeoutMs)),
  )
  .addOption(
    new Option('--update-stage <duration>', 'how long each update stage takes')
      .argParser(duration)
      .default(d.updateStageMs, secs(d.updateStageMs)),
  )
  .addOption(
    new Option('--reboot-delay <duration>', 'how long a reboot keeps a device offline')
      .argParser(duration)
      .default(d.rebootDelayMs, secs(d.rebootDelayMs)),
  )
  .option('--credentials <file.json>', 'passwords: { "<deviceId>": "<password>" } (username = device id)')
  .option('--no-validate', 'skip the zod check of every outgoing message (saves CPU at high rates)')
  .option('--no-progress', 'no live progress line (the summary is still printed)')
  .option(
    '--fake-gateway',
    'also run a minimal replying gateway in this process (measure the simulator alone)',
  )
  .option(
    '--manifest <file.json>',
    'write the devices (id, class, site, tags, board, VMs, plan) to a file and go on',
  )
  .option('--summary-json <file.json>', 'write the final counters as JSON')
  .option('--purge', "on exit, delete the devices' persistent sessions and retained messages from the broker")
  .action(async (cli: CliOptions) => run(cli));

program
  .command('fake-gateway')
  .description('run only a minimal replying gateway (accepts everything; not the real device gateway)')
  .addOption(new Option('--mqtt-url <url>', 'broker URL').env('MQTT_URL').default(d.mqttUrl))
  .option('--id-prefix <prefix>', 'answer only devices whose id starts with <prefix>- (shared brokers)')
  .option('--share-group <name>', 'subscribe as $share/<name>/… (several instances side by side)')
  .option('--decode', 'decode and check every message with the contracts (slower)', false)
  .option('--sequence', 'also apply the epoch/sequence rule in memory (implies --decode)', false)
  .action(
    async (o: {
      mqttUrl: string;
      idPrefix?: string;
      shareGroup?: string;
      decode: boolean;
      sequence: boolean;
    }) => {
      const prefix = o.idPrefix ? `${o.idPrefix}-` : undefined;
      const gw = new FakeGateway({
        mqttUrl: o.mqttUrl,
        ...(prefix ? { devices: (id: string) => id.startsWith(prefix) } : {}),
        decode: o.decode || o.sequence,
        sequence: o.sequence,
        ...(o.shareGroup ? { shareGroup: o.shareGroup } : {}),
      });
      await gw.start();
      console.error(`fake-gateway: replying on ${o.mqttUrl} (Ctrl-C to stop)`);
      const timer = setInterval(() => console.error(`fake-gateway: ${gw.replies} replies`), 5000);
      await waitForSignal();
      clearInterval(timer);
      await gw.stop();
    },
  );

function waitForSignal(timeoutMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (timer) clearTimeout(timer);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    const timer = timeoutMs !== undefined ? setTimeout(() => done('duration'), timeoutMs) : undefined;
  });
}

async function run(cli: CliOptions): Promise<void> {
  const options: Partial<FleetOptions> = {
    count: cli.count,
    mqttUrl: cli.mqttUrl,
    seed: cli.seed,
    idPrefix: cli.idPrefix,
    firstIndex: cli.firstIndex,
    healthIntervalMs: cli.healthInterval,
    telemetryIntervalMs: cli.telemetryInterval,
    telemetryBatch: cli.telemetryBatch,
    tripleFaultProb: cli.tripleFaultProb,
    vmChurnProb: cli.vmChurnProb,
    reconnectProb: cli.reconnectProb,
    updateFailProb: cli.updateFailProb,
    commandFailureRate: cli.commandFailureRate,
    commandSilenceRate: cli.commandSilenceRate,
    shutdownOffMs: cli.shutdownOff,
    latencyRegressProb: cli.latencyRegressProb,
    latencyRegressFactor: cli.latencyRegressFactor,
    connectRate: cli.connectRate,
    keepaliveSec: cli.keepalive,
    replyTimeoutMs: cli.replyTimeout,
    updateStageMs: cli.updateStage,
    rebootDelayMs: cli.rebootDelay,
    validate: cli.validate,
    ...(cli.credentials ? { credentialsFor: credentialsFromFile(cli.credentials) } : {}),
  };
  const fleet = new Fleet(options);
  if (cli.manifest) {
    writeFileSync(cli.manifest, `${JSON.stringify(fleet.specs(), null, 2)}\n`);
    console.error(`fleet-sim: wrote ${fleet.specs().length} devices to ${cli.manifest}`);
  }
  fleet.on('error', ({ deviceId, error }) => {
    if (!cli.progress) console.error(`fleet-sim: ${deviceId}: ${error.message}`);
  });
  let gateway: FakeGateway | undefined;
  if (cli.fakeGateway) {
    const prefix = `${fleet.options.idPrefix}-`;
    gateway = new FakeGateway({
      mqttUrl: cli.mqttUrl,
      decode: false,
      devices: (id) => id.startsWith(prefix),
    });
    await gateway.start();
  }
  console.error(
    `fleet-sim: ${fleet.options.count} devices (${fleet.options.idPrefix}-…, seed ${fleet.options.seed}) → ` +
      `${fleet.options.mqttUrl}, ${fleet.options.connectRate}/s; health every ${secs(fleet.options.healthIntervalMs)}, ` +
      `telemetry every ${secs(fleet.options.telemetryIntervalMs)} (${fleet.options.telemetryBatch} samples)`,
  );
  const progress = new ProgressDisplay(() => fleet.stats(), { label: 'fleet-sim' });
  if (cli.progress) progress.start();
  void fleet.start();
  const why = await waitForSignal(cli.duration);
  // A second Ctrl-C while stopping: leave at once.
  process.once('SIGINT', () => process.exit(130));
  progress.stop();
  console.error(`fleet-sim: stopping (${why}) …`);
  await fleet.stop();
  await gateway?.stop();
  const summary = fleet.stats();
  console.log(formatSummary(summary));
  if (cli.summaryJson) writeFileSync(cli.summaryJson, `${JSON.stringify(summary, null, 2)}\n`);
  if (cli.purge) {
    await purgeDevices(cli.mqttUrl, fleet.deviceIds());
    console.error(`fleet-sim: purged ${fleet.deviceIds().length} sessions and retained messages`);
  }
}

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`fleet-sim: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
