import type { Command } from 'commander';
import {
  UsageError,
  action,
  issueCommand,
  withApiOptions,
  withWaitOptions,
  type WaitOptions,
} from './device-commands';
import { deliverWithin } from './vm';

/** `fleetctl service-vm reboot|shutdown <deviceId> [--reason R] [--grace S] [--wait]`. */
export function registerServiceVmCommands(program: Command): void {
  const serviceVm = program.command('service-vm').description("reboot or shut down a device's Service VM");

  for (const [verb, description] of [
    ['reboot', 'reboot the Service VM (and with it the platform)'],
    ['shutdown', 'shut the Service VM (and with it the platform) down'],
  ] as const) {
    withWaitOptions(
      withApiOptions(
        serviceVm
          .command(`${verb} <deviceId>`)
          .description(description)
          .option('--reason <text>', 'why (the agent logs it)')
          .option('--grace <seconds>', 'how long user VMs get to shut down (default 60)')
          .option('--deliver-within <seconds>', 'how long the command may wait for an offline device'),
      ),
    ).action(
      action(
        async (
          deviceId: string,
          o: WaitOptions & { reason?: string; grace?: string; deliverWithin?: string },
        ) => {
          if (o.grace !== undefined && !/^\d+$/.test(o.grace))
            throw new UsageError('--grace takes whole seconds');
          const body = {
            ...(o.reason ? { reason: o.reason } : {}),
            ...(o.grace !== undefined ? { graceSeconds: Number(o.grace) } : {}),
            ...deliverWithin(o),
          };
          await issueCommand(`api/v1/devices/${encodeURIComponent(deviceId)}/service-vm:${verb}`, body, o);
        },
      ),
    );
  }
}
