/**
 * Every error the module throws extends {@link AccessTokensError} and carries a stable `code` from
 * {@link AccessTokensErrorCode}. They are plain domain errors: the mapping to HTTP (status, RFC 6750
 * `WWW-Authenticate`) happens only at the edge, by a table from code to answer (`edge/rfc6750.ts`)
 * that the compiler checks is complete.
 */

/**
 * Why a presented token was refused: the `reason` of a 401 `invalid_token`. `user_blocked` is a
 * personal token's user, `blocked` a team token's team.
 */
export type InvalidTokenReason =
  'malformed' | 'unknown' | 'expired' | 'revoked' | 'user_blocked' | 'blocked' | 'paused';

/** Why a valid token was refused by the route for its kind of owner: the `reason` of a 403. */
export type TokenOwnerReason = 'personal_token_required' | 'team_token_required';

/** Why a valid token was refused by its own usage policy: the `reason` of a 403 or 429. */
export type TokenPolicyReason = 'ip_not_allowed' | 'rate_limited' | 'uses_exhausted';

/**
 * Every code an error of this module can carry, and the `reason` field of its HTTP answer. A new
 * error needs its code here, and the code needs its answer in the table of `edge/rfc6750.ts`: the
 * compiler refuses either one missing.
 */
export type AccessTokensErrorCode =
  | InvalidTokenReason
  | TokenPolicyReason
  | TokenOwnerReason
  | 'credentials_missing'
  | 'invalid_request'
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'not_a_session'
  | 'insufficient_scope'
  | 'invalid_scope'
  | 'invalid_expiry'
  | 'invalid_token_name'
  | 'invalid_pagination'
  | 'invalid_usage_policy'
  | 'invalid_metadata'
  | 'token_not_found'
  | 'too_many_tokens'
  | 'token_not_live'
  | 'user_not_found'
  | 'account_blocked'
  | 'team_not_found'
  | 'team_blocked'
  | 'store_unavailable'
  | 'cache_bus_unavailable'
  | 'invalid_options'
  | 'cli_usage'
  | 'cli_setup'
  | 'unknown_user';

/** The base of every error the module throws; `code` says which. */
export abstract class AccessTokensError extends Error {
  /**
   * Whether instances capture a stack trace. The errors that refuse a request do not: they are
   * answers, not faults, nobody reads their stack, and capturing one costs more than verifying a
   * cached token, which would make garbage dearer to refuse than a valid token to accept.
   */
  protected static readonly capturesStack: boolean = true;

  /** Stable, machine-readable identifier of the failure. */
  abstract readonly code: AccessTokensErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    const limit = Error.stackTraceLimit;
    if (!(new.target as unknown as typeof AccessTokensError).capturesStack) Error.stackTraceLimit = 0;
    try {
      super(message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = new.target.name;
  }
}

const ACCESS_TOKEN_MESSAGES: Record<InvalidTokenReason, string> = {
  malformed: 'The access token is malformed: wrong prefix, length, alphabet, checksum or signature',
  unknown: 'The access token is unknown',
  expired: 'The access token expired',
  revoked: 'The access token was revoked',
  user_blocked: 'The user is blocked',
  blocked: "The access token's team is blocked",
  paused: 'The access token is paused: its owner can resume it',
};

/**
 * A presented access token cannot be used. `code` says why, and `detail` more: for `revoked`, what
 * revoked it (`revoked_by_user`, `password_changed`, ..., also in `revokedReason`); for `expired`,
 * `idle` when it went unused too long.
 */
export class InvalidTokenError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  /** What revoked the token, for `revoked`. */
  readonly revokedReason: string | null;

  constructor(
    readonly code: InvalidTokenReason,
    readonly detail: string | null = null,
  ) {
    super(detail ? `${ACCESS_TOKEN_MESSAGES[code]} (${detail})` : ACCESS_TOKEN_MESSAGES[code]);
    this.revokedReason = code === 'revoked' ? detail : null;
  }
}

/** A token's rate limit as a refusal or a response reports it (draft-ietf-httpapi-ratelimit-headers). */
export interface RateLimitState {
  /** Requests allowed per window. */
  readonly limit: number;
  /** The window, in seconds. */
  readonly window: number;
  /** Requests left in the current window. */
  readonly remaining: number;
  /** Whole seconds until the current window ends. */
  readonly reset: number;
}

const POLICY_MESSAGES: Record<TokenPolicyReason, string> = {
  ip_not_allowed: 'The access token may not be used from this address',
  rate_limited: 'The access token is over its rate limit',
  uses_exhausted: 'The access token has no uses left',
};

/**
 * A valid token that its own usage policy refuses now: from an address outside its `allowedIps`
 * (403), over its `rateLimit` (429 with `Retry-After` and the `RateLimit` headers), or with no
 * uses left of its `maxUses` (403, or 429 with `Retry-After` when its uses are restored later).
 */
export class TokenPolicyError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  /**
   * @param retryAfter whole seconds until the token may be used again, if it will be.
   * @param rateLimit the rate limit's state, for `rate_limited`.
   */
  constructor(
    readonly code: TokenPolicyReason,
    readonly retryAfter: number | null = null,
    readonly rateLimit: RateLimitState | null = null,
  ) {
    super(
      retryAfter === null
        ? POLICY_MESSAGES[code]
        : `${POLICY_MESSAGES[code]}: try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}`,
    );
  }
}

/** A usage policy given to `issue()` or `update()` cannot be: a limit of 0, an address that is not one, ... */
export class InvalidUsagePolicyError extends AccessTokensError {
  readonly code = 'invalid_usage_policy';
}

/**
 * Token metadata given to `issue()` or `update()` cannot be stored: not a JSON object, too big,
 * nested too deep, a key too long or reserved, a string with a control character. The message
 * names the value at fault and the limit; nothing is changed.
 */
export class InvalidMetadataError extends AccessTokensError {
  readonly code = 'invalid_metadata';
}

/** The request carries no credentials at all. */
export class MissingCredentialsError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  readonly code = 'credentials_missing';

  /** @param schemes the authentication schemes to offer in the challenge. */
  constructor(readonly schemes: readonly ('Bearer' | 'Basic')[] = ['Bearer']) {
    super('Authentication is required: send an access token as "Authorization: Bearer <token>"');
  }
}

/** The credentials are not well-formed HTTP (a broken header, a token sent two ways at once). */
export class InvalidRequestError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  readonly code = 'invalid_request';
}

/** A user name and password were presented and did not match. */
export class InvalidCredentialsError extends AccessTokensError {
  readonly code = 'invalid_credentials';

  constructor() {
    super('Invalid user name or password');
  }
}

/**
 * Too many password attempts for the account, or from the client, within the throttling window;
 * answered 429 with `Retry-After`. Thrown before the password is looked at, and the same whether
 * the account exists or not.
 */
export class TooManyAttemptsError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  readonly code = 'too_many_attempts';

  /** @param retryAfter whole seconds until an attempt is counted again. */
  constructor(readonly retryAfter: number) {
    super(`Too many password attempts: try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}`);
  }
}

/** A request that only a login session can make (logging out) came with a personal token. */
export class NotASessionError extends AccessTokensError {
  readonly code = 'not_a_session';
}

/** The token is valid but its effective scopes do not satisfy the route. */
export class InsufficientScopeError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  readonly code = 'insufficient_scope';

  /**
   * @param required the scopes the route asks for.
   * @param mode whether all of `required` are needed, or any one of them.
   */
  constructor(
    readonly required: readonly string[],
    readonly mode: 'allOf' | 'anyOf',
  ) {
    super(
      `The access token lacks the required scope: needs ${mode === 'allOf' ? 'all' : 'one'} of ${required.join(', ')}`,
    );
  }
}

/**
 * A valid token whose kind of owner the route does not take (`@TokenOwners()`): a team's token on a
 * route for personal tokens (every route without `@TokenOwners()`), or a personal token on a route
 * for teams' tokens only. Answered 403.
 */
export class TokenOwnerError extends AccessTokensError {
  protected static override readonly capturesStack = false;

  constructor(readonly code: TokenOwnerReason) {
    super(
      code === 'personal_token_required'
        ? "This route takes personal tokens, not a team's token"
        : "This route takes a team's token, not a personal token",
    );
  }
}

/** A scope is not well-formed, or is beyond what the user or the presenting token may grant. */
export class InvalidScopeError extends AccessTokensError {
  readonly code = 'invalid_scope';
}

/** A requested lifetime is not a positive whole number of seconds, or exceeds `tokens.maxLifetimeSeconds`. */
export class InvalidExpiryError extends AccessTokensError {
  readonly code = 'invalid_expiry';
}

/** A token name is empty, longer than 100 characters, or holds control characters. */
export class InvalidTokenNameError extends AccessTokensError {
  readonly code = 'invalid_token_name';

  constructor() {
    super('A token name must be 1 to 100 characters, not only spaces, with no control characters');
  }
}

/** A page of tokens was asked for with a limit, cursor or status that cannot be. */
export class InvalidPaginationError extends AccessTokensError {
  readonly code = 'invalid_pagination';
}

/** No token with that id belongs to that user. */
export class TokenNotFoundError extends AccessTokensError {
  readonly code = 'token_not_found';

  constructor(readonly tokenId: string) {
    super(`No access token ${tokenId} belongs to this user`);
  }
}

/** The user already holds `tokens.maxPerUser` live tokens. */
export class TooManyTokensError extends AccessTokensError {
  readonly code = 'too_many_tokens';

  constructor(readonly limit: number) {
    super(`A user may hold at most ${limit} live tokens: revoke one before creating another`);
  }
}

/** The token is revoked or expired, or a canary, so it cannot be rotated. */
export class TokenNotLiveError extends AccessTokensError {
  readonly code = 'token_not_live';

  /** @param canary whether the token is a canary, which never authenticates and so is never rotated. */
  constructor(
    readonly tokenId: string,
    canary = false,
  ) {
    super(
      canary
        ? `Token ${tokenId} is a canary, which never authenticates: it is not rotated (revoke it, or issue another canary)`
        : `Token ${tokenId} is revoked or expired: create a new one instead of rotating it`,
    );
  }
}

/** No user with that id exists. */
export class UserNotFoundError extends AccessTokensError {
  readonly code = 'user_not_found';

  constructor(readonly userId: string | number) {
    super(`No user with id ${String(userId)}`);
  }
}

/**
 * A token or login session was to be issued to a blocked user (the app checked its password,
 * then asked for a token): answered 403 `account_blocked`, with no challenge, since the client sent
 * no token that could be at fault. (A token of a blocked user is refused 401 `user_blocked`.)
 */
export class AccountBlockedError extends AccessTokensError {
  readonly code = 'account_blocked';

  constructor(readonly userId: string | number) {
    super('The user is blocked: no token or session is issued to a blocked user until it is unblocked');
  }
}

/** No team with that id: a team's token was to be issued, listed or revoked for it. */
export class TeamNotFoundError extends AccessTokensError {
  readonly code = 'team_not_found';

  constructor(readonly teamId: string | number) {
    super(`No team with id ${String(teamId)}`);
  }
}

/** A token was to be issued to a blocked team: answered 403 `team_blocked`. (A token of a blocked team is refused 401 `blocked`.) */
export class TeamBlockedError extends AccessTokensError {
  readonly code = 'team_blocked';

  constructor(readonly teamId: string | number) {
    super('The team is blocked: no token is issued to a blocked team until it is unblocked');
  }
}

/** The database cannot be reached now; answered 503 with `Retry-After`. `cause` is the driver's error. */
export class StoreUnavailableError extends AccessTokensError {
  readonly code = 'store_unavailable';

  constructor(options?: { cause?: unknown }) {
    super('The token store cannot be reached: try again shortly', options);
  }
}

/** The cache invalidation bus (Redis, PostgreSQL) cannot be reached at start-up. */
export class CacheBusUnavailableError extends AccessTokensError {
  readonly code = 'cache_bus_unavailable';
}

/** `AccessTokensModule` options are wrong; raised at start-up with what to change. */
export class InvalidOptionsError extends AccessTokensError {
  readonly code = 'invalid_options';

  constructor(message: string, options?: { cause?: unknown }) {
    super(`AccessTokensModule: ${message}`, options);
  }
}
