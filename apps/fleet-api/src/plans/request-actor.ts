import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { UNSCOPED, type Actor } from '../auth/auth.types';

/**
 * The request's actor, like `@CurrentActor()`, for the plan and board routes. While an app runs without
 * the auth guard (the guard is being added to every app), a request has no actor and is recorded as the
 * unauthenticated, unscoped local user instead of failing; with the guard in place this is exactly
 * CurrentActor. Replace with CurrentActor once every app installs the guard.
 */
export const PlanActor = createParamDecorator((_data: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<{ actor?: Actor; headers: Record<string, unknown> }>();
  if (req.actor) return req.actor;
  const requestId = req.headers['x-request-id'];
  return {
    subject: 'unauthenticated',
    credentialKind: 'api-key',
    credentialId: 'none',
    role: 'admin',
    scope: UNSCOPED,
    requestId: typeof requestId === 'string' ? requestId.slice(0, 128) : 'none',
  };
});
