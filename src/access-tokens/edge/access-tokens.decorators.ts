import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { verifiedTokenOf } from './access-token.authenticator.js';
import { requestOf } from './execution-context.js';
import { PUBLIC_ROUTE_METADATA } from '../access-tokens.internal-constants.js';

/** Lets a route (or a controller) through a global `AccessTokenGuard` without credentials. */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

/** The authenticated user (`request.user`), as the app's user entity; in HTTP routes and GraphQL resolvers. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => requestOf(context)?.user,
);

/**
 * The request's `VerifiedAccessToken`: `{ user, accessToken, scopes }`, `scopes` being the
 * effective ones. `undefined` when the request was not authenticated by a token.
 */
export const CurrentToken = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = requestOf(context);
  return request && verifiedTokenOf(request);
});
