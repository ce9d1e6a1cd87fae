export const RUNTIME = Symbol('RuntimeInfrastructure');
export const PG_POOL = Symbol('PgPool');
export const EVENT_STORE = Symbol('EventStore');
