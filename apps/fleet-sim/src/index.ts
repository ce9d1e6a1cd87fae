// @hyperfleet/fleet-sim: simulated ACRN devices speaking the real agent protocol (docs/fleet-sim.md).
export * from './fleet';
export * from './sim-device';
export * from './device-spec';
export * from './options';
export * from './stats';
export * from './progress';
export * from './latency';
export * from './prng';
export * from './connect-limiter';
export * from './fake-gateway';
