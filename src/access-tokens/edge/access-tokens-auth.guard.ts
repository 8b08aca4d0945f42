import { Inject, Injectable, mixin, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, type IAuthModuleOptions } from '@nestjs/passport';
import { AccessTokenAuthenticator, verifiedTokenOf } from './access-token.authenticator.js';
import { ACCESS_TOKEN_STRATEGY } from '../access-tokens.constants.js';
import { PUBLIC_ROUTE_METADATA } from '../access-tokens.internal-constants.js';
import { InvalidTokenError, MissingCredentialsError } from '../core/access-tokens.errors.js';
import { requestOf, responseOf } from './execution-context.js';
import { ownerRefusal } from './token-owners.decorator.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';

/**
 * Passport's `AuthGuard(strategies)`, made to answer as the rest of the module does, for apps that
 * authenticate with this module's tokens and something else (`passport-jwt`):
 * - when every strategy fails, it refuses with the RFC 6750 answer: 401 with a bare `Bearer`
 *   challenge without credentials, `invalid_token` with them (`AuthGuard` answers a bare 401);
 * - it honours `@Public()`, and lets through a request that `AccessTokenGuard` already
 *   authenticated by an access token, so that it can follow a global `AccessTokenGuard` with
 *   `credentials.foreign: 'pass'`;
 * - it finds the request in HTTP, GraphQL and socket.io gateway contexts.
 *
 * @param strategies the Passport strategies to try in turn: `'access-token'` is this module's.
 * @example
 * // Either strategy, for the whole app; then ScopesGuard
 * providers: [
 *   { provide: APP_GUARD, useClass: AccessTokensAuthGuard(['access-token', 'jwt']) },
 *   { provide: APP_GUARD, useClass: AppScopesGuard },
 * ]
 */
export function AccessTokensAuthGuard(
  strategies: string | string[] = ACCESS_TOKEN_STRATEGY,
  options?: IAuthModuleOptions,
): Type<CanActivate> {
  const PassportGuard = AuthGuard(strategies);

  @Injectable()
  class MixinAccessTokensAuthGuard extends PassportGuard {
    @Inject(AccessTokenAuthenticator) private readonly authenticator!: AccessTokenAuthenticator;
    @Inject(Reflector) private readonly reflector!: Reflector;

    constructor() {
      super(options);
    }

    override async canActivate(context: ExecutionContext): Promise<boolean> {
      const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]);
      if (isPublic === true) return true;
      const request = this.getRequest(context);
      if (request && verifiedTokenOf(request)) return true;
      try {
        return (await super.canActivate(context)) as boolean;
      } catch (error) {
        return this.authenticator.refuse(error, context, this.getResponse(context));
      }
    }

    override getRequest(context: ExecutionContext): AuthenticatableRequest | undefined {
      return requestOf(context);
    }

    /** Passport's guard has it, though its type does not say so. */
    getResponse(context: ExecutionContext): unknown {
      return responseOf(context);
    }

    /** Passport's verdict: the user, the error a strategy raised, or a refusal when all failed. */
    override handleRequest<User>(error: unknown, user: User | false, _info: unknown, context: ExecutionContext): User {
      if (error) throw error;
      const request = this.getRequest(context);
      const verified = request && verifiedTokenOf(request);
      const refusal = verified && ownerRefusal(verified, context);
      if (refusal) throw refusal;
      if (user) return user;
      const presented = request !== undefined && this.authenticator.credentialsOf(request).type !== 'none';
      throw presented
        ? new InvalidTokenError('unknown', 'no authentication accepted it')
        : new MissingCredentialsError();
    }
  }

  return mixin(MixinAccessTokensAuthGuard);
}
