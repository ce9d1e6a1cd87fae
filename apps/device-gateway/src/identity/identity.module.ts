import { Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import type { Client } from 'aedes';
import type { Pool } from 'pg';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, checkDatabase, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { installAedesAuth, type AedesAuth } from './aedes-auth';
import { DeviceCredentialStore } from './credential-store';
import { gatewayUsername, resolveGatewayAccount, type GatewayAccount } from './gateway-account';
import { IDENTITY_MIGRATION_SET } from './migrations';

/** The gateway service account (GatewayAccount), or null when no password is configured or stored. */
export const GATEWAY_ACCOUNT = Symbol('GatewayAccount');

@Injectable()
class IdentityMigrations implements OnModuleInit {
  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.infra.config.migrateOnStart) return;
    await checkDatabase(this.pool, this.infra.databaseUrl);
    await runMigrations(this.pool, IDENTITY_MIGRATION_SET);
  }
}

/**
 * Secures the embedded aedes broker of this process with the device identity hooks. Explicit, not
 * automatic: call install() before wrapping authorizePublish with message processing.
 */
@Injectable()
export class EmbeddedBrokerAuth {
  private readonly log = new Logger('DeviceIdentity');
  private installed: AedesAuth | null = null;

  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    private readonly store: DeviceCredentialStore,
    @Inject(GATEWAY_ACCOUNT) private readonly gateway: GatewayAccount | null,
  ) {}

  /** The hooks, installed once on `infra.mqtt.broker.aedes`; null when this process runs no broker. */
  install(): AedesAuth | null {
    if (this.installed) return this.installed;
    const aedes = this.infra.mqtt.broker?.aedes;
    if (!aedes) return null;
    this.installed = installAedesAuth(aedes, this.store, {
      gateway: this.gateway ?? undefined,
      log: (line) => this.log.warn(line),
    });
    return this.installed;
  }

  get auth(): AedesAuth | null {
    return this.installed;
  }

  /**
   * Closes the connection of a device on this process's broker (after a revocation: the credential
   * check only runs at CONNECT). False when the hooks are not installed or the device is not connected.
   */
  disconnect(deviceId: string): boolean {
    const aedes = this.infra.mqtt.broker?.aedes;
    if (!this.installed || !aedes) return false;
    const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
    if (this.installed.identityOf(client)?.kind !== 'device') return false;
    client!.close();
    this.log.log(`Disconnected device ${deviceId}: its credential was revoked`);
    return true;
  }
}

/**
 * Device credentials for Nest apps: DeviceCredentialStore over PG_POOL (needs PlatformModule), the
 * `identity` migrations at startup (with MIGRATE_ON_START), the gateway account, and EmbeddedBrokerAuth.
 */
@Module({
  providers: [
    {
      provide: GATEWAY_ACCOUNT,
      useFactory: (infra: RuntimeInfrastructure): GatewayAccount | null =>
        // Only a process that runs the embedded broker creates the password file; others read it.
        resolveGatewayAccount({ dataDir: infra.config.dataDir, generate: Boolean(infra.mqtt.broker) }),
      inject: [RUNTIME],
    },
    {
      provide: DeviceCredentialStore,
      useFactory: (pool: Pool) => new DeviceCredentialStore(pool, { reservedUsernames: [gatewayUsername()] }),
      inject: [PG_POOL],
    },
    IdentityMigrations,
    EmbeddedBrokerAuth,
  ],
  exports: [DeviceCredentialStore, GATEWAY_ACCOUNT, EmbeddedBrokerAuth],
})
export class DeviceIdentityModule {}
