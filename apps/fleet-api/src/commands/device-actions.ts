/**
 * What an operator's action on a device becomes: the domain command that decides it (and appends the
 * event the audit trail shows) and the agent command (wire name and args) the gateway sends once the
 * domain accepted it. Pure: the HTTP routes and the bulk dispatcher share it.
 */
import {
  DeleteRtVm,
  RequestServiceVmReboot,
  RequestServiceVmShutdown,
  ResetRtVm,
  StartRtVm,
  StopRtVm,
  type CommandMeta,
  type CommandOutcome,
  type DomainCommand,
} from '@hyperfleet/domain';
import type { DeviceAction } from './commands.schemas';

export interface ActionArgs {
  readonly vmName?: string;
  readonly force?: boolean;
  readonly reason?: string;
  readonly graceSeconds?: number;
}

export interface PlannedCommand {
  /** The agent command name (`cmd/<name>`). */
  readonly name: string;
  /** The agent command's args, as the gateway sends them. */
  readonly args: Record<string, unknown>;
  /** The domain command, with the given meta. */
  domainCommand(meta: CommandMeta): DomainCommand<string, object> & { meta: CommandMeta };
}

export const DEFAULT_REASON = 'requested by an operator';
export const DEFAULT_GRACE_SECONDS = 60;

type AnyDomainCommand = DomainCommand<string, object> & { meta: CommandMeta };
const cast = (c: unknown) => c as AnyDomainCommand;

export function planAction(action: DeviceAction, deviceId: string, a: ActionArgs): PlannedCommand {
  const vmName = a.vmName ?? '';
  const reason = a.reason ?? DEFAULT_REASON;
  const graceSeconds = a.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  switch (action) {
    case 'rt-vm.start':
      return {
        name: 'start-vm',
        args: { vmName },
        domainCommand: (meta) => cast(new StartRtVm({ deviceId, vmName }, meta)),
      };
    case 'rt-vm.stop':
      return {
        name: 'stop-vm',
        args: { vmName, force: a.force ?? false },
        domainCommand: (meta) =>
          cast(
            new StopRtVm({ deviceId, vmName, ...(a.force !== undefined ? { force: a.force } : {}) }, meta),
          ),
      };
    case 'rt-vm.reset':
      return {
        name: 'restart-vm',
        args: { vmName },
        domainCommand: (meta) => cast(new ResetRtVm({ deviceId, vmName }, meta)),
      };
    case 'rt-vm.delete':
      return {
        name: 'delete-vm',
        args: { vmName },
        domainCommand: (meta) => cast(new DeleteRtVm({ deviceId, vmName }, meta)),
      };
    case 'service-vm.reboot':
      return {
        name: 'reboot',
        args: { reason, graceSeconds },
        domainCommand: (meta) => cast(new RequestServiceVmReboot({ deviceId, reason }, meta)),
      };
    case 'service-vm.shutdown':
      return {
        name: 'shutdown',
        args: { reason, graceSeconds },
        domainCommand: (meta) => cast(new RequestServiceVmShutdown({ deviceId, reason }, meta)),
      };
  }
}

export type { CommandOutcome };

const WIRE_ACTIONS: Record<string, DeviceAction> = {
  'start-vm': 'rt-vm.start',
  'stop-vm': 'rt-vm.stop',
  'restart-vm': 'rt-vm.reset',
  'delete-vm': 'rt-vm.delete',
  reboot: 'service-vm.reboot',
  shutdown: 'service-vm.shutdown',
};

/**
 * The action and its arguments back from a recorded agent command (its name and args): what the bulk
 * dispatcher decides for a row it claimed. Null for a command no operator action makes.
 */
export function actionOfRecorded(
  name: string,
  args: Record<string, unknown>,
): { action: DeviceAction; args: ActionArgs } | null {
  const action = WIRE_ACTIONS[name];
  if (!action) return null;
  const str = (k: string) => (typeof args[k] === 'string' ? { [k]: args[k] as string } : {});
  const num = (k: string) => (typeof args[k] === 'number' ? { [k]: args[k] as number } : {});
  const bool = (k: string) => (typeof args[k] === 'boolean' ? { [k]: args[k] as boolean } : {});
  return {
    action,
    args: { ...str('vmName'), ...bool('force'), ...str('reason'), ...num('graceSeconds') },
  };
}
