export const RUNTIME = Symbol('RuntimeInfrastructure');
export const PG_POOL = Symbol('PgPool');
export const EVENT_STORE = Symbol('EventStore');
export const EVENT_TRANSPORT = Symbol('EventTransport');
export const OUTBOX_RELAY = Symbol('OutboxRelay');
export const TELEMETRY_RELAY = Symbol('TelemetryRelay');
