import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { verifiedTokenOf, type AuthenticatableRequest } from './access-token.authenticator.js';
import { PUBLIC_ROUTE_METADATA } from '../access-tokens.constants.js';

/** Lets a route (or a controller) through a global `AccessTokenGuard` without credentials. */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

/** The authenticated user (`request.user`), as the app's user entity. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuthenticatableRequest>().user,
);

/**
 * The request's `VerifiedAccessToken`: `{ user, accessToken, scopes }`, `scopes` being the
 * effective ones. `undefined` when the request was not authenticated by a token.
 */
export const CurrentToken = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  verifiedTokenOf(context.switchToHttp().getRequest<AuthenticatableRequest>()),
);
