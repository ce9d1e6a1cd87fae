export * from './transport/event-transport';
export * from './transport/cloud-event';
export * from './postgres-log/migrations';
export * from './postgres-log/postgres-log-transport';
export * from './kafka/kafka-transport';
export * from './outbox/outbox-relay';
export * from './telemetry-spool/telemetry-log';
export * from './telemetry-spool/telemetry-relay';
