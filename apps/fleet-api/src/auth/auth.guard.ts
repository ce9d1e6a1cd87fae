import { randomUUID } from 'node:crypto';
import {
  Injectable,
  RequestMethod,
  type CanActivate,
  type ExecutionContext,
  type NestMiddleware,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../http/api-error';
import { bearerCredential, credentialShape, REQUEST_ID_PATTERN } from './api-key-format';
import { ApiKeyService } from './api-keys.service';
import { openApiPath, PUBLIC_PATHS } from './auth.openapi';
import {
  PUBLIC_ROUTE,
  REQUIRED_PERMISSION,
  roleAllows,
  UNSCOPED,
  type Actor,
  type Permission,
} from './auth.types';
import { JwtCredentials } from './jwt-credentials';
import { TokenKeysUnavailable, TokenRefused } from './jwt-verifier';

export const REQUEST_ID_HEADER = 'X-Request-Id';

type AuthRequest = Request & { actor?: Actor; requestId?: string };

/** The request id: the client's X-Request-Id when well-formed, else a new UUID; echoed in the response. */
export function assignRequestId(req: AuthRequest, res: Response): string {
  if (req.requestId) return req.requestId;
  const given = req.headers['x-request-id'];
  const value = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  req.requestId = value;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, value);
  return value;
}

/** Every request, also unknown routes and the OpenAPI document, gets a request id. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(req: AuthRequest, res: Response, next: NextFunction): void {
    assignRequestId(req, res);
    next();
  }
}

/**
 * The global guard: @Public routes pass; every other route needs `Authorization: Bearer <API key or
 * JWT>` and a role with the route's @Requires permission. Sets `request.actor`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeyService,
    private readonly jwt: JwtCredentials,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const requestId = assignRequestId(req, res);
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const required = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, targets);
    if (!required) {
      // RouteDeclarations refuses to start with such a route; this is the second lock on the door.
      throw new ApiError(
        403,
        'PERMISSION_DENIED',
        'This route declares no permission, so nobody may use it.',
        {
          required: null,
        },
      );
    }
    const actor = await this.authenticate(req, res, requestId);
    req.actor = actor;
    if (!roleAllows(actor.role, required)) {
      throw new ApiError(
        403,
        'PERMISSION_DENIED',
        `The role ${actor.role} does not grant ${required}; ask an admin for a credential with a role that does.`,
        { required, role: actor.role },
      );
    }
    return true;
  }

  private async authenticate(req: AuthRequest, res: Response, requestId: string): Promise<Actor> {
    const credential = bearerCredential(req.headers.authorization);
    const refuse = (code: string, message: string, error?: string): never => {
      res.setHeader(
        'WWW-Authenticate',
        error ? `Bearer realm="hyperfleet", error="${error}"` : 'Bearer realm="hyperfleet"',
      );
      throw new ApiError(401, code, message);
    };
    if (!credential) {
      return refuse(
        'UNAUTHENTICATED',
        req.headers.authorization
          ? 'The Authorization header must be "Bearer <API key or token>".'
          : 'This route needs a credential: send "Authorization: Bearer <API key or token>" (fleetctl: set HF_API_KEY).',
      );
    }
    const shape = credentialShape(credential);
    if (shape === 'api-key') {
      const result = await this.apiKeys.verify(credential);
      if (!result.ok) {
        const messages = {
          INVALID_CREDENTIAL: 'The API key is not known.',
          CREDENTIAL_EXPIRED: 'The API key has expired; ask an admin for a new one.',
          CREDENTIAL_REVOKED: 'The API key has been revoked; ask an admin for a new one.',
        } as const;
        return refuse(result.code, messages[result.code], 'invalid_token');
      }
      const key = result.view;
      return {
        subject: key.name,
        credentialKind: 'api-key',
        credentialId: key.id,
        role: key.role,
        scope: key.scope ?? UNSCOPED,
        requestId,
      };
    }
    if (shape === 'jwt') {
      if (!this.jwt.verifier) {
        return refuse(
          'INVALID_TOKEN',
          'JWT bearer tokens are not accepted here (no identity provider is configured).',
          'invalid_token',
        );
      }
      try {
        const token = await this.jwt.verifier.verify(credential);
        return { ...token, credentialKind: 'jwt', requestId };
      } catch (err) {
        if (err instanceof TokenRefused)
          return refuse('INVALID_TOKEN', `Token refused: ${err.message}.`, 'invalid_token');
        if (err instanceof TokenKeysUnavailable) {
          throw new ApiError(503, 'AUTH_UNAVAILABLE', `Cannot verify the token now: ${err.message}.`);
        }
        throw err;
      }
    }
    return refuse(
      'INVALID_CREDENTIAL',
      'The credential is neither an API key (hf_…) nor a JWT.',
      'invalid_token',
    );
  }
}

export interface RouteDeclaration {
  readonly controller: string;
  readonly handler: string;
  /** GET, POST, … */
  readonly method: string;
  /** As Nest has it: `/api/v1/devices/:id/credentials\\:rotate`. */
  readonly path: string;
  readonly permission: Permission | null;
  readonly public: boolean;
}

/**
 * Every route handler of the application with the permission it declares. At startup, a route with
 * neither @Requires nor @Public stops the application: a route must never be open by omission.
 */
@Injectable()
export class RouteDeclarations implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const routes = this.all();
    for (const r of routes) if (r.public) PUBLIC_PATHS.add(openApiPath(r.path));
    const missing = routes.filter((r) => !r.public && !r.permission);
    if (missing.length) {
      throw new Error(
        `Routes without @Requires(...) or @Public(): ${missing.map((r) => `${r.controller}.${r.handler} (${r.path})`).join(', ')}`,
      );
    }
  }

  all(): RouteDeclaration[] {
    const routes: RouteDeclaration[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      const base = (Reflect.getMetadata(PATH_METADATA, metatype) as string | undefined) ?? '';
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = (proto as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (path === undefined) continue; // not a route handler
        const targets = [handler, metatype];
        routes.push({
          controller: metatype.name,
          handler: name,
          method: RequestMethod[(Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod) ?? 0],
          path: `/${[base, ...[path].flat()].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'),
          permission:
            this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, targets) ?? null,
          public: this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, targets) === true,
        });
      }
    }
    return routes;
  }
}
