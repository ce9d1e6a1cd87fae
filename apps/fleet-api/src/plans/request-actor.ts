import { CurrentActor } from '../auth/auth.types';

/**
 * @deprecated The auth guard now sets the actor on every route: use `@CurrentActor()`. Kept as an alias
 * because other controllers (releases) import it.
 */
export const PlanActor = CurrentActor;
