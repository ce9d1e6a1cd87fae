import type { Board } from '@hyperfleet/acrn';
import { PROTOCOL_VERSION, type CommandName, type DeviceMessageKind } from './protocol';
import type { CommandInputMap, DesiredStateInput, ReplyMessage } from './schemas/backend';
import type { DeviceMessageInputMap } from './schemas/device';

/**
 * One valid example of every message, for docs, the AsyncAPI document, the simulator and tests.
 * Each call returns fresh objects. The device: a 2-core/4-thread industrial PC in the `shared`
 * scenario with a post-launched RTVM (RT_VM0 on core 1) and a user VM (HMI_VM).
 */

export const EXAMPLE_DEVICE_ID = 'ipc-0042';

function exampleBoard(): Board {
  return {
    name: 'small-2c4t',
    cpuModel: 'Intel(R) Celeron(R) 6305E @ 1.80GHz',
    pcpus: [0, 1, 2, 3].map((id) => ({
      id,
      apicId: (id % 2) * 2 + (id < 2 ? 0 : 1),
      coreId: id % 2,
      threadSiblings: [id < 2 ? id + 2 : id - 2],
      coreType: 'unknown' as const,
    })),
    caches: [
      {
        level: 3,
        id: 0,
        type: 'unified',
        ways: 8,
        sizeBytes: 4194304,
        pcpus: [0, 1, 2, 3],
        cat: { closNumber: 4, capacityMaskLength: 8, cdp: false },
      },
    ],
    memory: {
      totalBytes: 8589934592,
      ranges: [{ start: 4294967296, end: 12884901887, sizeBytes: 8589934592 }],
    },
    devices: [
      {
        kind: 'nic',
        name: 'Ethernet controller: Intel Corporation Ethernet Controller I225-LM',
        bdf: '01:00.0',
        classCode: '0x020000',
      },
    ],
  };
}

const EPOCH = 7;
const envelope = <S extends number>(msgId: string, seq: S, sentAt: string) => ({
  protocolVersion: PROTOCOL_VERSION,
  msgId,
  epoch: EPOCH,
  seq,
  sentAt,
});

const ARTEFACT = {
  url: 'https://artefacts.example.com/rtvm/rt-linux-6.6.30-rt30.img',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  sizeBytes: 2147483648,
};

export function exampleDeviceMessages(): DeviceMessageInputMap {
  return {
    birth: {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d01', 0, '2025-02-03T08:00:00.000Z'),
      payload: {
        agent: { version: '1.4.0' },
        board: exampleBoard(),
        hypervisor: {
          version: '3.3',
          scenario: 'shared',
          binary: 'acrn.shared.small-2c4t.bin',
          plan: { planId: 'ipc-shared-rt', revision: 3 },
        },
        serviceVm: {
          name: 'Service_VM',
          osImageVersion: '2025.01.2',
          kernelVersion: '6.1.80-acrn-service-vm',
          state: 'running',
          bootId: '8d3e1f0c-7b9a-4c52-a1e4-2f6d9b0c3e77',
        },
        vms: [
          {
            name: 'RT_VM0',
            vmType: 'RTVM',
            loadOrder: 'POST_LAUNCHED_VM',
            state: 'started',
            pcpus: [1, 3],
            imageVersion: 'rt-linux-6.6.21-rt26',
          },
          {
            name: 'HMI_VM',
            vmType: 'STANDARD_VM',
            loadOrder: 'POST_LAUNCHED_VM',
            state: 'stopped',
            pcpus: [2],
            imageVersion: null,
          },
        ],
        desiredVersion: 12,
      },
    },
    'vm-state': {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02', 2, '2025-02-03T08:00:05.120Z'),
      payload: {
        vmName: 'HMI_VM',
        state: 'started',
        previousState: 'stopped',
        commandId: 'c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b10',
        observedAt: '2025-02-03T08:00:05.100Z',
      },
    },
    'update-progress': {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d03', 3, '2025-02-03T08:02:00.000Z'),
      payload: {
        rolloutId: 'ro-2025-02-rt-kernel',
        desiredVersion: 13,
        target: { kind: 'rtvm-image', vmName: 'RT_VM0', version: 'rt-linux-6.6.30-rt30' },
        fromVersion: 'rt-linux-6.6.21-rt26',
        stage: 'downloading',
        percent: 40,
      },
    },
    health: {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d04', 4, '2025-02-03T08:05:00.000Z'),
      payload: {
        windowStart: '2025-02-03T08:04:00.000Z',
        windowEnd: '2025-02-03T08:05:00.000Z',
        rtVms: [
          {
            vmName: 'RT_VM0',
            samples: 60000,
            minLatencyUs: 2,
            avgLatencyUs: 4.2,
            worstCaseLatencyUs: 11,
            jitterUs: 9,
            histogram: {
              bucketWidthUs: 1,
              counts: [0, 0, 812, 20514, 30110, 6903, 1402, 201, 41, 12, 4, 1],
              overflow: 0,
            },
          },
        ],
        serviceVm: {
          load1: 0.42,
          load5: 0.38,
          load15: 0.35,
          cpuPercent: 12.5,
          memoryUsedBytes: 1288490188,
          memoryTotalBytes: 4294967296,
        },
        deviceModel: { status: 'ok', acrnDmProcesses: 2, unresponsiveVms: [] },
      },
    },
    telemetry: {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d05', 5, '2025-02-03T08:05:10.000Z'),
      payload: {
        samples: [
          {
            at: '2025-02-03T08:05:00.000Z',
            vmName: 'Service_VM',
            cpuPercent: 11.2,
            memoryUsedBytes: 1288490188,
          },
          {
            at: '2025-02-03T08:05:00.000Z',
            vmName: 'RT_VM0',
            cpuPercent: 63.0,
            memoryUsedBytes: 734003200,
            rtLatencyUs: { max: 9, avg: 4.1 },
          },
          {
            at: '2025-02-03T08:05:05.000Z',
            vmName: 'RT_VM0',
            cpuPercent: 61.5,
            memoryUsedBytes: 734101504,
            rtLatencyUs: { max: 11, avg: 4.3 },
          },
        ],
        droppedSamples: 0,
      },
    },
    status: {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d06', 1, '2025-02-03T08:00:00.300Z'),
      payload: { state: 'online', reason: 'connected' },
    },
    'cmd-ack': {
      ...envelope('0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d07', 6, '2025-02-03T08:00:05.200Z'),
      payload: { commandId: 'c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b10', command: 'start-vm', outcome: 'done' },
    },
  };
}

export function exampleDeviceMessage<K extends DeviceMessageKind>(kind: K): DeviceMessageInputMap[K] {
  return exampleDeviceMessages()[kind];
}

export function exampleReplies(): {
  accepted: ReplyMessage;
  rejected: ReplyMessage;
  duplicate: ReplyMessage;
} {
  return {
    accepted: {
      protocolVersion: PROTOCOL_VERSION,
      inReplyTo: '0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02',
      kind: 'vm-state',
      status: 'accepted',
    },
    rejected: {
      protocolVersion: PROTOCOL_VERSION,
      inReplyTo: '0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02',
      kind: 'vm-state',
      status: 'rejected',
      code: 'SCHEMA_INVALID',
      message:
        'The vm-state message does not match its schema: payload.state: Invalid option: expected one of "stopped"|"started"|"suspended"|"untracked"|"unknown".',
      details: {
        kind: 'vm-state',
        issues: [
          {
            path: 'payload.state',
            message: 'Invalid option: expected one of "stopped"|"started"|"suspended"|"untracked"|"unknown"',
          },
        ],
        issueCount: 1,
      },
    },
    duplicate: {
      protocolVersion: PROTOCOL_VERSION,
      inReplyTo: '0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02',
      kind: 'vm-state',
      status: 'accepted',
      code: 'DUPLICATE_MESSAGE',
      message: 'Message 0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02 was already accepted; it was not applied again.',
      duplicate: true,
      details: { msgId: '0b1f6f0e-5c2a-4d7e-9a51-3f2f8f1c9d02' },
    },
  };
}

export function exampleDesiredState(): DesiredStateInput {
  return {
    protocolVersion: PROTOCOL_VERSION,
    version: 13,
    issuedAt: '2025-02-03T08:01:00.000Z',
    plan: { planId: 'ipc-shared-rt', revision: 3 },
    hypervisor: null,
    serviceVm: null,
    rtVms: [
      {
        vmName: 'RT_VM0',
        imageVersion: 'rt-linux-6.6.30-rt30',
        artefact: ARTEFACT,
        rolloutId: 'ro-2025-02-rt-kernel',
      },
    ],
  };
}

export function exampleCommands(): CommandInputMap {
  const base = (commandId: string, issuedAt: string, expiresAt: string) => ({
    protocolVersion: PROTOCOL_VERSION,
    commandId,
    issuedAt,
    expiresAt,
  });
  return {
    'start-vm': {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b10', '2025-02-03T08:00:04.000Z', '2025-02-03T08:01:04.000Z'),
      args: { vmName: 'HMI_VM' },
    },
    'stop-vm': {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b11', '2025-02-03T09:00:00.000Z', '2025-02-03T09:01:00.000Z'),
      args: { vmName: 'RT_VM0', force: true },
    },
    'restart-vm': {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b12', '2025-02-03T09:10:00.000Z', '2025-02-03T09:12:00.000Z'),
      args: { vmName: 'HMI_VM' },
    },
    'apply-plan': {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b13', '2025-02-03T10:00:00.000Z', '2025-02-03T10:30:00.000Z'),
      args: {
        plan: { planId: 'ipc-shared-rt', revision: 4 },
        hypervisor: {
          version: '3.3+plan.ipc-shared-rt.4',
          artefact: {
            url: 'https://artefacts.example.com/hv/acrn.shared.small-2c4t.r4.bin',
            sha256: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
            sizeBytes: 1572864,
          },
        },
        reboot: true,
      },
    },
    reboot: {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b14', '2025-02-03T11:00:00.000Z', '2025-02-03T11:15:00.000Z'),
      args: { reason: 'operator request: BIOS settings changed', graceSeconds: 120 },
    },
    'delete-vm': {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b15', '2025-02-03T12:00:00.000Z', '2025-02-03T12:01:00.000Z'),
      args: { vmName: 'RT_VM1' },
    },
    shutdown: {
      ...base('c6a4b3f2-1d0e-4f9a-8b7c-6d5e4f3a2b16', '2025-02-03T18:00:00.000Z', '2025-02-03T18:15:00.000Z'),
      args: { reason: 'line maintenance: power down for the weekend', graceSeconds: 60 },
    },
  };
}

export function exampleCommand<K extends CommandName>(command: K): CommandInputMap[K] {
  return exampleCommands()[command];
}
