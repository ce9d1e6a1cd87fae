export * from './in-memory-event-stream-store';
export * from './given-when-then';
