// @hyperfleet/acrn: the ACRN partitioning model and its rules. Pure TypeScript, no I/O.
export * from './parse-result';
export * from './board/board';
export * from './scenario/plan';
export * from './scenario/static-allocation';
export * from './scenario/vm-elements';
export * from './validation/rules';
export * from './validation/violation';
export { validatePartitionPlan, checkPartitionPlan } from './validation/validate';
export { isContiguousMask } from './validation/checks/rdt-support';
export * from './xml/scenario-xml';
export { parseBoardXml } from './xml/board-xml';
export * from './fixtures';
export * from './testing/builders';
