export * from './status';
export * from './migrations';
export * from './command-store';
