/**
 * The simulated agent's side of backend commands that is not acrnctl timing: which commands it
 * fails or never answers (FleetOptions.commandFailureRate / commandSilenceRate), the error a failure
 * carries, and `acrnctl del`'s precondition. Pure, so the rules have fast tests.
 */
import { AGENT_ERROR_CODES, type AcrnctlState, type CommandName } from '@hyperfleet/contracts';
import type { Rng } from './prng';

/** answer: as a real agent; fail: accepted, then failed; silent: no cmd-ack at all. */
export type CommandFate = 'answer' | 'fail' | 'silent';

/**
 * Draws a command's fate. No draw when both rates are 0, so a default run replays the same
 * device behaviour for a seed as before these options existed.
 */
export function drawCommandFate(
  rng: Rng,
  o: { readonly commandFailureRate: number; readonly commandSilenceRate: number },
): CommandFate {
  if (o.commandFailureRate <= 0 && o.commandSilenceRate <= 0) return 'answer';
  const x = rng.range(0, 1);
  if (x < o.commandSilenceRate) return 'silent';
  if (x < o.commandSilenceRate + o.commandFailureRate) return 'fail';
  return 'answer';
}

const ACRNCTL_VERBS: Partial<Record<CommandName, string>> = {
  'start-vm': 'start',
  'stop-vm': 'stop',
  'restart-vm': 'reset',
  'delete-vm': 'del',
};

/** The error an agent reports when an accepted command fails: what a real one would say. */
export function simulatedFailure(
  command: CommandName,
  args: Record<string, unknown>,
): { code: string; message: string } {
  const verb = ACRNCTL_VERBS[command];
  if (verb) {
    return {
      code: 'ACRNCTL_FAILED',
      message: `acrnctl ${verb} ${String(args['vmName'])}: the Device Model returned an error (exit status 1).`,
    };
  }
  if (command === 'apply-plan') {
    return { code: 'INSTALL_FAILED', message: AGENT_ERROR_CODES.INSTALL_FAILED };
  }
  return {
    code: 'AGENT_ERROR',
    message: `The lifecycle manager did not confirm the ${command}; the platform keeps running.`,
  };
}

/** `acrnctl del`: the VM must exist, be post-launched (acrnctl manages it), stopped and not busy. */
export function deleteVmRefusal(
  vm: { spec: { loadOrder: string }; state: AcrnctlState; busy: boolean } | undefined,
  vmName: string,
): { code: string; message: string } | null {
  if (!vm) return { code: 'VM_NOT_FOUND', message: `${AGENT_ERROR_CODES.VM_NOT_FOUND} (${vmName})` };
  if (vm.spec.loadOrder !== 'POST_LAUNCHED_VM') {
    return {
      code: 'VM_STATE_CONFLICT',
      message: `${vmName} is pre-launched: acrnctl does not manage it (state untracked).`,
    };
  }
  if (vm.busy || vm.state !== 'stopped') {
    return {
      code: 'VM_STATE_CONFLICT',
      message: `acrnctl del needs a stopped VM; ${vmName} is ${vm.busy ? 'busy' : vm.state}.`,
    };
  }
  return null;
}
