import { CommandLineError, parseFleetCommandLine, SIMULATE_CONNECT_RATE } from './cli';

const problemsOf = (args: string[]): readonly string[] => {
  try {
    parseFleetCommandLine(args);
  } catch (err) {
    if (err instanceof CommandLineError) return err.problems;
    throw err;
  }
  throw new Error(`${args.join(' ')} was accepted`);
};

describe('the all-in-one command line', () => {
  it('without arguments runs the app alone, as before', () => {
    expect(parseFleetCommandLine([])).toEqual({ kind: 'run', simulate: null });
  });

  it('--simulate N and --simulate=N give N devices with the simulator defaults, a seed and a slower connect rate', () => {
    for (const args of [['--simulate', '50'], ['--simulate=50']]) {
      const cli = parseFleetCommandLine(args);
      expect(cli.kind).toBe('run');
      const simulate = cli.kind === 'run' ? cli.simulate : null;
      expect(simulate).toMatchObject({
        fleet: {
          count: 50,
          seed: 1,
          idPrefix: 'sim',
          telemetryIntervalMs: 10_000,
          connectRate: SIMULATE_CONNECT_RATE,
        },
        progress: true,
        summaryIntervalMs: 5000,
      });
      expect(simulate!.fleet).not.toHaveProperty('mqttUrl');
    }
  });

  it('passes simulator options through', () => {
    const cli = parseFleetCommandLine([
      '--simulate',
      '5',
      '--seed=7',
      '--id-prefix',
      'lab',
      '--telemetry-interval',
      '2s',
      '--health-interval=500ms',
      '--reconnect-prob',
      '0',
      '--connect-rate',
      '0',
      '--no-progress',
      '--summary-interval',
      '0',
    ]);
    expect(cli).toMatchObject({
      kind: 'run',
      simulate: {
        fleet: {
          count: 5,
          seed: 7,
          idPrefix: 'lab',
          telemetryIntervalMs: 2000,
          healthIntervalMs: 500,
          reconnectProb: 0,
          connectRate: 0,
        },
        progress: false,
        summaryIntervalMs: 0,
      },
    });
  });

  it("passes the simulated agent's command failure and silence rates through", () => {
    const cli = parseFleetCommandLine([
      '--simulate',
      '5',
      '--command-failure-rate',
      '0.1',
      '--command-silence-rate=0.05',
    ]);
    expect(cli).toMatchObject({
      simulate: { fleet: { commandFailureRate: 0.1, commandSilenceRate: 0.05 } },
    });
    expect(problemsOf(['--command-failure-rate', '0.1'])[0]).toContain('--command-failure-rate only applies');
    expect(
      problemsOf(['--simulate', '5', '--command-failure-rate', '0.7', '--command-silence-rate', '0.5'])[0],
    ).toContain('commandFailureRate + commandSilenceRate must be ≤ 1');
  });

  it('refuses values that are not numbers, each with the option and an example', () => {
    expect(problemsOf(['--simulate', 'fifty'])[0]).toContain(
      '--simulate takes a whole number ≥ 1, e.g. --simulate 50',
    );
    expect(problemsOf(['--simulate', '0'])[0]).toContain('--simulate takes a whole number');
    expect(problemsOf(['--simulate', '2.5'])[0]).toContain('--simulate takes a whole number');
    expect(problemsOf(['--simulate', ''])[0]).toContain('--simulate takes a whole number');
    expect(problemsOf(['--simulate'])[0]).toContain("option '--simulate <devices>' argument missing");
    expect(problemsOf(['--simulate', '5', '--seed', '-1'])[0]).toContain('--seed takes a whole number');
    expect(problemsOf(['--simulate', '5', '--telemetry-interval', 'often'])[0]).toContain(
      '--telemetry-interval takes a duration',
    );
    expect(problemsOf(['--simulate', '5', '--reconnect-prob', '1.5'])[0]).toContain(
      '--reconnect-prob takes a probability between 0 and 1',
    );
    expect(problemsOf(['--simulate', '5', '--connect-rate', 'fast'])[0]).toContain(
      '--connect-rate takes a number',
    );
    expect(problemsOf(['--simulate', '5', '--id-prefix', 'a/b'])[0]).toContain('--id-prefix takes');
  });

  it('refuses simulator options without --simulate, unknown options and stray arguments', () => {
    expect(problemsOf(['--seed', '7', '--no-progress'])).toEqual([
      '--seed only applies to a simulated fleet: add --simulate <devices>.',
      '--no-progress only applies to a simulated fleet: add --simulate <devices>.',
    ]);
    expect(problemsOf(['--simulat', '5'])[0]).toContain("unknown option '--simulat'");
    expect(problemsOf(['50'])[0]).toContain('too many arguments');
  });

  it('--help gives the usage', () => {
    const cli = parseFleetCommandLine(['--help']);
    expect(cli.kind).toBe('help');
    expect(cli.kind === 'help' && cli.text).toContain('--simulate <devices>');
  });
});
