import {
  InvalidTokenError,
  AccessTokensError,
  CacheBusUnavailableError,
  InvalidOptionsError,
  type AccessTokensErrorCode,
  type InvalidTokenReason,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidExpiryError,
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
  type RateLimitState,
  AccountBlockedError,
  UserNotFoundError,
  TeamNotFoundError,
  TeamBlockedError,
  TokenOwnerError,
} from '../core/access-tokens.errors.js';

/** How an error is answered over HTTP. */
export interface HttpAnswer {
  status: number;
  /** The `WWW-Authenticate` header, when the answer is a challenge. */
  challenge: string | null;
  /** The `Retry-After` header in seconds, when the answer says to come back. */
  retryAfter: number | null;
  /** The token's rate limit, for the `RateLimit-Policy` and `RateLimit` headers. */
  rateLimit: RateLimitState | null;
  body: { statusCode: number; error: string; reason: string; message: string; revokedReason?: string };
}

/** Seconds a client is told to wait when the database cannot be reached. */
const STORE_RETRY_AFTER = 5;

/** RFC 6750 §3: quoted values may not hold `"` or `\`, nor anything outside printable ASCII. */
function quote(value: string): string {
  return `"${value.replace(/"/g, "'").replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}

function bearer(realm: string, params: Record<string, string> = {}): string {
  return [`Bearer realm=${quote(realm)}`, ...Object.entries(params).map(([k, v]) => `${k}=${quote(v)}`)].join(', ');
}

/**
 * `invalid_token` challenges by realm and message. Refusing garbage is the hot path of an attack, and
 * the messages are a handful of fixed strings, so each challenge is built once.
 */
const invalidTokenChallenges = new Map<string, Map<string, string>>();
const MAX_CHALLENGES = 100;

function invalidTokenChallenge(realm: string, message: string): string {
  let byMessage = invalidTokenChallenges.get(realm);
  if (!byMessage) invalidTokenChallenges.set(realm, (byMessage = new Map()));
  let challenge = byMessage.get(message);
  if (challenge === undefined) {
    challenge = bearer(realm, { error: 'invalid_token', error_description: message });
    if (byMessage.size >= MAX_CHALLENGES) byMessage.clear();
    byMessage.set(message, challenge);
  }
  return challenge;
}

/** Sets the answer's `WWW-Authenticate`, `Retry-After` and rate limit headers, where it has them. */
export function setAnswerHeaders(
  setHeader: (name: string, value: string) => void,
  answer: Pick<HttpAnswer, 'challenge' | 'retryAfter' | 'rateLimit'>,
): void {
  if (answer.challenge !== null) setHeader('WWW-Authenticate', answer.challenge);
  if (answer.retryAfter !== null) setHeader('Retry-After', String(answer.retryAfter));
  if (answer.rateLimit) setRateLimitHeaders(setHeader, answer.rateLimit);
}

/**
 * The `RateLimit-Policy` and `RateLimit` headers of draft-ietf-httpapi-ratelimit-headers (structured
 * fields, one policy named `"token"`): the quota `q` per window `w`, what `r` remains and the
 * seconds `t` until the window ends.
 */
function setRateLimitHeaders(setHeader: (name: string, value: string) => void, state: RateLimitState): void {
  setHeader('RateLimit-Policy', rateLimitPolicyHeader(state.limit, state.window));
  setHeader('RateLimit', rateLimitHeader(state.remaining, state.reset));
}

/** `RateLimit-Policy`: the quota `q` per window of `w` seconds; the same for every answer to a token. */
export function rateLimitPolicyHeader(limit: number, window: number): string {
  return `"token";q=${limit};w=${window}`;
}

/** `RateLimit`: what `r` remains of the quota, and the seconds `t` until the window ends. */
export function rateLimitHeader(remaining: number, reset: number): string {
  return `"token";r=${remaining};t=${reset}`;
}

/** Every error class of the module: what a code's answer receives, as `ErrorOf<code>`. */
type AnyAccessTokensError =
  | InvalidTokenError
  | MissingCredentialsError
  | InvalidRequestError
  | InvalidCredentialsError
  | TooManyAttemptsError
  | NotASessionError
  | InsufficientScopeError
  | InvalidScopeError
  | InvalidExpiryError
  | InvalidTokenNameError
  | InvalidPaginationError
  | TokenNotFoundError
  | TooManyTokensError
  | TokenPolicyError
  | InvalidUsagePolicyError
  | TokenNotLiveError
  | UserNotFoundError
  | AccountBlockedError
  | TeamNotFoundError
  | TeamBlockedError
  | TokenOwnerError
  | StoreUnavailableError
  | CacheBusUnavailableError
  | InvalidOptionsError;

/** The error that carries `code` (for the refusals of a token, the one class with all their codes). */
type ErrorOf<Code extends AccessTokensErrorCode> = AnyAccessTokensError extends infer E
  ? E extends { code: infer K }
    ? Code extends K
      ? E
      : never
    : never
  : never;

/** How one code is answered: the status and `error` name, with the headers some of them add. */
interface Answer<Code extends AccessTokensErrorCode> {
  /** The status, or how the error decides it. */
  status: number | ((error: ErrorOf<Code>) => number);
  /** The body's `error`; default: the code. */
  error?: string;
  challenge?(error: ErrorOf<Code>, realm: string): string;
  /** The `Retry-After` seconds, or `null` for none in this case. */
  retryAfter?(error: ErrorOf<Code>): number | null;
  /** The body's `revokedReason`, when there is one. */
  revokedReason?(error: ErrorOf<Code>): string | null;
  rateLimit?(error: ErrorOf<Code>): RateLimitState | null;
}

const invalidToken: Answer<InvalidTokenReason> = {
  status: 401,
  error: 'invalid_token',
  challenge: (error, realm) => invalidTokenChallenge(realm, error.message),
  revokedReason: (error) => error.revokedReason,
};
const badInput = { status: 400 } as const;
/** Start-up errors: never the answer to a request, so a fault if one gets that far. */
const fault = { status: 500, error: 'internal_error' } as const;

/**
 * The answer to each code, as RFC 6750 §3 says for tokens: 401 `invalid_token`, 403
 * `insufficient_scope`, 400 `invalid_request`, and a bare challenge when no credentials came. The
 * mapped type makes this table complete: a code without its answer does not compile.
 */
const ANSWERS: { readonly [Code in AccessTokensErrorCode]: Answer<Code> } = {
  malformed: invalidToken,
  unknown: invalidToken,
  expired: invalidToken,
  revoked: invalidToken,
  user_blocked: invalidToken,
  blocked: invalidToken,
  paused: invalidToken,
  ip_not_allowed: { status: 403 },
  personal_token_required: { status: 403 },
  team_token_required: { status: 403 },
  rate_limited: {
    status: 429,
    retryAfter: (error) => error.retryAfter ?? 1,
    rateLimit: (error) => error.rateLimit,
  },
  // 429 while a restore of its uses is due (come back then), 403 when none ever is.
  uses_exhausted: {
    status: (error) => (error.retryAfter === null ? 403 : 429),
    retryAfter: (error) => error.retryAfter,
  },
  credentials_missing: {
    status: 401,
    error: 'unauthorized',
    challenge: (error, realm) => error.schemes.map((scheme) => `${scheme} realm=${quote(realm)}`).join(', '),
  },
  invalid_credentials: { status: 401, challenge: (_error, realm) => `Basic realm=${quote(realm)}` },
  invalid_request: {
    status: 400,
    challenge: (error, realm) => bearer(realm, { error: 'invalid_request', error_description: error.message }),
  },
  insufficient_scope: {
    status: 403,
    challenge: (error, realm) =>
      bearer(realm, { error: 'insufficient_scope', error_description: error.message, scope: error.required.join(' ') }),
  },
  invalid_scope: badInput,
  invalid_expiry: badInput,
  invalid_token_name: badInput,
  invalid_pagination: badInput,
  invalid_usage_policy: badInput,
  invalid_metadata: badInput,
  not_a_session: badInput,
  account_blocked: { status: 403 },
  team_blocked: { status: 403 },
  team_not_found: { status: 404 },
  token_not_found: { status: 404 },
  user_not_found: { status: 404 },
  too_many_tokens: { status: 409 },
  token_not_live: { status: 409 },
  too_many_attempts: { status: 429, retryAfter: (error) => error.retryAfter },
  store_unavailable: { status: 503, retryAfter: () => STORE_RETRY_AFTER },
  cache_bus_unavailable: fault,
  invalid_options: fault,
  // The command-line tool's: it prints them, and no request sees them.
  cli_usage: fault,
  cli_setup: fault,
  unknown_user: fault,
};

/** Maps a domain error to its HTTP answer, by its code (`ANSWERS`). */
export function toHttpAnswer(error: AccessTokensError, realm: string): HttpAnswer {
  // Only an error from outside the module (a subclass an app wrote) has a code the table lacks.
  const entry: Answer<AccessTokensErrorCode> = ANSWERS[error.code] ?? fault;
  // The table's entry for a code takes the error of that code: `code` says which class `error` is.
  const typed = error as ErrorOf<AccessTokensErrorCode>;
  const status = typeof entry.status === 'number' ? entry.status : entry.status(typed);
  const body: HttpAnswer['body'] = {
    statusCode: status,
    error: entry.error ?? error.code,
    reason: error.code,
    message: error.message,
  };
  const revokedReason = entry.revokedReason?.(typed);
  if (revokedReason) body.revokedReason = revokedReason;
  return {
    status,
    challenge: entry.challenge?.(typed, realm) ?? null,
    retryAfter: entry.retryAfter?.(typed) ?? null,
    rateLimit: entry.rateLimit?.(typed) ?? null,
    body,
  };
}
