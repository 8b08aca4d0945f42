import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessTokenAuthenticator, verifiedTokenOf, type AuthenticatableRequest } from './access-token.authenticator.js';
import { SCOPES_METADATA } from '../access-tokens.constants.js';
import { ACCESS_TOKENS_DEFAULTS } from '../access-tokens-options.interface.js';
import { AccessTokensError, InsufficientScopeError, MissingCredentialsError } from '../core/access-tokens.errors.js';
import { AccessTokensHttpException } from './access-tokens-http.exception.js';
import { requestOf, responseOf } from './execution-context.js';
import { satisfies, type ScopeRequirement } from '../core/scopes.js';

/**
 * Checks the route's `@Scopes()` against the effective scopes of the request's token (its scopes
 * intersected with the user's current permissions). Runs after `AccessTokenGuard`; per route or as
 * an `APP_GUARD`. A route without `@Scopes()` passes.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  /** Optional, so that a unit test of a controller can build the guard with a `Reflector` alone. */
  @Optional() @Inject(AccessTokenAuthenticator) protected readonly authenticator?: AccessTokenAuthenticator;

  constructor(protected readonly reflector: Reflector) {}

  /** Refusals leave as `AccessTokensHttpException`s (401 without a token, 403 without the scope). */
  canActivate(context: ExecutionContext): boolean {
    const requirements = this.getRequirements(context);
    if (requirements.length === 0) return true;
    const request = this.getRequest(context);
    const verified = request && verifiedTokenOf(request);
    if (!verified) throw this.refusal(new MissingCredentialsError(), this.getResponse(context));
    for (const requirement of requirements) {
      if (!satisfies(verified.scopes, requirement)) {
        throw this.refusal(
          'allOf' in requirement
            ? new InsufficientScopeError(requirement.allOf, 'allOf')
            : new InsufficientScopeError(requirement.anyOf, 'anyOf'),
          this.getResponse(context),
        );
      }
    }
    return true;
  }

  /**
   * The request whose token is checked: an HTTP route's, or a GraphQL operation's (Apollo,
   * Mercurius). Override it for another transport.
   */
  protected getRequest(context: ExecutionContext): AuthenticatableRequest | undefined {
    return requestOf(context);
  }

  /** Where a refusal's `WWW-Authenticate` challenge is set, if anywhere. */
  protected getResponse(context: ExecutionContext): unknown {
    return responseOf(context);
  }

  private refusal(error: AccessTokensError, response: unknown): unknown {
    return this.authenticator
      ? this.authenticator.refusal(error, response)
      : AccessTokensHttpException.from(error, ACCESS_TOKENS_DEFAULTS.realm);
  }

  /** The requirements of the controller and of the handler, all of which must hold. */
  protected getRequirements(context: ExecutionContext): ScopeRequirement[] {
    return this.reflector
      .getAll<(ScopeRequirement[] | undefined)[]>(SCOPES_METADATA, [context.getClass(), context.getHandler()])
      .flatMap((requirements) => requirements ?? []);
  }
}
