import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { DomainRejection, ProvisionDevice, type CommandActor } from '@hyperfleet/domain';
import type { EventStore, JsonObject } from '@hyperfleet/event-store';
import { EVENT_STORE } from '@hyperfleet/platform';
import { commandActor, type Actor } from '../auth/auth.types';
import {
  CredentialError,
  DeviceCredentialStore,
  EmbeddedBrokerAuth,
  type CredentialStatus,
  type IssuedCredential,
} from '../../../device-gateway/src/identity';
import type {
  CredentialStatusResponse,
  IssuedCredentialResponse,
  ProvisionDeviceBody,
} from './devices.schemas';

/** Who acts when the service is called in-process (the all-in-one's simulator), not over HTTP. */
const IN_PROCESS_ACTOR: CommandActor = {
  subject: 'fleet-api',
  credentialKind: 'system',
  credentialId: 'fleet-api',
};

/**
 * Provisioning is two steps in two stores: the ProvisionDevice command (event store), then the MQTT
 * credential (hf.device_credentials). They cannot share a transaction, so the second step is made
 * repeatable instead: when the device turns out to be provisioned already, with the same class and
 * site as asked, and it has no credential, the request is a retry after a crash between the steps and
 * the credential is issued now. Anything else is 409 DEVICE_ALREADY_PROVISIONED. Of two racing
 * requests exactly one gets the password: the credential insert decides.
 */
@Injectable()
export class DeviceProvisioningService {
  private readonly log = new Logger('FleetApi');

  constructor(
    private readonly commands: CommandBus,
    private readonly credentials: DeviceCredentialStore,
    private readonly broker: EmbeddedBrokerAuth,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  async provision(body: ProvisionDeviceBody, actor?: Actor): Promise<IssuedCredentialResponse> {
    // Before anything is written: an id that can never log in is not provisioned either.
    this.credentials.checkDeviceId(body.deviceId);
    const { deviceId, deviceClass, site, tags } = body;
    try {
      await this.commands.execute(
        new ProvisionDevice(
          { deviceId, deviceClass, site, ...(tags ? { tags } : {}) },
          actor ? { actor: commandActor(actor) } : { actor: IN_PROCESS_ACTOR },
        ),
      );
    } catch (err) {
      if (!(await this.isUnfinishedProvisioning(err, body))) throw err;
      this.log.warn(`Device ${deviceId} was provisioned without a credential; issuing it now`);
    }
    try {
      const issued = await this.credentials.issue(deviceId);
      await this.record('DeviceCredentialIssued', deviceId, actor, {
        issuedAt: issued.issuedAt.toISOString(),
      });
      return toIssued(issued);
    } catch (err) {
      if (err instanceof CredentialError && err.code === 'CREDENTIAL_ALREADY_ISSUED') {
        throw new DomainRejection('DEVICE_ALREADY_PROVISIONED', `Device ${deviceId} is already provisioned`, {
          deviceId,
        });
      }
      throw err;
    }
  }

  async rotate(deviceId: string, actor?: Actor): Promise<IssuedCredentialResponse> {
    const issued = await this.credentials.rotate(deviceId);
    await this.record('DeviceCredentialRotated', deviceId, actor, {
      rotatedAt: issued.issuedAt.toISOString(),
    });
    return toIssued(issued);
  }

  /** Revokes; a device connected to this process's embedded broker is disconnected at once. */
  async revoke(deviceId: string, actor?: Actor): Promise<CredentialStatusResponse> {
    const before = await this.credentials.status(deviceId);
    const status = await this.credentials.revoke(deviceId);
    this.broker.disconnect(deviceId);
    // Revoking again changes nothing, so it is no new fact either.
    if (before?.active !== false) {
      await this.record('DeviceCredentialRevoked', deviceId, actor, {
        revokedAt: status.revokedAt?.toISOString() ?? new Date().toISOString(),
      });
    }
    return toStatus(status);
  }

  /**
   * Credential changes as facts in the event store (stream `device-credential-<id>`, never the secret),
   * so they are in the audit trail with the actor who made them.
   */
  private async record(
    type: string,
    deviceId: string,
    actor: Actor | undefined,
    data: JsonObject,
  ): Promise<void> {
    await this.events.append(`device-credential-${deviceId}`, 'any', [
      {
        type,
        // deviceId stays out of data: the device timeline lists only the device's own lifecycle events.
        data,
        metadata: {
          actor: (actor ? commandActor(actor) : IN_PROCESS_ACTOR) as unknown as JsonObject,
          deviceId,
        },
      },
    ]);
  }

  async status(deviceId: string): Promise<CredentialStatusResponse> {
    const status = await this.credentials.status(deviceId);
    if (!status) {
      throw new CredentialError('CREDENTIAL_NOT_FOUND', `Device ${deviceId} has no MQTT credential.`, {
        deviceId,
      });
    }
    return toStatus(status);
  }

  private async isUnfinishedProvisioning(err: unknown, body: ProvisionDeviceBody): Promise<boolean> {
    if (!(err instanceof DomainRejection) || err.code !== 'DEVICE_ALREADY_PROVISIONED') return false;
    const sameDevice = err.details.deviceClass === body.deviceClass && err.details.site === body.site;
    return sameDevice && (await this.credentials.status(body.deviceId)) === null;
  }
}

function toIssued(c: IssuedCredential): IssuedCredentialResponse {
  return {
    deviceId: c.deviceId,
    mqtt: { username: c.username, password: c.password, issuedAt: c.issuedAt.toISOString() },
  };
}

function toStatus(s: CredentialStatus): CredentialStatusResponse {
  return {
    deviceId: s.deviceId,
    issuedAt: s.issuedAt.toISOString(),
    rotatedAt: s.rotatedAt?.toISOString() ?? null,
    revokedAt: s.revokedAt?.toISOString() ?? null,
    active: s.active,
  };
}
