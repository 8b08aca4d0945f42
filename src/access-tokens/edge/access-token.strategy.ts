import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { AccessTokenAuthenticator, authenticatorOf } from './access-token.authenticator.js';
import { ACCESS_TOKEN_STRATEGY } from '../access-tokens.constants.js';
import type { AuthenticatableRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import { httpHostOf } from './execution-context.js';

/** What the strategy is to Passport; keeps `passport-http-bearer`'s types out of the package's. */
interface PassportStrategyBase {
  authenticate(request: AuthenticatableRequest, options?: object): void;
  validate(...args: unknown[]): unknown;
}

/** The bearer strategy, registered with Passport as `'access-token'` when Nest creates it. */
const PassportBase: new () => PassportStrategyBase = PassportStrategy(Strategy, ACCESS_TOKEN_STRATEGY);

/**
 * The Passport strategy `'access-token'`, for apps that compose strategies
 * (`AuthGuard(['access-token', 'jwt'])`). It reads credentials and verifies exactly as
 * `AccessTokenGuard` does. A request with no token, or with something that is not one of this
 * module's tokens (no `tokens.prefix`), fails softly so that the next strategy can try; a token of
 * this module that is malformed, unknown, expired or revoked is an error, answered as RFC 6750
 * says. `AccessTokensAuthGuard([...])` composes it with other strategies and answers the RFC 6750
 * challenge when they all fail, which `AuthGuard([...])` does not.
 */
@Injectable()
export class AccessTokenStrategy extends PassportBase {
  // Passport gives the strategy these actions for the duration of authenticate().
  declare success: (user: object) => void;
  declare fail: (status: number) => void;
  declare error: (error: Error) => void;

  constructor(
    private readonly authenticator: AccessTokenAuthenticator,
    private readonly verifier: TokenVerifier,
  ) {
    super();
  }

  override authenticate(req: AuthenticatableRequest): void {
    // Passport holds one strategy of this name for the whole process: verify with this request's app.
    const authenticator = authenticatorOf(req) ?? this.authenticator;
    let credentials;
    try {
      credentials = authenticator.credentialsOf(req);
    } catch (error) {
      return this.error(authenticator.refusal(error) as Error);
    }
    if (credentials.type !== 'token' || !authenticator.isOwnToken(credentials.token)) return this.fail(401);
    // Express gives each request its response, where a refusal's headers go, and a rate limit's.
    const response = (req as { res?: unknown }).res;
    const host = typeof response === 'object' && response !== null ? httpHostOf(req, response) : undefined;
    // The executor turns a synchronous refusal (a malformed token) into a rejection too.
    new Promise<VerifiedAccessToken>((resolve) =>
      resolve(authenticator.authenticate(req, credentials.token, host)),
    ).then(
      (verified) => this.success(verified.user),
      (error: unknown) => this.error(authenticator.refusal(error, response) as Error),
    );
  }

  /** Verifies a raw token and returns its user (what the base bearer strategy would call). */
  override async validate(token: string): Promise<object> {
    return (await this.verifier.resolve(token, undefined, undefined, 'http')).user;
  }
}
