import {
  buildPlan,
  modifyBoard,
  modifyPlan,
  postLaunchedVm,
  preLaunchedRtvm,
  sampleBoard,
  samplePlan,
  serviceVm,
  smallBoard,
  vmNamed,
} from '@hyperfleet/acrn';
import { hypervisorDecider } from '../hypervisor/hypervisor.decider';
import { hypervisorEvent } from '../hypervisor/hypervisor.events';
import { TEST_NOW, given } from '../testing';
import { planAssignmentDecider } from './assignment';
import { AssignPartitionPlan, CreatePartitionPlan, RevisePartitionPlan } from './partition-plan.commands';
import { partitionPlanDecider } from './partition-plan.decider';
import { partitionPlanEvent } from './partition-plan.events';

const planId = 'hybrid-rt-vehicle';
const T0 = '2025-06-01T00:00:00.000Z';
const created = partitionPlanEvent('PartitionPlanCreated', {
  planId,
  deviceClass: 'vehicle',
  description: 'RT_VM0 on core 3',
  revision: 1,
  plan: samplePlan(),
  at: T0,
});
/** Revision 2: HMI_VM gets 4 GB more memory. */
const revised = partitionPlanEvent('PartitionPlanRevised', {
  planId,
  revision: 2,
  plan: modifyPlan(samplePlan(), (p) => {
    vmNamed(p, 'HMI_VM').memory = { sizeMb: 8192, hpaRegions: [] };
  }),
  at: T0,
});
const planState = (...events: (typeof created | typeof revised)[]) =>
  given(partitionPlanDecider, events).state();

describe('PartitionPlan', () => {
  describe('CreatePartitionPlan', () => {
    it('creates revision 1 with ACRN defaults filled in', () => {
      const input = {
        board: 'tgl-i7-1185gre',
        scenario: 'shared',
        kind: 'shared',
        vms: [
          { id: 0, name: 'Service_VM', loadOrder: 'SERVICE_VM' },
          {
            id: 1,
            name: 'RT_VM1',
            loadOrder: 'POST_LAUNCHED_VM',
            vmType: 'RTVM',
            cpuAffinity: [{ pcpuId: 3 }],
          },
        ],
      };
      const state = given(partitionPlanDecider)
        .when(new CreatePartitionPlan({ planId, deviceClass: 'industrial-pc', plan: input }))
        .thenMatches([
          {
            type: 'PartitionPlanCreated',
            data: {
              planId,
              deviceClass: 'industrial-pc',
              revision: 1,
              at: TEST_NOW,
              plan: {
                hv: { scheduler: 'SCHED_BVT', maxVmNum: 16 },
                vms: [{ vmType: 'STANDARD_VM' }, { vmType: 'RTVM' }],
              },
            },
          },
        ]);
      expect(state).toMatchObject({
        exists: true,
        deviceClass: 'industrial-pc',
        revisions: [expect.anything()],
      });
    });

    it('refuses a plan that breaks the plan schema, with the schema errors', () => {
      const rejection = given(partitionPlanDecider)
        .when(
          new CreatePartitionPlan({
            planId,
            deviceClass: 'vehicle',
            plan: { board: 'x', scenario: 'y', kind: 'odd', vms: [] },
          }),
        )
        .thenRejects('INVALID_PARTITION_PLAN');
      expect(rejection.details.errors).toEqual(
        expect.arrayContaining([expect.stringMatching(/^kind: /), expect.stringMatching(/^vms: /)]),
      );
      expect(rejection.httpStatus).toBe(422);
    });

    it('refuses an existing plan id, a bad device class and a bad plan id', () => {
      given(partitionPlanDecider, [created])
        .when(new CreatePartitionPlan({ planId, deviceClass: 'vehicle', plan: samplePlan() }))
        .thenRejects('PARTITION_PLAN_ALREADY_EXISTS', { latestRevision: 1 });
      given(partitionPlanDecider)
        .when(new CreatePartitionPlan({ planId: '', deviceClass: 'boat' as 'vehicle', plan: samplePlan() }))
        .thenRejects('INVALID_COMMAND', {
          errors: ['planId: must be a plan id', 'deviceClass: must be one of vehicle, industrial-pc'],
        });
    });
  });

  describe('RevisePartitionPlan', () => {
    it('appends the next revision, based on the latest', () => {
      const state = given(partitionPlanDecider, [created])
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 1, plan: revised.data.plan }))
        .then([{ ...revised, data: { ...revised.data, at: TEST_NOW } }]);
      expect(state.revisions).toHaveLength(2);
      expect(state.revisions[0]).toEqual(samplePlan());
    });

    it('appends nothing when the plan is unchanged', () => {
      given(partitionPlanDecider, [created])
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 1, plan: samplePlan() }))
        .then([]);
    });

    it('refuses an edit of an older revision', () => {
      given(partitionPlanDecider, [created, revised])
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 1, plan: samplePlan() }))
        .thenRejects('PLAN_REVISION_CONFLICT', { basedOnRevision: 1, latestRevision: 2 });
    });

    it('refuses an unknown plan, an invalid plan and a bad revision number', () => {
      given(partitionPlanDecider)
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 1, plan: samplePlan() }))
        .thenRejects('PARTITION_PLAN_NOT_FOUND');
      given(partitionPlanDecider, [created])
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 1, plan: { vms: 'none' } }))
        .thenRejects('INVALID_PARTITION_PLAN');
      given(partitionPlanDecider, [created])
        .when(new RevisePartitionPlan({ planId, basedOnRevision: 0, plan: samplePlan() }))
        .thenRejects('INVALID_COMMAND');
    });
  });
});

describe('AssignPartitionPlan', () => {
  const deviceId = 'truck-0042';
  const provisioned = hypervisorEvent('DeviceProvisioned', {
    deviceId,
    deviceClass: 'vehicle',
    site: 'depot-north',
    tags: [],
    at: T0,
  });
  const board = (b = sampleBoard()) =>
    hypervisorEvent('BoardInventoryReported', { deviceId, board: b, at: T0 });
  const assigned = (revision: number, previous: { planId: string; revision: number } | null = null) =>
    hypervisorEvent('PartitionPlanAssigned', {
      deviceId,
      planId,
      revision,
      deviceClass: 'vehicle',
      boardName: 'tgl-i7-1185gre',
      warnings: [],
      previous,
      at: TEST_NOW,
    });

  it('assigns the latest revision of a plan that fits the board', () => {
    const state = given(planAssignmentDecider, [provisioned, board()], { plan: planState(created, revised) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .then([assigned(2)]);
    expect(state.desiredPlan).toEqual({ planId, revision: 2, assignedAt: TEST_NOW, warnings: [] });
  });

  it('assigns an explicit older revision, recording the previous desired plan', () => {
    given(planAssignmentDecider, [provisioned, board(), assigned(2)], { plan: planState(created, revised) })
      .when(new AssignPartitionPlan({ deviceId, planId, revision: 1 }))
      .then([assigned(1, { planId, revision: 2 })]);
  });

  it('appends nothing when the revision is already the desired plan', () => {
    given(planAssignmentDecider, [provisioned, board(), assigned(2)], { plan: planState(created, revised) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .then([]);
  });

  it('records warning-severity violations on the event and still assigns', () => {
    // Two pre-launched RTVMs: ACRN warns (vm_types.xsd) but does not stop the build.
    const plan = buildPlan([preLaunchedRtvm(0, 'RT_A', [2]), preLaunchedRtvm(1, 'RT_B', [3]), serviceVm(2)]);
    const withWarnings = partitionPlanEvent('PartitionPlanCreated', { ...created.data, plan });
    const state = given(planAssignmentDecider, [provisioned, board()], { plan: planState(withWarnings) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenMatches([
        {
          type: 'PartitionPlanAssigned',
          data: { revision: 1, warnings: [{ code: 'MULTIPLE_PRE_LAUNCHED_RTVMS', severity: 'warning' }] },
        },
      ]);
    expect(state.desiredPlan?.warnings).toHaveLength(1);
  });

  it('refuses a plan pinning a pCPU the board does not have, with the violations', () => {
    const plan = modifyPlan(samplePlan(), (p) => {
      vmNamed(p, 'HMI_VM').cpuAffinity.push({ pcpuId: 12, realTimeVcpu: false });
    });
    const rejection = given(planAssignmentDecider, [provisioned, board()], {
      plan: planState(partitionPlanEvent('PartitionPlanCreated', { ...created.data, plan })),
    })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('PLAN_DOES_NOT_FIT_BOARD', {
        revision: 1,
        boardName: 'tgl-i7-1185gre',
        violations: [{ code: 'PCPU_OUTSIDE_PLATFORM', severity: 'error', vms: ['HMI_VM'], pcpus: [12] }],
        warnings: [{ code: 'PCPU_NOT_ON_BOARD', severity: 'warning' }],
      });
    expect(rejection.httpStatus).toBe(422);
    expect(rejection.message).toContain('pCPU 12');
  });

  it('refuses a plan needing more CLOS than the board has', () => {
    // samplePlan() uses 3 distinct L3 masks; this board's L3 has clos_number 2.
    const twoClos = modifyBoard(sampleBoard(), (b) => {
      const l3 = b.caches.find((c) => c.level === 3)!;
      l3.cat = { ...l3.cat!, closNumber: 2 };
    });
    const rejection = given(planAssignmentDecider, [provisioned, board(twoClos)], {
      plan: planState(created),
    })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('PLAN_DOES_NOT_FIT_BOARD');
    expect(rejection.details.violations).toEqual([expect.objectContaining({ code: 'CLOS_EXCEEDS_BOARD' })]);
  });

  it('refuses a plan for a bigger board (smallBoard: 4 pCPUs, 2 CLOS)', () => {
    const rejection = given(planAssignmentDecider, [provisioned, board(smallBoard())], {
      plan: planState(created),
    })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('PLAN_DOES_NOT_FIT_BOARD', { boardName: 'small-2c4t' });
    const codes = (rejection.details.violations as { code: string }[]).map((v) => v.code);
    expect(codes).toEqual(expect.arrayContaining(['CLOS_EXCEEDS_BOARD', 'PCPU_OUTSIDE_PLATFORM']));
  });

  it('refuses an unprovisioned device (404)', () => {
    const rejection = given(planAssignmentDecider, [], { plan: planState(created) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('DEVICE_NOT_PROVISIONED');
    expect(rejection.httpStatus).toBe(404);
  });

  it('refuses a device that has not reported its board (409)', () => {
    const rejection = given(planAssignmentDecider, [provisioned], { plan: planState(created) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('DEVICE_BOARD_UNKNOWN', { deviceId, planId });
    expect(rejection.httpStatus).toBe(409);
  });

  it('refuses an unknown plan or revision (404)', () => {
    given(planAssignmentDecider, [provisioned, board()], { plan: planState() })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('PARTITION_PLAN_NOT_FOUND');
    given(planAssignmentDecider, [provisioned, board()], { plan: planState(created) })
      .when(new AssignPartitionPlan({ deviceId, planId, revision: 3 }))
      .thenRejects('PARTITION_PLAN_REVISION_NOT_FOUND', { revision: 3, latestRevision: 1 });
  });

  it('refuses a plan made for another device class', () => {
    const forIpc = partitionPlanEvent('PartitionPlanCreated', {
      ...created.data,
      deviceClass: 'industrial-pc',
    });
    given(planAssignmentDecider, [provisioned, board()], { plan: planState(forIpc) })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenRejects('PLAN_DEVICE_CLASS_MISMATCH', {
        planDeviceClass: 'industrial-pc',
        deviceClass: 'vehicle',
      });
  });

  it('refuses a malformed command', () => {
    given(planAssignmentDecider, [provisioned, board()], { plan: planState(created) })
      .when(new AssignPartitionPlan({ deviceId, planId, revision: 1.5 }))
      .thenRejects('INVALID_COMMAND', { errors: ['revision: must be an integer ≥ 1'] });
  });

  it('the assignment evolves the Hypervisor state like any other Hypervisor event', () => {
    const state = given(hypervisorDecider, [provisioned, board(), assigned(2)]).state();
    expect(state.desiredPlan?.revision).toBe(2);
  });

  it('a valid shared plan built with the acrn builders fits the sample board', () => {
    const plan = buildPlan([serviceVm(0), postLaunchedVm(1, 'HMI', [1, 2])], { scenario: 'shared' });
    given(planAssignmentDecider, [provisioned, board()], {
      plan: planState(partitionPlanEvent('PartitionPlanCreated', { ...created.data, plan })),
    })
      .when(new AssignPartitionPlan({ deviceId, planId }))
      .thenMatches([{ type: 'PartitionPlanAssigned', data: { warnings: [] } }]);
  });
});
