import { DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { writeTelemetryLog } from '@hyperfleet/messaging';
import {
  EVENT_TRANSPORT,
  PG_POOL,
  RUNTIME,
  createPool,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { DesiredStateStore } from './egress/desired-state-store';
import { DeviceEgress } from './egress/device-egress';
import {
  GATEWAY_OPTIONS,
  GATEWAY_TRANSPORT,
  gatewayOptionsFromEnv,
  type GatewayOptions,
} from './gateway-options';
import { GatewayLifecycle } from './gateway.lifecycle';
import { DeviceIdentityModule } from './identity';
import { DeviceIngress } from './ingress/device-ingress';
import { DEVICE_PUBLISHER } from './mqtt/publisher';
import { SessionStore } from './sessions/session-store';

/**
 * MQTT ingress and egress for device agents. Needs PlatformModule (database, event transport) and
 * the command side (CqrsModule.forRoot + DomainModule) in the application.
 */
@Module({})
export class DeviceGatewayModule {
  static forRoot(options: Partial<GatewayOptions> = {}): DynamicModule {
    return {
      module: DeviceGatewayModule,
      imports: [DeviceIdentityModule],
      providers: [
        { provide: GATEWAY_OPTIONS, useValue: { ...gatewayOptionsFromEnv(), ...options } },
        { provide: GATEWAY_TRANSPORT, useExisting: EVENT_TRANSPORT },
        {
          provide: SessionStore,
          useFactory: (infra: RuntimeInfrastructure, o: GatewayOptions) =>
            new SessionStore(
              // No acquire timeout: a burst of devices queues here instead of failing with INTERNAL_ERROR.
              createPool(infra.databaseUrl, o.deviceConcurrency, 0),
              // Telemetry commits in the batch's transaction on every transport: hf.telemetry_log is the
              // channel on the PostgreSQL log and the spool the telemetry relay publishes to Kafka from.
              writeTelemetryLog,
            ),
          inject: [RUNTIME, GATEWAY_OPTIONS],
        },
        {
          provide: DeviceCommandStore,
          useFactory: (pool: Pool) => new DeviceCommandStore(pool),
          inject: [PG_POOL],
        },
        {
          provide: DesiredStateStore,
          useFactory: (pool: Pool) => new DesiredStateStore(pool),
          inject: [PG_POOL],
        },
        DeviceEgress,
        DeviceIngress,
        GatewayLifecycle,
        { provide: DEVICE_PUBLISHER, useExisting: GatewayLifecycle },
      ],
      exports: [
        DeviceIngress,
        DeviceEgress,
        SessionStore,
        DeviceCommandStore,
        DesiredStateStore,
        DEVICE_PUBLISHER,
        GatewayLifecycle,
      ],
    };
  }
}
