import 'reflect-metadata';
import type { DynamicModule, INestApplication, LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, LOG_LEVELS, loadConfig, type HyperfleetConfig } from './config/config';
import { describeInfrastructure, startInfrastructure, type RuntimeInfrastructure } from './infrastructure';

export interface RunAppOptions {
  /** Shown in the banner and logs, e.g. "Hyperfleet (all-in-one)". */
  readonly title: string;
  readonly module: (infra: RuntimeInfrastructure) => DynamicModule;
  readonly needsMqtt?: boolean;
  readonly configure?: (app: INestApplication, infra: RuntimeInfrastructure) => Promise<void> | void;
  /**
   * Runs once the app listens and the banner is printed (e.g. a simulated fleet against it). `signal`
   * aborts when a shutdown begins while it still runs. What it returns is called first on shutdown,
   * before the app closes. A failure (other than after the abort) is a startup failure: exit code 1.
   */
  readonly afterStart?: (
    app: INestApplication,
    infra: RuntimeInfrastructure,
    signal: AbortSignal,
  ) => Promise<StopHook | void> | StopHook | void;
}

/** Returned by `afterStart`: undoes it on shutdown, while the app is still up. */
export type StopHook = () => Promise<void> | void;

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string) => process.stderr.write(`${line}\n`);

function nestLevels(level: HyperfleetConfig['logLevel']): NestLogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1) as NestLogLevel[];
}

/**
 * Common entry point of every app: validate configuration, start embedded infrastructure where
 * none is configured, boot Nest, print where everything listens, and shut down in order on a signal.
 * Startup failures are one readable paragraph, never a stack trace.
 */
export async function runApp(o: RunAppOptions): Promise<void> {
  let config: HyperfleetConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      fail(`${o.title} cannot start: invalid configuration.`);
      for (const p of err.problems) fail(`  - ${p}`);
      fail('See the configuration table in README.md.');
      process.exit(2);
    }
    throw err;
  }

  let infra: RuntimeInfrastructure | null = null;
  let app: INestApplication | null = null;
  let stoppingSince = 0;
  const stopping = new AbortController();
  let afterStart: Promise<StopHook | void> | undefined;
  const shutdown = async (signal: string) => {
    if (stoppingSince) {
      // `npm start` forwards the terminal's Ctrl-C, so one press arrives twice: only a later press forces.
      if (Date.now() - stoppingSince < 2000) return;
      fail('Forced exit.');
      process.exit(130);
    }
    stoppingSince = Date.now();
    // While stopping, dependencies go away in whatever order a terminal's Ctrl-C took them (the
    // embedded PostgreSQL gets the signal too): a connection dying now is expected, not a crash.
    process.on('uncaughtException', (err) => fail(`While stopping: ${err.message}`));
    say(`\n${signal} received: stopping ${o.title} ...`);
    stopping.abort();
    try {
      const stopHook = await afterStart?.catch(() => undefined);
      await stopHook?.();
    } catch (err) {
      fail(`While stopping: ${(err as Error).message}`);
    }
    try {
      await app?.close();
    } catch (err) {
      fail(`While closing: ${(err as Error).message}`);
    }
    await infra?.stop();
    say('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Closing the terminal: stop in order too, or the embedded PostgreSQL outlives us.
  process.on('SIGHUP', () => void shutdown('SIGHUP'));

  const startupFailed = async (err: unknown) => {
    fail(`${o.title} cannot start: ${startupMessage(err, config)}`);
    await app?.close().catch(() => undefined);
    await infra?.stop();
    process.exit(1);
  };

  try {
    infra = await startInfrastructure(config, { needsMqtt: o.needsMqtt, log: say });
    app = await NestFactory.create(o.module(infra), {
      logger: nestLevels(config.logLevel),
      abortOnError: false,
    });
    await o.configure?.(app, infra);
    await app.listen(config.http.port, config.http.host);
    const httpUrl = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
    say(`\n${o.title} is up:\n${describeInfrastructure(infra, httpUrl)}\nPress Ctrl-C to stop.`);
  } catch (err) {
    return startupFailed(err);
  }

  if (o.afterStart) {
    const [started, runtime, hook] = [app!, infra!, o.afterStart];
    afterStart = Promise.resolve().then(() => hook(started, runtime, stopping.signal));
    try {
      await afterStart;
    } catch (err) {
      if (!stoppingSince) await startupFailed(err); // else shutdown() is under way and finishes
    }
  }
}

function startupMessage(err: unknown, config: HyperfleetConfig): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    return `HTTP port ${config.http.port} on ${config.http.host} is in use (set HTTP_PORT to another port).`;
  }
  return e instanceof Error ? e.message : String(err);
}
