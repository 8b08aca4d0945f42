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
    const query = request.query as Record<string, unknown> | undefined;
    return readCredentials(
      {
        authorization: Array.isArray(authorization) ? authorization[0] : authorization,
        queryToken: this.options.allowQueryParameter ? query?.access_token : undefined,
      },
      this.options,
    );
  }

  async authenticate(request: AuthenticatableRequest, token: string): Promise<VerifiedAccessToken> {
    const verified = await this.tokens.verify(token);
    request.user = verified.user;
    request[VERIFIED_TOKEN] = verified;
    return verified;
  }
}
