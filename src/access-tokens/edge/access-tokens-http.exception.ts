import { HttpException } from '@nestjs/common';
import {
  AccessTokensError,
  InsufficientScopeError,
  type RateLimitState,
  type AccessTokensErrorCode,
} from '../core/access-tokens.errors.js';
import { GRAPHQL_ERROR_CODES } from '../core/graphql-codes.js';
import { toHttpAnswer, type HttpAnswer } from './rfc6750.js';

/**
 * A refusal at the HTTP edge (a guard, the Passport strategy): an `HttpException` with the RFC 6750
 * status and JSON body of the domain error it wraps (or 503 when the database cannot be reached), so that any exception filter that honours
 * `HttpException` (Nest's own, an app's catch-all) answers 401, 403 or 400 with that body, never 500.
 * `AccessTokensExceptionFilter` adds the `WWW-Authenticate` challenge.
 *
 * @example
 * // In an app's own filter: the module's reason, beside the status
 * if (exception instanceof AccessTokensHttpException) logger.warn(exception.code);
 */
export class AccessTokensHttpException extends HttpException {
  /** The domain error's code: `malformed`, `expired`, `revoked`, `insufficient_scope`, ... */
  readonly code: AccessTokensErrorCode;
  /** The `WWW-Authenticate` header of the answer, or `null`. */
  readonly challenge: string | null;
  /** The `Retry-After` header of the answer in seconds (429, 503), or `null`. */
  readonly retryAfter: number | null;
  /** The token's rate limit, for the `RateLimit-Policy` and `RateLimit` headers, or `null`. */
  readonly rateLimit: RateLimitState | null;
  /**
   * What a GraphQL server shows of the refusal: graphql-js copies an error's `extensions` onto the
   * GraphQL error it reports, so a guard on a resolver refuses with `UNAUTHENTICATED` (and the
   * `reason`), `FORBIDDEN` (and the `scope`), `BAD_REQUEST` or `TOO_MANY_REQUESTS` (and
   * `retryAfter`, in seconds), never `INTERNAL_SERVER_ERROR`.
   */
  readonly extensions: Readonly<Record<string, string | number>>;

  /**
   * @param error the domain error, kept as `cause`.
   * @param realm the realm of the challenge.
   */
  constructor(error: AccessTokensError, realm: string) {
    const answer: HttpAnswer = toHttpAnswer(error, realm);
    // A refusal is an answer, not a fault: no stack, as for the domain errors it wraps.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(answer.body, answer.status, { cause: error });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = error.code;
    this.challenge = answer.challenge;
    this.retryAfter = answer.retryAfter;
    this.rateLimit = answer.rateLimit;
    this.extensions = {
      code: GRAPHQL_ERROR_CODES[answer.status] ?? 'INTERNAL_SERVER_ERROR',
      reason: error.code,
      ...(error instanceof InsufficientScopeError ? { scope: error.required.join(' ') } : {}),
      ...(answer.body.revokedReason ? { revokedReason: answer.body.revokedReason } : {}),
      ...(answer.retryAfter !== null && answer.status === 429 ? { retryAfter: answer.retryAfter } : {}),
    };
  }

  /** The domain error, or `error` itself when it is not one of this module's. */
  static from(error: unknown, realm: string): unknown {
    return error instanceof AccessTokensError ? new AccessTokensHttpException(error, realm) : error;
  }
}

/**
 * A refusal or domain error as it leaves a GraphQL resolver: graphql-js copies `extensions` onto
 * the error it reports (`UNAUTHENTICATED`, `FORBIDDEN`, `BAD_REQUEST`, `NOT_FOUND`, `CONFLICT`,
 * `SERVICE_UNAVAILABLE`, with the `reason`). Not an `HttpException`: Apollo's default error
 * formatter rewrites one of any status but 400, 401 and 403 as `INTERNAL_SERVER_ERROR`.
 */
export class AccessTokensGraphQLError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  /** The domain error's code, as in `extensions.reason`. */
  readonly code: AccessTokensErrorCode;
  /** The HTTP status the refusal has over HTTP. */
  readonly status: number;
  /** What the GraphQL server shows: `code`, `reason`, and `scope`, `revokedReason` or `retryAfter` where they apply. */
  readonly extensions: Readonly<Record<string, string | number>>;

  constructor(exception: AccessTokensHttpException) {
    super(exception.message, { cause: exception.cause });
    this.code = exception.code;
    this.status = exception.getStatus();
    this.extensions = exception.extensions;
  }

  /** What a resolver throws for `error`: this for the module's errors, `error` itself otherwise. */
  static from(error: unknown, realm: string): unknown {
    const exception = error instanceof AccessTokensError ? new AccessTokensHttpException(error, realm) : error;
    return exception instanceof AccessTokensHttpException ? new AccessTokensGraphQLError(exception) : exception;
  }
}
