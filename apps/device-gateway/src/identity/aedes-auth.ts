import { createHash, timingSafeEqual } from 'node:crypto';
import type { Aedes, AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import { isValidDeviceId } from '@hyperfleet/contracts';
import type { CredentialVerifier } from './credential-store';
import { authorizeDeviceTopic, type MqttIdentity } from './topic-authorization';

// aedes declares these as `const enum`, which cannot be used across an isolated-modules build.
/** CONNACK return codes of MQTT 3.1.1 (aedes maps them to MQTT 5 reason codes itself). */
export const CONNACK = {
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
} as const;

export type AuthenticateHook = Aedes['authenticate'];
export type AuthorizePublishHook = Aedes['authorizePublish'];
export type AuthorizeSubscribeHook = Aedes['authorizeSubscribe'];
export type AuthorizeForwardHook = Aedes['authorizeForward'];

export interface AedesAuthOptions {
  /** The backend's service account; without it, only devices can connect. */
  readonly gateway?: { readonly username: string; readonly password: string };
  /** Refused connections and denied topics, one line each (never a password). */
  readonly log?: (line: string) => void;
}

export interface AedesAuth {
  readonly authenticate: AuthenticateHook;
  /** Topic authorization only: compose it with message processing (see installAedesAuth). */
  readonly authorizePublish: AuthorizePublishHook;
  readonly authorizeSubscribe: AuthorizeSubscribeHook;
  /** Read check on every delivery, like Mosquitto's: a message reaches only clients allowed to read it. */
  readonly authorizeForward: AuthorizeForwardHook;
  /** Who a connected client authenticated as; undefined for a client these hooks did not admit. */
  identityOf(client: Client | null | undefined): MqttIdentity | undefined;
}

type AuthError = Error & { returnCode: number };

function refusal(returnCode: number, message: string): AuthError {
  return Object.assign(new Error(message), { returnCode });
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/**
 * aedes 1.x hooks for device identity:
 *
 * - authenticate: no username or password, an unknown device, a revoked credential or a wrong password
 *   is CONNACK 4 (bad username or password); a device whose client id is not its username is CONNACK 2
 *   (identifier rejected), so no device can take over another device's session; a database failure is
 *   CONNACK 3 (server unavailable), never a false "wrong password".
 * - authorizePublish: authorizeDeviceTopic; a refused PUBLISH makes aedes close the connection
 *   (MQTT 3.1.1 has no negative PUBACK), so a forged topic never reaches a subscriber.
 * - authorizeSubscribe: a refused filter is granted 0x80 (failure) in the SUBACK; the connection stays.
 * - authorizeForward: drops a delivery the client may not read (defence in depth).
 */
export function createAedesAuth(verifier: CredentialVerifier, options: AedesAuthOptions = {}): AedesAuth {
  const identities = new WeakMap<Client, MqttIdentity>();
  const log = options.log ?? (() => undefined);
  const gateway = options.gateway;
  const gatewayDigest = gateway ? digest(gateway.password) : null;

  const identityOf = (client: Client | null | undefined): MqttIdentity | undefined =>
    client ? identities.get(client) : undefined;

  const authenticate: AuthenticateHook = (client, username, password, done) => {
    const id = client.id;
    if (!username || !password) {
      log(`MQTT: refused ${id}: no username or password`);
      return done(refusal(CONNACK.BAD_USERNAME_OR_PASSWORD, 'username and password are required'), false);
    }
    if (gateway && username === gateway.username) {
      const ok = timingSafeEqual(digest(password), gatewayDigest!);
      if (!ok) {
        log(`MQTT: refused ${id}: wrong password for the gateway account`);
        return done(refusal(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
      }
      identities.set(client, { kind: 'gateway', username });
      return done(null, true);
    }
    if (!isValidDeviceId(username)) {
      log(`MQTT: refused ${id}: username is not a device id`);
      return done(refusal(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
    }
    if (id !== username) {
      log(
        `MQTT: refused client id ${JSON.stringify(id)}: a device's client id must be its username (${username})`,
      );
      return done(refusal(CONNACK.IDENTIFIER_REJECTED, 'the client id must be the device id'), false);
    }
    verifier.verify(username, password.toString('utf8')).then(
      (result) => {
        if (!result.ok) {
          log(`MQTT: refused device ${username}: ${result.reason}`);
          return done(refusal(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
        }
        identities.set(client, { kind: 'device', deviceId: username });
        done(null, true);
      },
      (err: Error) => {
        log(`MQTT: cannot check device ${username}: ${err.message}`);
        done(refusal(CONNACK.SERVER_UNAVAILABLE, 'credential store unavailable'), false);
      },
    );
  };

  const authorizePublish: AuthorizePublishHook = (client, packet: PublishPacket, callback) => {
    // client is null only for the will of a client of another broker instance; device client ids are
    // device ids (enforced above), so the will's client id is its identity.
    const will = packet as PublishPacket & { clientId?: string };
    const identity: MqttIdentity | undefined = client
      ? identities.get(client)
      : will.clientId && isValidDeviceId(will.clientId)
        ? { kind: 'device', deviceId: will.clientId }
        : undefined;
    if (!identity) return callback(new Error('not authenticated'));
    const decision = authorizeDeviceTopic(identity, packet.topic, 'publish');
    if (!decision.allowed) {
      log(`MQTT: denied PUBLISH: ${decision.reason}`);
      return callback(new Error(decision.reason));
    }
    callback(null);
  };

  const authorizeSubscribe: AuthorizeSubscribeHook = (client, subscription: Subscription, callback) => {
    const identity = identities.get(client);
    const decision = identity
      ? authorizeDeviceTopic(identity, subscription.topic, 'subscribe')
      : { allowed: false as const, reason: 'not authenticated' };
    if (!decision.allowed) {
      log(`MQTT: denied SUBSCRIBE by ${client.id}: ${decision.reason}`);
      return callback(null, null); // SUBACK 0x80 for this filter
    }
    callback(null, subscription);
  };

  const authorizeForward: AuthorizeForwardHook = (client, packet: AedesPublishPacket) => {
    const identity = identities.get(client);
    if (!identity) return null;
    return readable(identity, packet.topic) ? packet : null;
  };

  return { authenticate, authorizePublish, authorizeSubscribe, authorizeForward, identityOf };
}

/** A delivered topic is readable when subscribing to exactly that topic would be allowed. */
function readable(identity: MqttIdentity, topic: string): boolean {
  return authorizeDeviceTopic(identity, topic, 'subscribe').allowed;
}

/**
 * Installs the hooks on a running aedes broker (the embedded one: `infra.mqtt.broker.aedes`). Install
 * them before anything that wraps `authorizePublish` to process messages, e.g.
 *
 *   const auth = installAedesAuth(aedes, store, { gateway });
 *   const authorizeTopic = aedes.authorizePublish;           // === auth.authorizePublish
 *   aedes.authorizePublish = (client, packet, cb) =>
 *     authorizeTopic(client, packet, (err) => (err ? cb(err) : processThenAck(client, packet, cb)));
 */
export function installAedesAuth(
  broker: Aedes,
  verifier: CredentialVerifier,
  options: AedesAuthOptions = {},
): AedesAuth {
  const auth = createAedesAuth(verifier, options);
  broker.authenticate = auth.authenticate;
  broker.authorizePublish = auth.authorizePublish;
  broker.authorizeSubscribe = auth.authorizeSubscribe;
  broker.authorizeForward = auth.authorizeForward;
  return auth;
}
