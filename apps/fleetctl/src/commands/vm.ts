import type { Command } from 'commander';
import {
  EXIT,
  UsageError,
  action,
  call,
  issueCommand,
  withApiOptions,
  withWaitOptions,
  type ApiOptions,
  type WaitOptions,
} from './device-commands';

const vmPath = (deviceId: string, vmName: string, verb: string) =>
  `api/v1/devices/${encodeURIComponent(deviceId)}/rt-vms/${encodeURIComponent(vmName)}:${verb}`;

/** `fleetctl vm start|stop|reset|delete <deviceId> <vmName>` and `vm budget <deviceId> <vmName> <µs>`. */
export function registerVmCommands(program: Command): void {
  const vm = program.command('vm').description("act on a device's RT VMs (acrnctl through the agent)");
  registerVmListCommand(vm);

  for (const [verb, description] of [
    ['start', 'start a stopped RT VM'],
    ['stop', 'stop an RT VM (graceful: the guest powers off)'],
    ['reset', 'reset a running RT VM (stop, then start)'],
    ['delete', 'delete a stopped RT VM'],
  ] as const) {
    const cmd = withWaitOptions(
      withApiOptions(vm.command(`${verb} <deviceId> <vmName>`).description(description)),
    );
    if (verb === 'stop') cmd.option('--force', 'acrnctl stop --force (refused for an RTVM)');
    cmd.option('--deliver-within <seconds>', 'how long the command may wait for an offline device');
    cmd.action(
      action(
        async (
          deviceId: string,
          vmName: string,
          o: WaitOptions & { force?: boolean; deliverWithin?: string },
        ) => {
          await issueCommand(
            vmPath(deviceId, vmName, verb),
            { ...(o.force ? { force: true } : {}), ...deliverWithin(o) },
            o,
          );
        },
      ),
    );
  }

  withApiOptions(
    vm
      .command('budget <deviceId> <vmName> <us>')
      .description("change an RT VM's worst-case latency budget (µs)"),
  ).action(
    action(async (deviceId: string, vmName: string, us: string, o: ApiOptions) => {
      if (!/^\d+$/.test(us) || Number(us) < 1) throw new UsageError(`"${us}" is not a budget in whole µs`);
      const r = await call<{ budgetUs: number; version: number }>(
        o,
        'POST',
        vmPath(deviceId, vmName, 'change-latency-budget'),
        {
          budgetUs: Number(us),
        },
      );
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else
        console.log(
          `Latency budget of ${vmName} on ${deviceId} is now ${r.budgetUs} µs (version ${r.version}).`,
        );
      process.exitCode = EXIT.ok;
    }),
  );
}

interface DeviceVm {
  name: string;
  vmType: string;
  loadOrder: string;
  state: string;
  pinnedPcpus: number[];
  latencyBudgetUs: number | null;
}

/** `fleetctl vm list <deviceId>`: every VM of the device (RTVMs, standard VMs, the Service VM). */
export function registerVmListCommand(vm: Command): void {
  withApiOptions(
    vm.command('list <deviceId>').description("every VM a device's birth announced, with its type and state"),
  ).action(
    action(async (deviceId: string, o: ApiOptions) => {
      const d = await call<{ vms: DeviceVm[] }>(o, 'GET', `api/v1/devices/${encodeURIComponent(deviceId)}`);
      if (o.json) console.log(JSON.stringify(d.vms, null, 2));
      else
        for (const v of d.vms) {
          const budget = v.latencyBudgetUs === null ? '' : `  budget ${v.latencyBudgetUs} µs`;
          console.log(
            `${v.name.padEnd(16)} ${v.vmType.padEnd(12)} ${v.loadOrder.padEnd(17)} ${v.state.padEnd(10)} pCPUs ${v.pinnedPcpus.join(',') || '-'}${budget}`,
          );
        }
      process.exitCode = EXIT.ok;
    }),
  );
}

export function deliverWithin(o: { deliverWithin?: string }): { deliverWithinSeconds?: number } {
  if (o.deliverWithin === undefined) return {};
  if (!/^\d+$/.test(o.deliverWithin)) throw new UsageError('--deliver-within takes whole seconds');
  return { deliverWithinSeconds: Number(o.deliverWithin) };
}
