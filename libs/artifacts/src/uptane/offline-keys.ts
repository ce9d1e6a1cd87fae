/**
 * The key set `fleetctl releases keys init` writes on the operator's (offline) machine:
 *   <dir>/1.root.json                    the Image repository's first root, signed by the root key
 *   <dir>/offline/root.ed25519.pem       never leaves the offline machine
 *   <dir>/offline/targets.ed25519.pem    never leaves the offline machine (signs targets.json)
 *   <dir>/online/snapshot.ed25519.pem    handed to the server (online role)
 *   <dir>/online/timestamp.ed25519.pem   handed to the server (online role)
 * Private keys are written 0600 and never overwritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metadata, Root } from '@tufjs/models';
import { buildRoot, tufExpiry } from './image-repository';
import {
  generateRoleKey,
  OFFLINE_ROLES,
  roleKeyFromPem,
  TOP_LEVEL_ROLES,
  type RoleKey,
  type TopLevelRole,
} from './keys';

export type KeySet = { readonly [R in TopLevelRole]: RoleKey };

export const keyFile = (dir: string, role: TopLevelRole) =>
  path.join(dir, OFFLINE_ROLES.includes(role) ? 'offline' : 'online', `${role}.ed25519.pem`);

export function initKeySet(
  dir: string,
  options: { rootExpiresDays: number; now?: Date },
): { keys: KeySet; root: Metadata<Root> } {
  for (const role of TOP_LEVEL_ROLES) {
    if (fs.existsSync(keyFile(dir, role)))
      throw new Error(`${keyFile(dir, role)} exists; keys are never overwritten`);
  }
  const keys = Object.fromEntries(
    TOP_LEVEL_ROLES.map((role) => [role, generateRoleKey()]),
  ) as unknown as KeySet;
  for (const role of TOP_LEVEL_ROLES) {
    fs.mkdirSync(path.dirname(keyFile(dir, role)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(keyFile(dir, role), keys[role].privateKeyPem as string, { mode: 0o600, flag: 'wx' });
  }
  const now = options.now ?? new Date();
  const root = buildRoot({
    version: 1,
    expires: tufExpiry(new Date(now.getTime() + options.rootExpiresDays * 86_400_000)),
    keys: {
      root: [keys.root],
      targets: [keys.targets],
      snapshot: [keys.snapshot],
      timestamp: [keys.timestamp],
    },
    signWith: [keys.root],
  });
  fs.writeFileSync(path.join(dir, '1.root.json'), `${JSON.stringify(root.toJSON(), null, 2)}\n`, {
    flag: 'wx',
  });
  return { keys, root };
}

export function readRoleKey(dir: string, role: TopLevelRole): RoleKey {
  return roleKeyFromPem(fs.readFileSync(keyFile(dir, role), 'utf8'));
}
