import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { verifiedTokenOf } from './access-token.authenticator.js';
import { requestOf } from './execution-context.js';
import { PUBLIC_ROUTE_METADATA } from '../access-tokens.internal-constants.js';

/** Lets a route (or a controller) through a global `AccessTokenGuard` without credentials. */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

/**
 * The authenticated user (`request.user`), as the app's user entity; in HTTP routes and GraphQL resolvers.
 * `undefined` for a team's token, which acts as its team, not as a person: read `@CurrentOwner()`.
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = requestOf(context);
  // Never a team as a user, whatever a Passport strategy put on `request.user`.
  return request && verifiedTokenOf(request)?.owner.kind === 'team' ? undefined : request?.user;
});

/**
 * Who the request's token acts as: `{ kind: 'user', entity }` for a personal token or session,
 * `{ kind: 'team', entity }` for a team's token (`TokenOwner`); `undefined` without a token. For
 * routes that take teams' tokens (`@TokenOwners('team')`).
 *
 * @example
 * @TokenOwners('team')
 * @Get('teams/:id')
 * show(@CurrentOwner() owner: TokenOwner<Team>) { return owner.entity; }
 */
export const CurrentOwner = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = requestOf(context);
  return request && verifiedTokenOf(request)?.owner;
});

/**
 * The request's `VerifiedAccessToken`: `{ user, accessToken, scopes }`, `scopes` being the
 * effective ones. `undefined` when the request was not authenticated by a token.
 */
export const CurrentToken = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = requestOf(context);
  return request && verifiedTokenOf(request);
});
