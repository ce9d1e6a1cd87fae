// @hyperfleet/domain: aggregates, commands, events and their rules. Pure TypeScript, no I/O.
export * from './shared/json';
export * from './shared/event';
export * from './shared/rejection';
export * from './shared/decider';
export * from './shared/command';
export * from './shared/clock';
export * from './shared/stream-ids';
export * from './shared/validation';
export * from './shared/event-stream-store';
export * from './shared/aggregate';
export * from './shared/command-handling';
export * from './shared/handler';
export * from './shared/stream-cache';

export * from './hypervisor/hypervisor.events';
export * from './hypervisor/hypervisor.commands';
export * from './hypervisor/hypervisor.decider';
export * from './hypervisor/hypervisor.aggregate';
export * from './hypervisor/hypervisor.handlers';

export * from './service-vm/service-vm.events';
export * from './service-vm/service-vm.commands';
export * from './service-vm/service-vm.decider';
export * from './service-vm/service-vm.aggregate';
export * from './service-vm/service-vm.handlers';

export * from './rt-vm/rt-vm.events';
export * from './rt-vm/rt-vm.commands';
export * from './rt-vm/rt-vm.decider';
export * from './rt-vm/rt-vm.aggregate';
export * from './rt-vm/rt-vm.handlers';

export * from './vm/vm.events';
export * from './vm/vm.commands';
export * from './vm/vm.decider';
export * from './vm/vm.aggregate';
export * from './vm/vm.handlers';

export * from './partition-plan/partition-plan.events';
export * from './partition-plan/partition-plan.commands';
export * from './partition-plan/partition-plan.decider';
export * from './partition-plan/assignment';
export * from './partition-plan/partition-plan.aggregate';
export * from './partition-plan/partition-plan.handlers';

export * from './release';
export * from './event-schemas/event-schemas';

export * from './domain.module';
export * from './testing';
