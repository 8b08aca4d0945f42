import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { AccessTokensError } from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { AccessTokensGraphQLError, AccessTokensHttpException } from './access-tokens-http.exception.js';
import { responseOf } from './execution-context.js';
import { setAnswerHeaders, toHttpAnswer } from './rfc6750.js';

/**
 * Answers the module's refusals and domain errors over HTTP, with the RFC 6750 `WWW-Authenticate`
 * header. `AccessTokensModule` registers it for the whole app (unless `exceptionFilter: false`), so
 * that errors thrown by `TokensService` in the app's own controllers (a bad scope, an unknown token
 * id) are 4xx answers too, and GraphQL errors with a 4xx `extensions.code` in resolvers.
 */
@Catch(AccessTokensError, AccessTokensHttpException)
export class AccessTokensExceptionFilter implements ExceptionFilter<AccessTokensError | AccessTokensHttpException> {
  /** `credentials.realm` */
  private readonly realm: string;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(RESOLVED_OPTIONS) options: ResolvedAccessTokensOptions,
  ) {
    this.realm = options.credentials.realm;
  }

  catch(error: AccessTokensError | AccessTokensHttpException, host: ArgumentsHost): void {
    // In a resolver, a refusal or domain error leaves with the extensions GraphQL shows
    // (BAD_REQUEST for a bad scope, NOT_FOUND for an unknown token id), not INTERNAL_SERVER_ERROR.
    const type = host.getType<string>();
    if (type !== 'http' && type !== 'graphql') throw error;
    const { httpAdapter } = this.adapterHost;
    const response = responseOf(host);
    const answer =
      error instanceof AccessTokensHttpException
        ? {
            status: error.getStatus(),
            body: error.getResponse(),
            challenge: error.challenge,
            retryAfter: error.retryAfter,
            rateLimit: error.rateLimit,
          }
        : toHttpAnswer(error, this.realm);
    // In GraphQL too, on the HTTP answer that carries the operation's: a throttled login's
    // Retry-After is for the client, whichever API it used.
    if (response !== undefined) setAnswerHeaders((name, value) => httpAdapter.setHeader(response, name, value), answer);
    if (type === 'graphql') throw AccessTokensGraphQLError.from(error, this.realm);
    httpAdapter.reply(response, answer.body, answer.status);
  }
}
