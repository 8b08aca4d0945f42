import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessTokenAuthenticator, verifiedTokenOf } from './access-token.authenticator.js';
import { SCOPES_METADATA } from '../access-tokens.internal-constants.js';
import { ACCESS_TOKENS_DEFAULTS } from '../options/defaults.js';
import { AccessTokensError, InsufficientScopeError, MissingCredentialsError } from '../core/access-tokens.errors.js';
import { AccessTokensHttpException } from './access-tokens-http.exception.js';
import { requestOf, responseOf } from './execution-context.js';
import { refuseIn } from './refusals.js';
import { satisfies, type ScopeRequirement } from '../core/scopes.js';
import { ownerRefusal } from './token-owners.decorator.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';

/**
 * Checks the route's `@Scopes()` against the effective scopes of the request's token (its scopes
 * intersected with the user's current permissions). Runs after `AccessTokenGuard`; per route or
 * resolver, or as an `APP_GUARD`; in HTTP, GraphQL and socket.io gateway contexts. A route without
 * `@Scopes()` passes.
 *
 * Beside another authentication (`passport-jwt`), override `scopesOf` to read the scopes it put
 * on the request.
 *
 * A request it lets through with an access token records which of the token's own scopes granted
 * it (the narrowest that covers each required scope), at most once per
 * `tokens.lastUsedIntervalSeconds`: the token's `scopesUsedAt` and `unusedScopes`.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  /** Optional, so that a unit test of a controller can build the guard with a `Reflector` alone. */
  @Optional() @Inject(AccessTokenAuthenticator) protected readonly authenticator?: AccessTokenAuthenticator;

  constructor(protected readonly reflector: Reflector) {}

  /**
   * Refusals leave as `AccessTokensHttpException`s (401 without a token, 403 without the scope);
   * in a gateway, as a rejected `WsException`.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = this.getRequest(context);
    // A token's kind of owner first: a team's token on a route for people is refused, scopes or not.
    const verified = request && verifiedTokenOf(request);
    const refusal = verified && ownerRefusal(verified, context);
    if (refusal) return this.refuse(refusal, context);
    const requirements = this.getRequirements(context);
    if (requirements.length === 0) return true;
    const scopes = request && this.scopesOf(request, context);
    if (!scopes) return this.refuse(new MissingCredentialsError(), context);
    for (const requirement of requirements) {
      if (!satisfies(scopes, requirement)) {
        return this.refuse(
          'allOf' in requirement
            ? new InsufficientScopeError(requirement.allOf, 'allOf')
            : new InsufficientScopeError(requirement.anyOf, 'anyOf'),
          context,
        );
      }
    }
    // The least-privilege hints: which of the token's own scopes granted it.
    if (verified && this.authenticator) this.authenticator.exercised(verified, requirements, request!);
    return true;
  }

  /**
   * The scopes the request may use, or `undefined` when it is not authenticated (a 401). By
   * default, the effective scopes of the access token a guard verified. Override it to also
   * accept the scopes another authentication put on the request.
   *
   * @example
   * // Beside passport-jwt, whose validate() returns { userId, scopes }
   * class AppScopesGuard extends ScopesGuard {
   *   protected override scopesOf(request: AuthenticatableRequest, context: ExecutionContext) {
   *     return super.scopesOf(request, context) ?? (request.user as JwtUser | undefined)?.scopes;
   *   }
   * }
   */
  protected scopesOf(request: AuthenticatableRequest, _context: ExecutionContext): readonly string[] | undefined {
    return verifiedTokenOf(request)?.scopes;
  }

  /**
   * The request whose token is checked: an HTTP route's, a GraphQL operation's (Apollo,
   * Mercurius), or a socket.io connection's. Override it for another transport.
   */
  protected getRequest(context: ExecutionContext): AuthenticatableRequest | undefined {
    return requestOf(context);
  }

  /** Where a refusal's `WWW-Authenticate` challenge is set, if anywhere. */
  protected getResponse(context: ExecutionContext): unknown {
    return responseOf(context);
  }

  private refuse(error: AccessTokensError, context: ExecutionContext): never | Promise<never> {
    return this.authenticator
      ? this.authenticator.refuse(error, context, this.getResponse(context))
      : refuseIn(context, AccessTokensHttpException.from(error, ACCESS_TOKENS_DEFAULTS.credentials.realm));
  }

  /** The requirements of the controller and of the handler, all of which must hold. */
  protected getRequirements(context: ExecutionContext): ScopeRequirement[] {
    return this.reflector
      .getAll<(ScopeRequirement[] | undefined)[]>(SCOPES_METADATA, [context.getClass(), context.getHandler()])
      .flatMap((requirements) => requirements ?? []);
  }
}
