/**
 * fleetctl's device commands: following one (`commands show --wait`), listing them, bulk commands by
 * filter with a progress line, and what vm.ts and service-vm.ts share (issue, wait, print, exit code).
 *
 * Exit codes a pipeline can use: 0 succeeded (or accepted, without --wait), 2 failed or rejected,
 * 3 timed-out or expired, 4 still pending when --wait's timeout ran out, 1 usage or transport errors.
 */
import type { Command } from 'commander';
import { ApiCallError, callApi, defaultApiUrl } from '../client';

import { COMMAND_STATUSES, type CommandStatus } from '@hyperfleet/device-commands';

export { COMMAND_STATUSES, type CommandStatus };
export type StatusCounts = Record<CommandStatus, number>;

export const EXIT = { ok: 0, usage: 1, failed: 2, timedOut: 3, pending: 4 } as const;

/** The exit code for a command's status; `waited`: the caller asked for the final status. */
export function exitCodeFor(status: CommandStatus, waited: boolean): number {
  switch (status) {
    case 'succeeded':
      return EXIT.ok;
    case 'failed':
    case 'rejected':
      return EXIT.failed;
    case 'timed-out':
    case 'expired':
      return EXIT.timedOut;
    default:
      return waited ? EXIT.pending : EXIT.ok;
  }
}

/** The exit code for a bulk command: the worst of its devices (failures first, then deadlines, then pending). */
export function exitCodeForCounts(counts: Partial<StatusCounts>, waited: boolean): number {
  const n = (s: CommandStatus) => counts[s] ?? 0;
  if (n('failed') + n('rejected') > 0) return EXIT.failed;
  if (n('timed-out') + n('expired') > 0) return EXIT.timedOut;
  if (n('queued') + n('sent') + n('acknowledged') > 0) return waited ? EXIT.pending : EXIT.ok;
  return EXIT.ok;
}

/** `120s`, `2m`, `500ms`, `1h` or bare seconds, in milliseconds; throws a usage error otherwise. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`"${text}" is not a duration (e.g. 120s, 2m, 500ms)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
}

export class UsageError extends Error {}

export interface CommandView {
  commandId: string;
  batchId: string | null;
  deviceId: string;
  name: string;
  args: Record<string, unknown>;
  status: CommandStatus;
  reply: { code: string; message: string; details: Record<string, unknown> | null } | null;
  actor: Record<string, unknown> | null;
  createdAt: string;
  deliverBy: string;
  sentAt: string | null;
  acknowledgedAt: string | null;
  completedAt: string | null;
  expiresAt: string | null;
}

export interface CommandAccepted {
  commandId: string;
  deviceId: string;
  name: string;
  status: CommandStatus;
  links: { self: string };
}

export interface BulkView {
  batchId: string;
  action: string;
  total: number;
  counts: StatusCounts;
  done: boolean;
  createdAt: string;
}

export interface ApiOptions {
  api?: string;
  apiKey?: string;
  json?: boolean;
}

export interface WaitOptions extends ApiOptions {
  wait?: boolean;
  timeout: string;
}

const FINAL = new Set<CommandStatus>(['succeeded', 'failed', 'rejected', 'timed-out', 'expired']);

/** --api, --api-key and --json on a command. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api <url>',
      'fleet API base URL (default: FLEET_API_URL, the config file, or http://127.0.0.1:$HTTP_PORT)',
    )
    .option('--api-key <key>', 'credential (default: HF_API_KEY or the config file)')
    .option('--json', 'print the API response as JSON');
}

/** --wait and --timeout on a command. */
export function withWaitOptions(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait for the final status and exit with its code')
    .option('--timeout <duration>', 'how long --wait waits', '120s');
}

export function call<T>(o: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  return callApi<T>(o.api ?? defaultApiUrl(), method, path, body, o.apiKey ? { apiKey: o.apiKey } : {});
}

/** Follows one command until it is final or the timeout ran out (long-polls the API in ≤ 30 s steps). */
export async function waitForCommand(
  o: ApiOptions,
  commandId: string,
  timeoutMs: number,
): Promise<CommandView> {
  const deadline = Date.now() + timeoutMs;
  const path = `api/v1/commands/${encodeURIComponent(commandId)}`;
  for (;;) {
    const left = deadline - Date.now();
    const step = Math.max(0, Math.min(30_000, left));
    const view = await call<CommandView>(o, 'GET', step > 0 ? `${path}?wait=${step}ms` : path);
    if (FINAL.has(view.status) || Date.now() >= deadline) return view;
  }
}

export function describeCommand(v: CommandView): string {
  const target = typeof v.args.vmName === 'string' ? ` ${v.args.vmName}` : '';
  const reply = v.reply ? ` — ${v.reply.code}: ${v.reply.message}` : '';
  return `${v.name}${target} on ${v.deviceId}: ${v.status}${reply} (command ${v.commandId})`;
}

/**
 * Sends one device command (POST `path`), then with --wait follows it; prints the outcome and sets
 * the exit code. A refusal that recorded the command (details.commandId) is a rejection (exit 2).
 */
export async function issueCommand(
  path: string,
  body: Record<string, unknown>,
  o: WaitOptions,
): Promise<void> {
  const timeoutMs = parseDuration(o.timeout);
  let accepted: CommandAccepted;
  try {
    accepted = await call<CommandAccepted>(o, 'POST', path, body);
  } catch (err) {
    const details = (err as ApiCallError).body as { details?: { commandId?: string } } | undefined;
    if (err instanceof ApiCallError && details?.details?.commandId) {
      if (o.json) console.log(JSON.stringify(err.body, null, 2));
      console.error(`fleetctl: rejected: ${err.message}`);
      process.exitCode = EXIT.failed;
      return;
    }
    throw err;
  }
  if (!o.wait) {
    if (o.json) console.log(JSON.stringify(accepted, null, 2));
    else
      console.log(
        `Accepted ${accepted.name} for ${accepted.deviceId}: command ${accepted.commandId} (${accepted.status}).`,
      );
    process.exitCode = EXIT.ok;
    return;
  }
  printFinal(o, await waitForCommand(o, accepted.commandId, timeoutMs), true);
}

function printFinal(o: ApiOptions, v: CommandView, waited: boolean): void {
  if (o.json) console.log(JSON.stringify(v, null, 2));
  else console.log(describeCommand(v));
  const code = exitCodeFor(v.status, waited);
  if (code === EXIT.pending) console.error(`fleetctl: still ${v.status} when the wait ran out`);
  else if (code !== EXIT.ok && !o.json)
    console.error(`fleetctl: ${v.status}${v.reply ? `: ${v.reply.code}` : ''}`);
  process.exitCode = code;
}

// -------------------------------------------------------------------------------------- progress line

export function countsLine(b: Pick<BulkView, 'total' | 'counts'>): string {
  const final = [...FINAL].reduce((n, s) => n + (b.counts[s] ?? 0), 0);
  const parts = COMMAND_STATUSES.filter((s) => (b.counts[s] ?? 0) > 0).map((s) => `${s} ${b.counts[s]}`);
  return `${final}/${b.total} final  ${parts.join(' · ') || 'nothing yet'}`;
}

/** Per-state counts on one line: redrawn in place on a terminal, a new line per change otherwise. */
export class CountsProgress {
  private last = '';
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  update(line: string): void {
    if (line === this.last) return;
    this.last = line;
    if (this.tty) this.out.write(`\r\x1b[2K${line}`);
    else this.out.write(`${line}\n`);
  }

  end(): void {
    if (this.tty && this.last) this.out.write('\n');
  }
}

// ----------------------------------------------------------------------------------------------- verbs

const collect = (value: string, previous: string[] = []) => [...previous, value];

const BULK_ACTIONS = [
  'rt-vm.start',
  'rt-vm.stop',
  'rt-vm.reset',
  'rt-vm.delete',
  'service-vm.reboot',
  'service-vm.shutdown',
];

/** Runs an action, turning a usage mistake into exit 1 with one line. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof UsageError || err instanceof ApiCallError) {
        console.error(`fleetctl: ${err.message}`);
        process.exitCode = EXIT.usage;
        return;
      }
      throw err;
    }
  };
}

export function registerDeviceCommandsCommands(program: Command): void {
  const commands = program.command('commands').description('follow device commands; bulk commands by filter');

  withWaitOptions(
    withApiOptions(
      commands.command('show <commandId>').description('a device command: status, reply and times'),
    ),
  ).action(
    action(async (commandId: string, o: WaitOptions) => {
      const v = o.wait
        ? await waitForCommand(o, commandId, parseDuration(o.timeout))
        : await call<CommandView>(o, 'GET', `api/v1/commands/${encodeURIComponent(commandId)}`);
      if (!o.wait && !o.json) {
        console.log(describeCommand(v));
        for (const [k, t] of [
          ['created', v.createdAt],
          ['deliver by', v.deliverBy],
          ['sent', v.sentAt],
          ['acknowledged', v.acknowledgedAt],
          ['completed', v.completedAt],
          ['expires', v.expiresAt],
        ] as const) {
          if (t) console.log(`  ${k.padEnd(13)}${t}`);
        }
        process.exitCode = exitCodeFor(v.status, false);
        return;
      }
      printFinal(o, v, Boolean(o.wait));
    }),
  );

  withApiOptions(
    commands
      .command('list')
      .description('device commands, newest first')
      .option('--device <deviceId>', 'only this device')
      .option('--status <status>', `only this status (${COMMAND_STATUSES.join(', ')})`)
      .option('--batch <batchId>', 'only the commands of this bulk command')
      .option('--limit <n>', 'at most this many', '50'),
  ).action(
    action(async (o: ApiOptions & { device?: string; status?: string; batch?: string; limit: string }) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.device) q.set('deviceId', o.device);
      if (o.status) q.set('status', o.status);
      if (o.batch) q.set('batchId', o.batch);
      const page = await call<{ items: CommandView[]; nextCursor: string | null }>(
        o,
        'GET',
        `api/v1/commands?${q}`,
      );
      if (o.json) {
        console.log(JSON.stringify(page, null, 2));
        return;
      }
      if (!page.items.length) console.log('No commands.');
      for (const v of page.items) console.log(`${v.createdAt}  ${describeCommand(v)}`);
    }),
  );

  withWaitOptions(
    withApiOptions(
      commands
        .command('bulk <action>')
        .description(`one command to every device matching a filter; action: ${BULK_ACTIONS.join(', ')}`)
        .option('--vm <vmName>', 'the RT VM (rt-vm.* actions)')
        .option('--force', 'rt-vm.stop: --force')
        .option('--reason <text>', 'service-vm.*: why')
        .option('--grace <seconds>', 'service-vm.*: seconds user VMs get to shut down')
        .option('--class <deviceClass>', 'devices of this class (vehicle, industrial-pc)')
        .option('--site <site>', 'devices at this site')
        .option('--tag <tag>', 'devices with this tag (repeatable: all must match)', collect, [])
        .option('--device <deviceId>', 'this device (repeatable)', collect, [])
        .option('--online', 'only devices online now'),
    ),
  ).action(
    action(
      async (
        bulkAction: string,
        o: WaitOptions & {
          vm?: string;
          force?: boolean;
          reason?: string;
          grace?: string;
          class?: string;
          site?: string;
          tag: string[];
          device: string[];
          online?: boolean;
        },
      ) => {
        if (!BULK_ACTIONS.includes(bulkAction)) {
          throw new UsageError(`unknown action "${bulkAction}"; one of ${BULK_ACTIONS.join(', ')}`);
        }
        const timeoutMs = parseDuration(o.timeout);
        const filter = {
          ...(o.class ? { class: o.class } : {}),
          ...(o.site ? { site: o.site } : {}),
          ...(o.tag.length ? { tags: o.tag } : {}),
          ...(o.device.length ? { deviceIds: o.device } : {}),
          ...(o.online ? { online: true } : {}),
        };
        if (!Object.keys(filter).length) {
          throw new UsageError('say which devices: --class, --site, --tag, --device or --online');
        }
        if (o.grace !== undefined && !/^\d+$/.test(o.grace))
          throw new UsageError('--grace takes whole seconds');
        const args = {
          ...(o.vm ? { vmName: o.vm } : {}),
          ...(o.force ? { force: true } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
          ...(o.grace !== undefined ? { graceSeconds: Number(o.grace) } : {}),
        };
        const accepted = await call<{ batchId: string; total: number; counts: StatusCounts }>(
          o,
          'POST',
          'api/v1/bulk-commands',
          { filter, action: bulkAction, args },
        );
        if (!o.wait) {
          if (o.json) console.log(JSON.stringify(accepted, null, 2));
          else
            console.log(
              `Bulk ${bulkAction}: batch ${accepted.batchId}, ${accepted.total} device(s) matched.`,
            );
          process.exitCode = EXIT.ok;
          return;
        }
        const deadline = Date.now() + timeoutMs;
        const progress = new CountsProgress();
        let view: BulkView;
        for (;;) {
          view = await call<BulkView>(
            o,
            'GET',
            `api/v1/bulk-commands/${encodeURIComponent(accepted.batchId)}`,
          );
          progress.update(`bulk ${bulkAction} ${view.batchId.slice(0, 8)}  ${countsLine(view)}`);
          if (view.done || Date.now() >= deadline) break;
          await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
        }
        progress.end();
        if (o.json) console.log(JSON.stringify(view, null, 2));
        else console.log(`Bulk ${bulkAction} ${view.batchId}: ${countsLine(view)}`);
        const code = exitCodeForCounts(view.counts, true);
        if (code === EXIT.pending)
          console.error('fleetctl: some devices were still pending when the wait ran out');
        else if (code !== EXIT.ok)
          console.error(`fleetctl: not every device succeeded (${countsLine(view)})`);
        process.exitCode = code;
      },
    ),
  );
}
