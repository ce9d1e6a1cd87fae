/**
 * Hypervisor (stream `hypervisor-<deviceId>`): one device as the fleet knows it. Provisioning, the
 * board it reported, the hypervisor it runs, whether it is connected, and its desired vs reported
 * partition plan. The desired plan is decided by AssignPartitionPlan (partition-plan/assignment.ts),
 * which appends to this stream.
 *
 * Invariants:
 * - A device is provisioned once; every other command needs a provisioned device.
 * - A board inventory is stored only when it passes @hyperfleet/acrn's board schema.
 * - Connectivity never moves back in time: an online/offline report older than the last transition is
 *   ignored (an MQTT last will can arrive after the agent already reconnected).
 * - Device facts that repeat the current state append nothing, so agents may re-send them freely.
 */
import { parseBoard, type Board, type Violation } from '@hyperfleet/acrn';
import type { Decider, Decision } from '../shared/decider';
import { jsonEqual } from '../shared/json';
import { reject, type DomainRejection } from '../shared/rejection';
import { DEVICE_ID_PATTERN, PLAN_ID_PATTERN, fields, isBefore, type FieldErrors } from '../shared/validation';
import type { HypervisorCommand } from './hypervisor.commands';
import {
  DEVICE_CLASSES,
  HYPERVISOR_EVENT_SCHEMA_VERSIONS,
  hypervisorEvent,
  type DeviceClass,
  type HypervisorEvent,
  type PlanRef,
} from './hypervisor.events';

export type ConnectivityStatus = 'never-seen' | 'online' | 'offline';

export interface HypervisorState {
  readonly provisioned: boolean;
  readonly deviceId: string | null;
  readonly deviceClass: DeviceClass | null;
  readonly site: string | null;
  readonly tags: readonly string[];
  /** Free-form inventory attributes (SetDeviceAttributes). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly provisionedAt: string | null;
  readonly board: Board | null;
  readonly boardReportedAt: string | null;
  readonly hypervisor: {
    readonly version: string;
    readonly scenario: string;
    readonly reportedAt: string;
  } | null;
  readonly connectivity: {
    readonly status: ConnectivityStatus;
    /** Time of the last online/offline transition. */
    readonly since: string | null;
    /** Latest time the device was known to be reachable (any device fact counts). */
    readonly lastSeenAt: string | null;
  };
  readonly desiredPlan:
    (PlanRef & { readonly assignedAt: string; readonly warnings: readonly Violation[] }) | null;
  readonly reportedPlan: (PlanRef & { readonly reportedAt: string }) | null;
}

export function initialHypervisorState(): HypervisorState {
  return {
    provisioned: false,
    deviceId: null,
    deviceClass: null,
    site: null,
    tags: [],
    attributes: {},
    provisionedAt: null,
    board: null,
    boardReportedAt: null,
    hypervisor: null,
    connectivity: { status: 'never-seen', since: null, lastSeenAt: null },
    desiredPlan: null,
    reportedPlan: null,
  };
}

/** True when the device runs the plan revision it should run. */
export function isPlanInSync(state: HypervisorState): boolean {
  return (
    state.desiredPlan !== null &&
    state.reportedPlan !== null &&
    state.desiredPlan.planId === state.reportedPlan.planId &&
    state.desiredPlan.revision === state.reportedPlan.revision
  );
}

function seen(state: HypervisorState, at: string): HypervisorState['connectivity'] {
  const last = state.connectivity.lastSeenAt;
  return { ...state.connectivity, lastSeenAt: last === null || isBefore(last, at) ? at : last };
}

export function evolveHypervisor(state: HypervisorState, event: HypervisorEvent): HypervisorState {
  switch (event.type) {
    case 'DeviceProvisioned': {
      const { deviceId, deviceClass, site, tags, at } = event.data;
      return { ...state, provisioned: true, deviceId, deviceClass, site, tags, provisionedAt: at };
    }
    case 'DeviceLabelsUpdated':
      return { ...state, site: event.data.site, tags: event.data.tags };
    case 'DeviceAttributesChanged':
      return { ...state, attributes: event.data.attributes };
    case 'BoardInventoryReported':
      return {
        ...state,
        board: event.data.board,
        boardReportedAt: event.data.at,
        connectivity: seen(state, event.data.at),
      };
    case 'HypervisorVersionReported': {
      const { version, scenario, at } = event.data;
      return { ...state, hypervisor: { version, scenario, reportedAt: at }, connectivity: seen(state, at) };
    }
    case 'DeviceWentOnline':
      return {
        ...state,
        connectivity: { ...seen(state, event.data.at), status: 'online', since: event.data.at },
      };
    case 'DeviceWentOffline':
      return {
        ...state,
        connectivity: { ...seen(state, event.data.lastSeenAt), status: 'offline', since: event.data.at },
      };
    case 'PartitionPlanAssigned': {
      const { planId, revision, at, warnings } = event.data;
      return { ...state, desiredPlan: { planId, revision, assignedAt: at, warnings } };
    }
    case 'PartitionPlanReported': {
      const { planId, revision, at } = event.data;
      return { ...state, reportedPlan: { planId, revision, reportedAt: at }, connectivity: seen(state, at) };
    }
    default:
      return state;
  }
}

/** DEVICE_NOT_PROVISIONED unless the device is provisioned. Shared with the other aggregates' deciders. */
export function requireProvisioned(
  state: HypervisorState | undefined,
  deviceId: string,
): DomainRejection | undefined {
  if (state?.provisioned) return undefined;
  return reject('DEVICE_NOT_PROVISIONED', `Device ${deviceId} is not provisioned`, { deviceId });
}

function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()))].sort();
}

function checkTags(errors: FieldErrors, tags: unknown): void {
  if (tags === undefined) return;
  errors.check(
    Array.isArray(tags) && tags.every((t) => typeof t === 'string' && t.trim().length > 0 && t.length <= 64),
    'tags',
    'must be a list of non-empty strings of at most 64 characters',
  );
}

/** Attribute keys: lower case, starting with a letter; dots, dashes and underscores for structure. */
export const ATTRIBUTE_KEY_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 256;
export const MAX_DEVICE_ATTRIBUTES = 64;

/** INVALID_DEVICE_ATTRIBUTES listing every bad key and value, or undefined. */
function checkAttributes(deviceId: string, set: unknown, remove: unknown): DomainRejection | undefined {
  const errors: string[] = [];
  if (set !== undefined) {
    if (set === null || typeof set !== 'object' || Array.isArray(set)) {
      errors.push('set: must be an object of key → string value');
    } else {
      for (const [key, value] of Object.entries(set as Record<string, unknown>)) {
        if (!ATTRIBUTE_KEY_PATTERN.test(key)) {
          errors.push(`set.${key.slice(0, 80)}: key must match ${ATTRIBUTE_KEY_PATTERN.source}`);
        }
        if (typeof value !== 'string' || value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
          errors.push(
            `set.${key.slice(0, 80)}: value must be a string of at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`,
          );
        }
      }
    }
  }
  if (remove !== undefined) {
    if (!Array.isArray(remove)) errors.push('remove: must be a list of keys');
    else {
      for (const key of remove as unknown[]) {
        if (typeof key !== 'string' || !ATTRIBUTE_KEY_PATTERN.test(key)) {
          errors.push(`remove: ${JSON.stringify(key).slice(0, 80)} is not an attribute key`);
        }
      }
    }
  }
  if (!errors.length) return undefined;
  return reject(
    'INVALID_DEVICE_ATTRIBUTES',
    `The attributes for device ${deviceId} are invalid: ${errors.join('; ')}`,
    {
      deviceId,
      errors,
    },
  );
}

export function decideHypervisor(
  command: HypervisorCommand,
  state: HypervisorState,
  { now }: { now: string },
): Decision<HypervisorEvent> {
  const deviceId = command.props.deviceId;
  const shape = fields().pattern(deviceId, DEVICE_ID_PATTERN, 'deviceId', 'a device id');
  const at = 'at' in command.props && command.props.at !== undefined ? command.props.at : now;
  if ('at' in command.props) shape.optionalTimestamp(command.props.at, 'at');

  switch (command.type) {
    case 'ProvisionDevice': {
      const { deviceClass, site, tags } = command.props;
      shape.oneOf(deviceClass, DEVICE_CLASSES, 'deviceClass').nonEmptyString(site, 'site');
      checkTags(shape, tags);
      const invalid = shape.rejection(command.type);
      if (invalid) return invalid;
      if (state.provisioned) {
        return reject('DEVICE_ALREADY_PROVISIONED', `Device ${deviceId} is already provisioned`, {
          deviceId,
          deviceClass: state.deviceClass,
          site: state.site,
        });
      }
      return [
        hypervisorEvent('DeviceProvisioned', {
          deviceId,
          deviceClass,
          site: site.trim(),
          tags: normaliseTags(tags ?? []),
          at: now,
        }),
      ];
    }

    case 'UpdateDeviceLabels': {
      const { site, tags } = command.props;
      if (site !== undefined) shape.nonEmptyString(site, 'site');
      checkTags(shape, tags);
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      const next = {
        site: site?.trim() ?? state.site ?? '',
        tags: tags ? normaliseTags(tags) : [...state.tags],
      };
      if (next.site === state.site && jsonEqual(next.tags, state.tags)) return [];
      return [hypervisorEvent('DeviceLabelsUpdated', { deviceId, ...next, at: now })];
    }

    case 'SetDeviceAttributes': {
      const { set, remove } = command.props;
      const invalid =
        shape.rejection(command.type) ??
        checkAttributes(deviceId, set, remove) ??
        requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      const current = state.attributes ?? {};
      const next: Record<string, string> = { ...current };
      const removed = [...new Set(remove ?? [])].filter((k) => k in current && !(set && k in set)).sort();
      for (const key of remove ?? []) delete next[key];
      Object.assign(next, set ?? {});
      if (Object.keys(next).length > MAX_DEVICE_ATTRIBUTES) {
        return reject(
          'DEVICE_ATTRIBUTE_LIMIT_EXCEEDED',
          `Device ${deviceId} would have ${Object.keys(next).length} attributes; at most ${MAX_DEVICE_ATTRIBUTES} are allowed`,
          { deviceId, attributes: Object.keys(next).length, limit: MAX_DEVICE_ATTRIBUTES },
        );
      }
      const changedSet = Object.fromEntries(
        Object.entries(set ?? {})
          .filter(([k, v]) => current[k] !== v)
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      if (!removed.length && !Object.keys(changedSet).length) return [];
      const attributes = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : 1)));
      return [
        hypervisorEvent('DeviceAttributesChanged', {
          deviceId,
          attributes,
          set: changedSet,
          removed,
          at: now,
        }),
      ];
    }

    case 'ReportBoardInventory': {
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      const parsed = parseBoard(command.props.board);
      if (!parsed.ok) {
        return reject('INVALID_BOARD_INVENTORY', `The board inventory of device ${deviceId} is invalid`, {
          deviceId,
          errors: parsed.errors,
        });
      }
      if (state.board !== null && jsonEqual(state.board, parsed.value)) return [];
      return [hypervisorEvent('BoardInventoryReported', { deviceId, board: parsed.value, at })];
    }

    case 'ReportHypervisorVersion': {
      const { version, scenario } = command.props;
      shape.nonEmptyString(version, 'version', 100).nonEmptyString(scenario, 'scenario', 100);
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      if (state.hypervisor?.version === version && state.hypervisor.scenario === scenario) return [];
      return [
        hypervisorEvent('HypervisorVersionReported', {
          deviceId,
          version,
          scenario,
          previousVersion: state.hypervisor?.version ?? null,
          at,
        }),
      ];
    }

    case 'MarkDeviceOnline': {
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      const { status, since } = state.connectivity;
      if (status === 'online' || (since !== null && isBefore(at, since))) return [];
      return [hypervisorEvent('DeviceWentOnline', { deviceId, at })];
    }

    case 'MarkDeviceOffline': {
      shape.optionalTimestamp(command.props.lastSeenAt, 'lastSeenAt');
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      const { status, since, lastSeenAt } = state.connectivity;
      if (status === 'offline' || (since !== null && isBefore(at, since))) return [];
      return [
        hypervisorEvent('DeviceWentOffline', {
          deviceId,
          at,
          lastSeenAt: command.props.lastSeenAt ?? lastSeenAt ?? at,
        }),
      ];
    }

    case 'ReportPartitionPlan': {
      const { planId, revision } = command.props;
      shape.pattern(planId, PLAN_ID_PATTERN, 'planId', 'a plan id').positiveInteger(revision, 'revision');
      const invalid = shape.rejection(command.type) ?? requireProvisioned(state, deviceId);
      if (invalid) return invalid;
      if (state.reportedPlan?.planId === planId && state.reportedPlan.revision === revision) return [];
      const matchesDesired = state.desiredPlan?.planId === planId && state.desiredPlan.revision === revision;
      return [hypervisorEvent('PartitionPlanReported', { deviceId, planId, revision, matchesDesired, at })];
    }
  }
}

export const hypervisorDecider: Decider<HypervisorState, HypervisorEvent, HypervisorCommand> = {
  name: 'Hypervisor',
  initialState: initialHypervisorState,
  evolve: evolveHypervisor,
  decide: decideHypervisor,
  schemaVersions: HYPERVISOR_EVENT_SCHEMA_VERSIONS,
};
