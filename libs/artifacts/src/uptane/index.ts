export * from './keys';
export * from './image-repository';
export * from './offline-keys';
export * from './director';
