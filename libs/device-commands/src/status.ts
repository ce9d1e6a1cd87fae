/**
 * The backend's view of one device command, as a pure state machine. The store applies it with
 * conditional UPDATEs (the row's status must still be the one the decision was made from), so two
 * gateway instances never move a command twice.
 *
 *   queued ──sent──▶ sent ──accepted──▶ acknowledged ──done──▶ succeeded
 *     │                │ └─done──▶ succeeded       └──failed──▶ failed
 *     │                ├─failed──▶ rejected (the agent refused before accepting)
 *     │                └─deadline──▶ timed-out ◀──deadline── acknowledged
 *     ├─domain refused──▶ rejected
 *     └─deliver_by passed──▶ expired
 */
export const COMMAND_STATUSES = [
  'queued',
  'sent',
  'acknowledged',
  'succeeded',
  'failed',
  'rejected',
  'timed-out',
  'expired',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const FINAL_COMMAND_STATUSES: readonly CommandStatus[] = [
  'succeeded',
  'failed',
  'rejected',
  'timed-out',
  'expired',
];

export function isFinalStatus(s: CommandStatus): boolean {
  return FINAL_COMMAND_STATUSES.includes(s);
}

export type AckOutcome = 'accepted' | 'done' | 'failed';

/** What happens to a command on a transition request. */
export type Transition =
  | { readonly kind: 'move'; readonly to: CommandStatus }
  /** The command is already final: the answer is recorded, the status stays. */
  | { readonly kind: 'late' }
  /** Nothing to do (a repeated `accepted`, a deadline that does not apply to this status). */
  | { readonly kind: 'ignored' }
  /** The backend never sent this command: an ack for it is not believed. */
  | { readonly kind: 'not-sent' };

/** An agent's cmd-ack applied to the current status. */
export function onAck(current: CommandStatus, outcome: AckOutcome): Transition {
  if (isFinalStatus(current)) return { kind: 'late' };
  switch (current) {
    case 'queued':
      return { kind: 'not-sent' };
    case 'sent':
      if (outcome === 'accepted') return { kind: 'move', to: 'acknowledged' };
      if (outcome === 'done') return { kind: 'move', to: 'succeeded' };
      return { kind: 'move', to: 'rejected' };
    case 'acknowledged':
      if (outcome === 'accepted') return { kind: 'ignored' };
      return { kind: 'move', to: outcome === 'done' ? 'succeeded' : 'failed' };
  }
  return { kind: 'ignored' };
}

/** The gateway published the command to the device. */
export function onSent(current: CommandStatus): Transition {
  return current === 'queued' ? { kind: 'move', to: 'sent' } : { kind: 'ignored' };
}

/** The backend's domain refused the command before it was sent. */
export function onRejectedByBackend(current: CommandStatus): Transition {
  return current === 'queued' ? { kind: 'move', to: 'rejected' } : { kind: 'ignored' };
}

/** A deadline passed: deliver_by for a queued command, expires_at for one in flight. */
export function onDeadline(current: CommandStatus, deadline: 'deliver-by' | 'execution'): Transition {
  if (deadline === 'deliver-by' && current === 'queued') return { kind: 'move', to: 'expired' };
  if (deadline === 'execution' && (current === 'sent' || current === 'acknowledged')) {
    return { kind: 'move', to: 'timed-out' };
  }
  return { kind: 'ignored' };
}
