/**
 * ed25519 keys for the Image repository's TUF roles. Root and targets keys are made offline (fleetctl
 * releases keys init) and never reach the server or its database; snapshot and timestamp keys are online.
 */
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Signature } from '@tufjs/models';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';

export const TOP_LEVEL_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];
/** Roles whose private keys stay offline. */
export const OFFLINE_ROLES: readonly TopLevelRole[] = ['root', 'targets'];

export interface RoleKey {
  readonly keyId: string;
  /** The TUF public key (ed25519, hex). */
  readonly key: Key;
  /** PKCS#8 PEM; absent when only the public half is known. */
  readonly privateKeyPem?: string;
}

/** The TUF key object for a raw ed25519 public key (hex); its id is the sha256 of its canonical JSON. */
export function tufKey(publicHex: string): Key {
  const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } });
}

function publicHexOf(spkiDer: Buffer): string {
  return spkiDer.subarray(spkiDer.length - 32).toString('hex'); // the raw key ends the SPKI DER
}

export function generateRoleKey(): RoleKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = tufKey(publicHexOf(publicKey.export({ type: 'spki', format: 'der' })));
  return {
    keyId: key.keyID,
    key,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A role key from its private PEM (as `keys init` wrote it). */
export function roleKeyFromPem(privateKeyPem: string): RoleKey {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 private key');
  const key = tufKey(publicHexOf(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })));
  return { keyId: key.keyID, key, privateKeyPem };
}

/** The signer @tufjs/models' Metadata.sign calls with the canonical JSON of `signed`. */
export function signerOf(roleKey: RoleKey): (data: Buffer) => Signature {
  if (!roleKey.privateKeyPem) throw new Error(`key ${roleKey.keyId} has no private half here`);
  const privateKey = createPrivateKey(roleKey.privateKeyPem);
  return (data) => new Signature({ keyID: roleKey.keyId, sig: sign(null, data, privateKey).toString('hex') });
}
