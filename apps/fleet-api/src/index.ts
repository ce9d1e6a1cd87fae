// apps/fleet-api: the operator HTTP API, as a Nest module the all-in-one composes (FleetApiModule)
// and as a standalone app (main.ts, FleetApiAppModule).
export * from './fleet-api.module';
export * from './http/api-error';
export * from './http/api-exception.filter';
export * from './http/zod-validation.pipe';
export * from './http/openapi';
export * from './devices/devices.schemas';
export * from './devices/device-provisioning.service';
export * from './devices/devices.controller';
