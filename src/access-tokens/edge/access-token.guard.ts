import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessTokenAuthenticator, attachPasswordUser } from './access-token.authenticator.js';
import { PUBLIC_ROUTE_METADATA, PASSWORD_GRANT_METADATA } from '../access-tokens.internal-constants.js';
import { InvalidOptionsError, InvalidRequestError, MissingCredentialsError } from '../core/access-tokens.errors.js';
import { requestOf, responseOf } from './execution-context.js';
import { PasswordGrantService } from '../password/password-grant.service.js';
import type { AuthenticatableRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { ownerRefusal } from './token-owners.decorator.js';

/** What a 401 without credentials offers on an `@AllowPassword()` route. */
const PASSWORD_OR_TOKEN = ['Basic', 'Bearer'] as const;

/**
 * Authenticates the request by its access token (Bearer header, Basic user name, or the query
 * parameter when allowed) and puts the user on `request.user`. Use it per route or resolver
 * (`@UseGuards(AccessTokenGuard)`) or for the whole app (`{ provide: APP_GUARD, useClass:
 * AccessTokenGuard }`, with `@Public()` on open routes). It finds the request in HTTP (Express,
 * Fastify), GraphQL (Apollo, Mercurius) and socket.io gateway contexts, where it reads the token
 * from the handshake's `Authorization` header or `auth.token`. Refusals are
 * `AccessTokensHttpException`s with the RFC 6750 answer (GraphQL `extensions` included), and in a
 * gateway `WsException`s, which the client receives as an `exception` event.
 *
 * With `credentials.foreign: 'pass'`, credentials that are not this module's tokens go through
 * unauthenticated, for the next guard to check.
 *
 * On routes marked `@AllowPassword()` it also takes HTTP Basic user name and password, checked by
 * `PasswordGrantService` (bcrypt, throttled), and offers both schemes in a 401 without credentials.
 *
 * Subclass it to change a step: `allowsPassword` to decide otherwise which routes take a password,
 * `authenticatePassword` to check passwords your own way on the routes that do not,
 * `challengeSchemes` to offer other schemes in the 401.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  @Inject(AccessTokenAuthenticator) protected readonly authenticator!: AccessTokenAuthenticator;
  @Inject(Reflector) protected readonly reflector!: Reflector;
  /** Optional, so that a test can build the guard without the module, as before the password grant. */
  @Optional() @Inject(PasswordGrantService) protected readonly passwords?: PasswordGrantService;
  /** The schemes a 401 without credentials offers. */
  protected readonly challengeSchemes: readonly ('Bearer' | 'Basic')[] = ['Bearer'];

  /**
   * Synchronous when the token's verification is cached: no promise on the common path. Refusals
   * leave as `AccessTokensHttpException`s, which any exception filter answers with their status.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    let outcome: true | Promise<unknown>;
    try {
      outcome = this.authenticateRequest(this.getRequest(context), context);
    } catch (error) {
      return this.authenticator.refuse(error, context, this.getResponse(context));
    }
    return outcome === true
      ? true
      : outcome.then(
          () => true,
          (error: unknown) => this.authenticator.refuse(error, context, this.getResponse(context)),
        );
  }

  private authenticateRequest(request: AuthenticatableRequest, context: ExecutionContext): true | Promise<unknown> {
    const credentials = this.authenticator.credentialsOf(request);
    if (this.authenticator.passesAsForeign(request, credentials)) return true;
    switch (credentials.type) {
      case 'token': {
        // The context, not its response: only a token with a rate limit needs the response, for its headers.
        const verified = this.authenticator.authenticate(request, credentials.token, context);
        if (verified instanceof Promise) return verified.then((result) => this.assertOwnerAccepted(result, context));
        this.assertOwnerAccepted(verified, context);
        return true;
      }
      case 'password':
        return this.allowsPassword(context)
          ? this.grantPassword(request, credentials.username, credentials.password)
          : this.authenticatePassword(request, credentials.username, credentials.password);
      case 'none':
        throw new MissingCredentialsError(this.allowsPassword(context) ? PASSWORD_OR_TOKEN : this.challengeSchemes);
    }
  }

  /**
   * Refuses a token whose kind of owner the route does not take (`@TokenOwners()`; without it,
   * users' tokens only): a team's token on a route for people, 403 `personal_token_required`.
   */
  protected assertOwnerAccepted(verified: VerifiedAccessToken, context: ExecutionContext): void {
    const refusal = ownerRefusal(verified, context);
    if (refusal) throw refusal;
  }

  /** The password grant of an `@AllowPassword()` route: the user on `request.user`, or a refusal. */
  private async grantPassword(request: AuthenticatableRequest, username: string, password: string): Promise<void> {
    if (!this.passwords)
      throw new InvalidOptionsError(
        '@AllowPassword() needs PasswordGrantService: import AccessTokensModule where the guard is used',
      );
    attachPasswordUser(request, await this.passwords.authenticate(username, password, request));
  }

  /**
   * Whether the route takes HTTP Basic user name and password as well as a token: `@AllowPassword()`
   * on the route or its controller. Read only when a request brings a password or no credentials,
   * never on a token's way.
   */
  protected allowsPassword(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(PASSWORD_GRANT_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  /** Whether `@Public()` marks the route or its controller. */
  protected isPublic(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  /**
   * The request to authenticate: an HTTP route's, a GraphQL operation's (Apollo, Mercurius), or
   * what a socket.io connection's handshake carried. Override it for another transport.
   */
  protected getRequest(context: ExecutionContext): AuthenticatableRequest {
    const request = requestOf(context);
    if (!request) {
      throw new InvalidRequestError(
        `AccessTokenGuard finds no request in a "${context.getType()}" context: override getRequest(context)`,
      );
    }
    return request;
  }

  /** Where a refusal's `WWW-Authenticate` challenge is set, if anywhere. */
  protected getResponse(context: ExecutionContext): unknown {
    return responseOf(context);
  }

  /**
   * Called for HTTP Basic credentials with a non-empty password on a route without
   * `@AllowPassword()`. Refuses them by default: override it to check the password your own way
   * and set `request.user`.
   */
  protected async authenticatePassword(
    _request: AuthenticatableRequest,
    _username: string,
    _password: string,
  ): Promise<void> {
    throw new InvalidRequestError(
      'HTTP Basic credentials must carry the access token as the user name, with an empty password',
    );
  }
}
