export * from './release.version';
export * from './release.events';
export * from './release.commands';
export * from './release.decider';
export * from './release.compatibility';
export * from './release.aggregate';
export * from './release.handlers';
