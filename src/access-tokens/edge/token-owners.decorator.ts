import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import { TOKEN_OWNERS_METADATA } from '../access-tokens.internal-constants.js';
import type { VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { InvalidOptionsError, TokenOwnerError } from '../core/access-tokens.errors.js';

/** A kind of token owner: a user (personal tokens, login sessions) or a team (`TeamTokensService`). */
export type TokenOwnerKind = 'user' | 'team';

/**
 * The kinds of owner whose tokens a route (or every route of a controller) takes. A route without it
 * takes users' tokens only, so that no route written for people ever sees a team as its user: a
 * team's token there is refused 403 `personal_token_required`, and a personal token on a
 * `@TokenOwners('team')` route 403 `team_token_required`. Checked by `AccessTokenGuard`,
 * `ScopesGuard` and `AccessTokensAuthGuard`, over HTTP, GraphQL and WebSockets.
 *
 * @example
 * @TokenOwners('team')
 * @Get('teams/:id')
 * show(@CurrentOwner() owner: TokenOwner<Team>) { ... }
 */
export function TokenOwners(...kinds: TokenOwnerKind[]): ClassDecorator & MethodDecorator {
  if (kinds.length === 0 || kinds.some((kind) => kind !== 'user' && kind !== 'team')) {
    throw new InvalidOptionsError("@TokenOwners() takes 'user', 'team' or both");
  }
  return SetMetadata(TOKEN_OWNERS_METADATA, Object.freeze([...new Set(kinds)]));
}

/** Whether a route takes users' and teams' tokens. */
export interface Accepted {
  readonly user: boolean;
  readonly team: boolean;
}

const PERSONAL_ONLY: Accepted = Object.freeze({ user: true, team: false });

/**
 * What each route takes, by controller class and handler: read from the metadata once per route,
 * then a lookup per request. Metadata does not change once a class is decorated.
 */
const accepted = new WeakMap<object, WeakMap<object, Accepted>>();

function acceptedBy(context: ExecutionContext): Accepted {
  const handler = context.getHandler();
  const controller = context.getClass();
  let routes = accepted.get(controller);
  let found = routes?.get(handler);
  if (found) return found;
  found = routeOwners(controller, handler);
  if (!routes) accepted.set(controller, (routes = new WeakMap()));
  routes.set(handler, found);
  return found;
}

/** Whose tokens the route of `controller` and `handler` takes, by its `@TokenOwners()`: users' only without one. */
export function routeOwners(controller: object, handler: object): Accepted {
  // The handler's own decorator wins over its controller's, as Reflector.getAllAndOverride reads them.
  const kinds = (Reflect.getMetadata(TOKEN_OWNERS_METADATA, handler) ??
    Reflect.getMetadata(TOKEN_OWNERS_METADATA, controller)) as readonly TokenOwnerKind[] | undefined;
  return kinds ? { user: kinds.includes('user'), team: kinds.includes('team') } : PERSONAL_ONLY;
}

/**
 * The refusal of `verified` on the route of `context` for its kind of owner, or `null` when the
 * route takes it. A personal token on a route without `@TokenOwners()` costs two lookups.
 */
export function ownerRefusal(verified: VerifiedAccessToken, context: ExecutionContext): TokenOwnerError | null {
  const route = acceptedBy(context);
  if (verified.owner.kind === 'team') return route.team ? null : new TokenOwnerError('personal_token_required');
  return route.user ? null : new TokenOwnerError('team_token_required');
}
