/**
 * The command side end to end: commands through the real @nestjs/cqrs CommandBus (CqrsModule +
 * DomainModule) into the real PostgresEventStore, then every aggregate reloaded from its stream.
 */
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { Pool } from 'pg';
import { modifyPlan, sampleBoard, samplePlan, vmNamed } from '@hyperfleet/acrn';
import {
  EVENT_STORE_MIGRATIONS,
  PostgresEventStore,
  WrongExpectedVersionError,
  runMigrations,
} from '@hyperfleet/event-store';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  DomainModule,
  DomainRejection,
  HypervisorAggregate,
  MarkDeviceOnline,
  PartitionPlanAggregate,
  ProvisionDevice,
  RecordRtVmPowerOff,
  RecordRtVmTripleFault,
  RegisterRtVm,
  ReportBoardInventory,
  ReportDeviceModelHealth,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  ReportRtVmLatency,
  ReportServiceVmBooted,
  RequestServiceVmReboot,
  RevisePartitionPlan,
  RtVmAggregate,
  ServiceVmAggregate,
  StartRtVm,
  StopRtVm,
  isPlanInSync,
  isWrongExpectedVersion,
  type CommandOutcome,
  type EventStreamStore,
  type EventToStore,
  type ExpectedStreamVersion,
  type StoredEvent,
  type StreamAppendResult,
} from './index';

/**
 * The Postgres store behind a gate: when armed for a stream, appends to it wait until `readers`
 * commands have read it, so racing commands are guaranteed to decide on the same version.
 * Counts the version conflicts the store raised.
 */
class RacingStore implements EventStreamStore {
  conflicts = 0;
  private gate: {
    streamId: string;
    readers: number;
    reads: number;
    open: () => void;
    opened: Promise<void>;
  } | null = null;

  constructor(private readonly inner: PostgresEventStore) {}

  arm(streamId: string, readers: number): void {
    let open = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    // Never hang a test: if the readers do not all come, open anyway (the conflict assertions then fail).
    setTimeout(() => open(), 5000).unref();
    this.gate = { streamId, readers, reads: 0, open, opened };
  }

  async readStream(streamId: string): Promise<readonly StoredEvent[]> {
    const events = await this.inner.readStream(streamId);
    const gate = this.gate;
    if (gate?.streamId === streamId && ++gate.reads >= gate.readers) {
      this.gate = null;
      gate.open();
    }
    return events;
  }

  async append(
    streamId: string,
    expected: ExpectedStreamVersion,
    events: readonly EventToStore[],
  ): Promise<StreamAppendResult> {
    if (this.gate?.streamId === streamId) await this.gate.opened;
    try {
      return await this.inner.append(streamId, expected, events);
    } catch (error) {
      if (isWrongExpectedVersion(error)) this.conflicts++;
      throw error;
    }
  }
}

describe('domain command side on PostgreSQL', () => {
  let db: TestDatabase;
  let pool: Pool;
  let postgres: PostgresEventStore;
  let store: RacingStore;
  let moduleRef: TestingModule;
  let bus: CommandBus;
  const run = (command: object): Promise<CommandOutcome> => bus.execute(command as never);

  beforeAll(async () => {
    db = await createTestDatabase('hf_domain');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    postgres = new PostgresEventStore(pool);
    // PostgresEventStore satisfies the domain's port structurally (checked by the compiler here).
    const port: EventStreamStore = postgres;
    store = new RacingStore(port as PostgresEventStore);
    moduleRef = await Test.createTestingModule({
      imports: [CqrsModule.forRoot(), DomainModule.forRoot({ eventStore: { useValue: store } })],
    }).compile();
    await moduleRef.init();
    bus = moduleRef.get(CommandBus);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await pool?.end();
    await db?.drop();
  });

  async function load<A extends { streamId: string; loadFromStream(e: readonly StoredEvent[]): A }>(
    aggregate: A,
  ): Promise<A> {
    return aggregate.loadFromStream(await postgres.readStream(aggregate.streamId));
  }

  async function registeredRtVm(deviceId: string, vmName: string): Promise<void> {
    await run(new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'plant-2' }));
    await run(
      new RegisterRtVm({
        deviceId,
        vmName,
        loadOrder: 'POST_LAUNCHED_VM',
        pinnedPcpus: [2, 3],
        latencyBudgetUs: 50,
      }),
    );
  }

  it('persists and reloads every aggregate', async () => {
    const deviceId = 'truck-0042';
    await run(new ProvisionDevice({ deviceId, deviceClass: 'vehicle', site: 'depot-north', tags: ['eu'] }));
    await run(new MarkDeviceOnline({ deviceId, at: '2025-06-02T07:00:00Z' }));
    await run(new ReportBoardInventory({ deviceId, board: sampleBoard(), at: '2025-06-02T07:00:01Z' }));
    await run(new ReportHypervisorVersion({ deviceId, version: '3.3', scenario: 'hybrid_rt' }));

    await run(new CreatePartitionPlan({ planId: 'hybrid-rt', deviceClass: 'vehicle', plan: samplePlan() }));
    const bigger = modifyPlan(samplePlan(), (p) => {
      vmNamed(p, 'HMI_VM').memory = { sizeMb: 6144, hpaRegions: [] };
    });
    await run(new RevisePartitionPlan({ planId: 'hybrid-rt', basedOnRevision: 1, plan: bigger }));
    const assigned = await run(new AssignPartitionPlan({ deviceId, planId: 'hybrid-rt' }));
    expect(assigned.events).toMatchObject([
      { type: 'PartitionPlanAssigned', data: { revision: 2, warnings: [] } },
    ]);
    await run(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 2 }));

    await run(
      new ReportServiceVmBooted({ deviceId, osImageVersion: '2025.05.1', at: '2025-06-02T06:59:00Z' }),
    );
    await run(new ReportDeviceModelHealth({ deviceId, health: 'healthy' }));
    await run(new RequestServiceVmReboot({ deviceId, reason: 'kernel update' }));

    await run(
      new RegisterRtVm({
        deviceId,
        vmName: 'RT_VM1',
        loadOrder: 'POST_LAUNCHED_VM',
        pinnedPcpus: [3],
        latencyBudgetUs: 40,
      }),
    );
    await run(new StartRtVm({ deviceId, vmName: 'RT_VM1' }));
    await run(new ReportRtVmLatency({ deviceId, vmName: 'RT_VM1', worstCaseUs: 55 }));
    await run(new StopRtVm({ deviceId, vmName: 'RT_VM1' }));
    await run(new RecordRtVmPowerOff({ deviceId, vmName: 'RT_VM1' }));
    await run(new StartRtVm({ deviceId, vmName: 'RT_VM1' }));
    await run(new RecordRtVmTripleFault({ deviceId, vmName: 'RT_VM1' }));

    const hypervisor = await load(new HypervisorAggregate(deviceId));
    expect(hypervisor.version).toBe(6n);
    expect(hypervisor.state).toMatchObject({
      provisioned: true,
      deviceClass: 'vehicle',
      tags: ['eu'],
      hypervisor: { version: '3.3', scenario: 'hybrid_rt' },
      connectivity: { status: 'online', since: '2025-06-02T07:00:00Z' },
      desiredPlan: { planId: 'hybrid-rt', revision: 2 },
      reportedPlan: { planId: 'hybrid-rt', revision: 2 },
    });
    expect(hypervisor.state.board?.pcpus).toHaveLength(8);
    expect(isPlanInSync(hypervisor.state)).toBe(true);

    const plan = await load(new PartitionPlanAggregate('hybrid-rt'));
    expect(plan.version).toBe(2n);
    expect(plan.state.revisions.map((p) => vmNamed(p, 'HMI_VM').memory?.sizeMb)).toEqual([4096, 6144]);

    const serviceVm = await load(new ServiceVmAggregate(deviceId));
    expect(serviceVm.state).toMatchObject({
      lifecycle: 'reboot-requested',
      osImageVersion: '2025.05.1',
      deviceModel: { health: 'healthy' },
    });

    const rtVm = await load(new RtVmAggregate(deviceId, 'RT_VM1'));
    expect(rtVm.version).toBe(8n);
    expect(rtVm.state).toMatchObject({
      state: 'stopped',
      pending: null,
      pinnedPcpus: [3],
      tripleFaults: 1,
      latency: { budgetUs: 40, worstCaseUs: 55, breaches: 1 },
    });

    const rows = await pool.query<{ event_type: string; schema_version: number; metadata: object }>(
      `SELECT event_type, schema_version, metadata FROM hf.events WHERE stream_id = $1 ORDER BY stream_position`,
      [rtVm.streamId],
    );
    expect(rows.rows.map((r) => r.event_type)).toEqual([
      'RtVmRegistered',
      'RtVmStarted',
      'RtVmLatencyReported',
      'RtVmLatencyBudgetBreached',
      'RtVmStopRequested',
      'RtVmPoweredOff',
      'RtVmStarted',
      'RtVmTripleFaulted',
    ]);
    expect(rows.rows.slice(1).every((r) => (r.metadata as { command?: string }).command !== undefined)).toBe(
      true,
    );
    expect(rows.rows.every((r) => r.schema_version === 1)).toBe(true);

    // Facts repeated after a jsonb round trip (keys reordered) append nothing.
    await expect(run(new ReportBoardInventory({ deviceId, board: sampleBoard() }))).resolves.toMatchObject({
      events: [],
    });
    await expect(
      run(new RevisePartitionPlan({ planId: 'hybrid-rt', basedOnRevision: 2, plan: bigger })),
    ).resolves.toMatchObject({ events: [], version: 2 });
  });

  it('two concurrent latency reports on one RTVM both land, with consecutive versions', async () => {
    await registeredRtVm('ipc-lat', 'RT1');
    const streamId = new RtVmAggregate('ipc-lat', 'RT1').streamId;
    const before = store.conflicts;
    store.arm(streamId, 2);
    const outcomes = await Promise.all([
      run(new ReportRtVmLatency({ deviceId: 'ipc-lat', vmName: 'RT1', worstCaseUs: 20 })),
      run(new ReportRtVmLatency({ deviceId: 'ipc-lat', vmName: 'RT1', worstCaseUs: 80 })),
    ]);
    expect(store.conflicts - before).toBe(1);
    // One report is 1 event, the breaching one 2; whichever went second continues from the first.
    const [low, high] = outcomes.map((o) => o.version).sort((a, b) => a - b);
    expect(high).toBe(4);
    expect(low).toBe(4 - outcomes.find((o) => o.version === high)!.events.length);
    const events = await postgres.readStream(streamId);
    expect(events.map((e) => e.streamPosition)).toEqual([1n, 2n, 3n, 4n]);
    expect(
      events
        .filter((e) => e.type === 'RtVmLatencyReported')
        .map((e) => e.data.worstCaseUs)
        .sort(),
    ).toEqual([20, 80]);
    expect(events.filter((e) => e.type === 'RtVmLatencyBudgetBreached')).toHaveLength(1);
    const rtVm = await load(new RtVmAggregate('ipc-lat', 'RT1'));
    expect(rtVm.state.latency.breaches).toBe(1);
  });

  it('two concurrent StartRtVm: exactly one succeeds, the other is rejected after re-deciding', async () => {
    await registeredRtVm('ipc-start', 'RT1');
    const streamId = new RtVmAggregate('ipc-start', 'RT1').streamId;
    const before = store.conflicts;
    store.arm(streamId, 2);
    const results = await Promise.allSettled([
      run(new StartRtVm({ deviceId: 'ipc-start', vmName: 'RT1' })),
      run(new StartRtVm({ deviceId: 'ipc-start', vmName: 'RT1' })),
    ]);
    expect(store.conflicts - before).toBe(1);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeInstanceOf(DomainRejection);
    expect(rejected[0].reason).toMatchObject({
      code: 'RTVM_NOT_STOPPED',
      httpStatus: 409,
      details: { state: 'started' },
    });
    expect((await postgres.readStream(streamId)).map((e) => e.type)).toEqual([
      'RtVmRegistered',
      'RtVmStarted',
    ]);
  });

  it('two concurrent revisions of a plan: one lands, the other is PLAN_REVISION_CONFLICT without a retry', async () => {
    await run(new CreatePartitionPlan({ planId: 'race', deviceClass: 'vehicle', plan: samplePlan() }));
    const streamId = new PartitionPlanAggregate('race').streamId;
    const edit = (sizeMb: number) =>
      modifyPlan(samplePlan(), (p) => {
        vmNamed(p, 'HMI_VM').memory = { sizeMb, hpaRegions: [] };
      });
    store.arm(streamId, 2);
    const results = await Promise.allSettled([
      run(new RevisePartitionPlan({ planId: 'race', basedOnRevision: 1, plan: edit(2048) })),
      run(new RevisePartitionPlan({ planId: 'race', basedOnRevision: 1, plan: edit(3072) })),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ code: 'PLAN_REVISION_CONFLICT' });
    expect(await postgres.readStream(streamId)).toHaveLength(2);
  });

  it('a plan that does not fit the device’s board is refused with the validator’s violations', async () => {
    await run(new ProvisionDevice({ deviceId: 'truck-small', deviceClass: 'vehicle', site: 'depot' }));
    const board = sampleBoard();
    board.pcpus = board.pcpus.filter((p) => p.id < 4).map((p) => ({ ...p, threadSiblings: [] }));
    board.caches = board.caches.filter((c) => c.level === 3).map((c) => ({ ...c, pcpus: [0, 1, 2, 3] }));
    await run(new ReportBoardInventory({ deviceId: 'truck-small', board }));
    const refused = run(
      new AssignPartitionPlan({ deviceId: 'truck-small', planId: 'hybrid-rt', revision: 1 }),
    );
    await expect(refused).rejects.toMatchObject({
      code: 'PLAN_DOES_NOT_FIT_BOARD',
      httpStatus: 422,
      details: {
        violations: expect.arrayContaining([expect.objectContaining({ code: 'PCPU_OUTSIDE_PLATFORM' })]),
      },
    });
    expect((await load(new HypervisorAggregate('truck-small'))).state.desiredPlan).toBeNull();
    await expect(
      run(new AssignPartitionPlan({ deviceId: 'nobody', planId: 'hybrid-rt' })),
    ).rejects.toMatchObject({
      code: 'DEVICE_NOT_PROVISIONED',
    });
  });

  it('is idempotent by command id on the real store', async () => {
    await registeredRtVm('ipc-idem', 'RT1');
    const command = () =>
      new ReportRtVmLatency(
        { deviceId: 'ipc-idem', vmName: 'RT1', worstCaseUs: 90 },
        { commandId: 'ipc-idem/mqtt-17' },
      );
    const first = await run(command());
    const again = await run(command());
    expect(again).toEqual({ ...first, duplicate: true });
    const events = await postgres.readStream(new RtVmAggregate('ipc-idem', 'RT1').streamId);
    expect(events.slice(1).map((e) => [e.type, e.messageId, e.causationId])).toEqual([
      ['RtVmLatencyReported', 'ipc-idem/mqtt-17:0', 'ipc-idem/mqtt-17'],
      ['RtVmLatencyBudgetBreached', 'ipc-idem/mqtt-17:1', 'ipc-idem/mqtt-17'],
    ]);
  });

  it('recognises the store’s WrongExpectedVersionError by its code', async () => {
    expect(isWrongExpectedVersion(new WrongExpectedVersionError('s', '1', 2n))).toBe(true);
    const stale = await postgres
      .append('hypervisor-truck-0042', 1, [{ type: 'X', data: {} }])
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WrongExpectedVersionError);
    expect(isWrongExpectedVersion(stale)).toBe(true);
  });
});
