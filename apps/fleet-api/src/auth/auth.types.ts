/**
 * Who may do what through the operator API: roles, the permissions each grants, the authenticated
 * actor of a request, and the decorators controllers use. docs/operator-api.md has the matrix.
 */
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { CommandActor } from '@hyperfleet/domain';

export const ROLES = ['viewer', 'operator', 'release-manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** Every GET of the fleet, its devices, plans, boards, commands, telemetry, projections. */
  'fleet:read',
  /** Commands to a device: RT VM start/stop/reset/delete, Service VM reboot/shutdown, latency budgets. */
  'devices:command',
  /** Provisioning, MQTT credentials, labels, tags and attributes. */
  'devices:write',
  /** Partition plans and boards: create, revise, import. */
  'plans:write',
  /** Assign a plan revision to devices (changes what devices run). */
  'plans:assign',
  /** Releases: create, upload, publish, deprecate, yank. */
  'releases:write',
  /** Rollouts: create, start, pause, resume, cancel, approve. */
  'rollouts:write',
  /** API keys: create, list, revoke. */
  'keys:manage',
  /** The audit trail. */
  'audit:read',
  /** Projection rebuilds and parked-event retries. */
  'projections:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The one place roles become permissions. */
export const ROLE_PERMISSIONS: { readonly [R in Role]: readonly Permission[] } = {
  viewer: ['fleet:read'],
  operator: ['fleet:read', 'devices:command', 'devices:write', 'plans:write', 'plans:assign'],
  'release-manager': ['fleet:read', 'plans:write', 'plans:assign', 'releases:write', 'rollouts:write'],
  admin: [...PERMISSIONS],
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * Sites and device classes a credential is limited to; null means all. Outside its scope a device
 * does not exist for the credential (404), and lists leave it out.
 */
export interface CredentialScope {
  readonly sites: readonly string[] | null;
  readonly deviceClasses: readonly string[] | null;
}

export const UNSCOPED: CredentialScope = { sites: null, deviceClasses: null };

/** The authenticated caller of one request (set on `request.actor` by the auth guard). */
export interface Actor {
  /** API key name or JWT `sub`. */
  readonly subject: string;
  readonly credentialKind: 'api-key' | 'jwt';
  /** API key id, or the JWT's `jti` (else `<iss>|<sub>`). */
  readonly credentialId: string;
  readonly role: Role;
  readonly scope: CredentialScope;
  /** X-Request-Id of the request (taken from the client when well-formed, else generated). */
  readonly requestId: string;
}

/** What of an actor goes into event metadata and the audit trail. */
export function commandActor(actor: Actor): CommandActor {
  return {
    subject: actor.subject,
    credentialKind: actor.credentialKind,
    credentialId: actor.credentialId,
    requestId: actor.requestId,
  };
}

export const REQUIRED_PERMISSION = 'hf:required-permission';
export const PUBLIC_ROUTE = 'hf:public-route';

/** The permission a route needs. Every route has one, or is @Public(); the guard refuses the rest. */
export const Requires = (permission: Permission) => SetMetadata(REQUIRED_PERMISSION, permission);

/** A route that needs no credential (only /health and the OpenAPI document). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The request's actor, as a controller parameter (`@CurrentActor() actor: Actor`). */
export const CurrentActor = createParamDecorator((_data: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<{ actor?: Actor }>().actor;
  if (!actor) throw new Error('CurrentActor used on a route the auth guard did not authenticate');
  return actor;
});
