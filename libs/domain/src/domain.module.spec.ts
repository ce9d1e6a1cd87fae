import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { sampleBoard, samplePlan } from '@hyperfleet/acrn';
import { DomainModule } from './domain.module';
import { AssignPartitionPlan, CreatePartitionPlan } from './partition-plan/partition-plan.commands';
import { ProvisionDevice, ReportBoardInventory } from './hypervisor/hypervisor.commands';
import { RegisterRtVm, StartRtVm } from './rt-vm/rt-vm.commands';
import { ReportServiceVmBooted } from './service-vm/service-vm.commands';
import { fixedClock } from './shared/clock';
import { DOMAIN_EVENT_STORE } from './shared/event-stream-store';
import { DomainRejection } from './shared/rejection';
import { InMemoryEventStreamStore } from './testing';

/** What PlatformModule does in the apps: a global module that provides the store. */
function globalStore(store: InMemoryEventStreamStore): DynamicModule {
  @Global()
  @Module({})
  class StoreModule {}
  return {
    module: StoreModule,
    providers: [{ provide: DOMAIN_EVENT_STORE, useValue: store }],
    exports: [DOMAIN_EVENT_STORE],
  };
}

describe('DomainModule (CommandBus over the in-memory store)', () => {
  const now = '2025-06-02T08:00:00.000Z';

  async function boot(options: 'forRoot' | 'global') {
    const store = new InMemoryEventStreamStore();
    const moduleRef =
      options === 'forRoot'
        ? await Test.createTestingModule({
            imports: [
              CqrsModule.forRoot(),
              DomainModule.forRoot({ eventStore: { useValue: store }, clock: fixedClock(now) }),
            ],
          }).compile()
        : await Test.createTestingModule({
            imports: [CqrsModule.forRoot(), globalStore(store), DomainModule.forRoot()],
          }).compile();
    await moduleRef.init();
    return { store, bus: moduleRef.get(CommandBus), close: () => moduleRef.close() };
  }

  it('routes every command to its handler and persists the events', async () => {
    const { store, bus, close } = await boot('forRoot');
    const deviceId = 'truck-1';
    await bus.execute(new ProvisionDevice({ deviceId, deviceClass: 'vehicle', site: 'depot' }));
    await bus.execute(new ReportBoardInventory({ deviceId, board: sampleBoard() }));
    await bus.execute(new CreatePartitionPlan({ planId: 'p1', deviceClass: 'vehicle', plan: samplePlan() }));
    const assigned = await bus.execute(new AssignPartitionPlan({ deviceId, planId: 'p1' }));
    expect(assigned.events).toMatchObject([
      { type: 'PartitionPlanAssigned', data: { revision: 1, at: now } },
    ]);
    await bus.execute(new ReportServiceVmBooted({ deviceId, osImageVersion: '1.0' }));
    await bus.execute(
      new RegisterRtVm({
        deviceId,
        vmName: 'RT1',
        loadOrder: 'POST_LAUNCHED_VM',
        pinnedPcpus: [3],
        latencyBudgetUs: 40,
      }),
    );
    const started = await bus.execute(new StartRtVm({ deviceId, vmName: 'RT1' }));
    expect(started).toMatchObject({ streamId: 'rt-vm-truck-1.RT1', version: 2, duplicate: false });
    expect(store.streamNames()).toEqual([
      'hypervisor-truck-1',
      'partition-plan-p1',
      'rt-vm-truck-1.RT1',
      'service-vm-truck-1',
    ]);
    await close();
  });

  it('rejects through the bus with a DomainRejection', async () => {
    const { bus, close } = await boot('global');
    const refused = bus.execute(new StartRtVm({ deviceId: 'nobody', vmName: 'RT1' }));
    await expect(refused).rejects.toBeInstanceOf(DomainRejection);
    await expect(refused).rejects.toMatchObject({ code: 'RTVM_NOT_REGISTERED', httpStatus: 404 });
    await close();
  });
});
