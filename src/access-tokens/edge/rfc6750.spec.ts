import { describe, expect, it } from '@jest/globals';
import {
  InvalidTokenError,
  AccessTokensError,
  CacheBusUnavailableError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidExpiryError,
  InvalidOptionsError,
  InvalidPaginationError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTokenNameError,
  MissingCredentialsError,
  NotASessionError,
  StoreUnavailableError,
  TokenNotFoundError,
  TokenNotLiveError,
  TooManyAttemptsError,
  TooManyTokensError,
  TokenPolicyError,
  InvalidUsagePolicyError,
  InvalidMetadataError,
  AccountBlockedError,
  UserNotFoundError,
  type AccessTokensErrorCode,
} from '../core/access-tokens.errors.js';
import { toHttpAnswer } from './rfc6750.js';

/** One error of every code the module's request path can answer, with what a client sees. */
const cases: [AccessTokensError, number, string, string | null, number | null][] = [
  [new InvalidTokenError('malformed'), 401, 'invalid_token', 'Bearer realm="api", error="invalid_token"', null],
  [new InvalidTokenError('unknown'), 401, 'invalid_token', 'Bearer realm="api", error="invalid_token"', null],
  [new InvalidTokenError('expired', 'idle'), 401, 'invalid_token', 'Bearer realm="api", error="invalid_token"', null],
  [
    new InvalidTokenError('revoked', 'rotated'),
    401,
    'invalid_token',
    'Bearer realm="api", error="invalid_token"',
    null,
  ],
  [new InvalidTokenError('user_blocked'), 401, 'invalid_token', 'Bearer realm="api", error="invalid_token"', null],
  [new InvalidTokenError('paused'), 401, 'invalid_token', 'Bearer realm="api", error="invalid_token"', null],
  [new TokenPolicyError('ip_not_allowed'), 403, 'ip_not_allowed', null, null],
  [
    new TokenPolicyError('rate_limited', 17, { limit: 100, window: 60, remaining: 0, reset: 17 }),
    429,
    'rate_limited',
    null,
    17,
  ],
  [new TokenPolicyError('uses_exhausted'), 403, 'uses_exhausted', null, null],
  [new TokenPolicyError('uses_exhausted', 3000), 429, 'uses_exhausted', null, 3000],
  [
    new InvalidUsagePolicyError('maxUses must be a whole number from 1 to 2147483647'),
    400,
    'invalid_usage_policy',
    null,
    null,
  ],
  [new InvalidMetadataError('metadata may be at most 4096 bytes of JSON (UTF-8)'), 400, 'invalid_metadata', null, null],
  [
    new MissingCredentialsError(['Bearer', 'Basic']),
    401,
    'unauthorized',
    'Bearer realm="api", Basic realm="api"',
    null,
  ],
  [new InvalidCredentialsError(), 401, 'invalid_credentials', 'Basic realm="api"', null],
  [new InvalidRequestError('two tokens'), 400, 'invalid_request', 'Bearer realm="api", error="invalid_request"', null],
  [
    new InsufficientScopeError(['a', 'b'], 'allOf'),
    403,
    'insufficient_scope',
    'Bearer realm="api", error="insufficient_scope"',
    null,
  ],
  [new InvalidScopeError('x'), 400, 'invalid_scope', null, null],
  [new InvalidExpiryError('x'), 400, 'invalid_expiry', null, null],
  [new InvalidTokenNameError(), 400, 'invalid_token_name', null, null],
  [new InvalidPaginationError('x'), 400, 'invalid_pagination', null, null],
  [new NotASessionError('x'), 400, 'not_a_session', null, null],
  [new AccountBlockedError(1), 403, 'account_blocked', null, null],
  [new TokenNotFoundError('t'), 404, 'token_not_found', null, null],
  [new UserNotFoundError(1), 404, 'user_not_found', null, null],
  [new TooManyTokensError(3), 409, 'too_many_tokens', null, null],
  [new TokenNotLiveError('t'), 409, 'token_not_live', null, null],
  [new TokenNotLiveError('t', true), 409, 'token_not_live', null, null],
  [new TooManyAttemptsError(42), 429, 'too_many_attempts', null, 42],
  [new StoreUnavailableError(), 503, 'store_unavailable', null, 5],
  [new CacheBusUnavailableError('x'), 500, 'internal_error', null, null],
  [new InvalidOptionsError('x'), 500, 'internal_error', null, null],
];

describe('the HTTP answer of each error code', () => {
  it.each(cases.map((entry) => [entry[0].code, ...entry] as const))(
    '%s',
    (code, error, status, errorName, challenge, retryAfter) => {
      const answer = toHttpAnswer(error, 'api');
      expect({
        status: answer.status,
        error: answer.body.error,
        reason: answer.body.reason,
        challenge: answer.challenge?.replace(/, (error_description|scope)="[^"]*"/g, '') ?? null,
        retryAfter: answer.retryAfter,
      }).toEqual({ status, error: errorName, reason: code, challenge, retryAfter });
      expect(answer.body).toMatchObject({ statusCode: status, message: error.message });
    },
  );

  it("gives a rate-limited refusal the token's rate limit, for the RateLimit headers", () => {
    const state = { limit: 100, window: 60, remaining: 0, reset: 17 };
    expect(toHttpAnswer(new TokenPolicyError('rate_limited', 17, state), 'api').rateLimit).toEqual(state);
    expect(toHttpAnswer(new TokenPolicyError('uses_exhausted', 5), 'api').rateLimit).toBeNull();
  });

  it('says why a revoked token was revoked, and which scopes a route needs', () => {
    expect(toHttpAnswer(new InvalidTokenError('revoked', 'password_changed'), 'api').body.revokedReason).toBe(
      'password_changed',
    );
    expect(toHttpAnswer(new InsufficientScopeError(['a', 'b'], 'anyOf'), 'api').challenge).toContain('scope="a b"');
  });

  it('answers 500 for an error class of the app that extends the base with a code of its own', () => {
    class AppError extends AccessTokensError {
      readonly code = 'app_error' as unknown as AccessTokensErrorCode;
    }
    expect(toHttpAnswer(new AppError('x'), 'api')).toMatchObject({ status: 500, body: { error: 'internal_error' } });
  });

  it('is a table the compiler checks: a code without an answer, or an error whose code is not in the union, does not compile', () => {
    // What the table's type demands (`edge/rfc6750.ts`), shown here where tsc checks it (npm run lint).
    // @ts-expect-error -- every code needs its entry
    const incomplete: { [Code in AccessTokensErrorCode]: unknown } = { malformed: null };
    class Unlisted extends AccessTokensError {
      // @ts-expect-error -- a code must be one of AccessTokensErrorCode
      readonly code = 'not_listed';
    }
    expect([incomplete, Unlisted]).toHaveLength(2);
  });
});
