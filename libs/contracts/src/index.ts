// @hyperfleet/contracts: the agent protocol v1 (MQTT topics, payload schemas, replies) and its AsyncAPI
// document. Pure TypeScript and zod, no I/O: the device gateway, the simulator and agents share it.
export * from './protocol';
export * from './ids';
export * from './schemas/common';
export * from './schemas/device';
export * from './schemas/backend';
export * from './reply-codes';
export * from './reply';
export * from './topics';
export * from './decode';
export * from './json-span';
export * from './encode';
export * from './sequence';
export * from './examples';
export * from './json-schema';
export * from './asyncapi';
