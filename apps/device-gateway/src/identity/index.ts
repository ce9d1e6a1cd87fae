// Device identity: per-device MQTT credentials (Mosquitto-format hashes in PostgreSQL), the gateway
// service account, aedes authentication/authorization hooks and generated Mosquitto files.
// docs/identity.md describes it.
export * from './password-hash';
export * from './migrations';
export * from './credential-store';
export * from './topic-authorization';
export * from './aedes-auth';
export * from './gateway-account';
export * from './mosquitto-config';
export * from './identity.module';
