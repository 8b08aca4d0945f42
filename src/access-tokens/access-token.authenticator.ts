import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { RESOLVED_OPTIONS, VERIFIED_TOKEN } from './access-tokens.internal-constants.js';
import type { VerifiedAccessToken } from './access-tokens.interfaces.js';
import { readCredentials, type PresentedCredentials } from './credentials.js';
import { TokensService } from './tokens.service.js';

/** The parts of an HTTP request (Express or Fastify) the module reads and writes. */
export interface AuthenticatableRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: unknown;
  user?: unknown;
  [VERIFIED_TOKEN]?: VerifiedAccessToken;
}

/** The verified token a guard attached to the request, if any. */
export function verifiedTokenOf(request: AuthenticatableRequest): VerifiedAccessToken | undefined {
  return request[VERIFIED_TOKEN];
}

function attach(request: AuthenticatableRequest, verified: VerifiedAccessToken): VerifiedAccessToken {
  request.user = verified.user;
  request[VERIFIED_TOKEN] = verified;
  return verified;
}

/**
 * The one verification path, shared by `AccessTokenGuard` and `AccessTokenStrategy`: read the
 * credentials, verify the token, attach the result to the request.
 */
@Injectable()
export class AccessTokenAuthenticator {
  constructor(
    private readonly tokens: TokensService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  credentialsOf(request: AuthenticatableRequest): PresentedCredentials {
    const authorization = request.headers.authorization;
    return readCredentials(
      {
        authorization: Array.isArray(authorization) ? authorization[0] : authorization,
        // Read only when allowed: Express parses the query string anew on each access.
        queryToken: this.options.allowQueryParameter ? (request.query as Record<string, unknown> | undefined)?.access_token : undefined,
      },
      this.options,
    );
  }

  /**
   * Verifies the token and attaches the result to the request. A cached verification returns at
   * once, without a promise; anything else goes through `TokensService.verify`.
   */
  authenticate(request: AuthenticatableRequest, token: string): VerifiedAccessToken | Promise<VerifiedAccessToken> {
    const verified = this.tokens.resolve(token);
    return verified instanceof Promise ? verified.then((result) => attach(request, result)) : attach(request, verified);
  }
}
