import {
  AccessTokenError,
  AccessTokensError,
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
  UserBlockedError,
  UserNotFoundError,
} from '../core/access-tokens.errors.js';

/** How an error is answered over HTTP. */
export interface HttpAnswer {
  status: number;
  /** The `WWW-Authenticate` header, when the answer is a challenge. */
  challenge: string | null;
  /** The `Retry-After` header in seconds, when the answer says to come back. */
  retryAfter: number | null;
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

/** Sets the answer's `WWW-Authenticate` and `Retry-After` headers, where it has them. */
export function setAnswerHeaders(
  setHeader: (name: string, value: string) => void,
  answer: Pick<HttpAnswer, 'challenge' | 'retryAfter'>,
): void {
  if (answer.challenge !== null) setHeader('WWW-Authenticate', answer.challenge);
  if (answer.retryAfter !== null) setHeader('Retry-After', String(answer.retryAfter));
}

/**
 * Maps a domain error to its HTTP answer, as RFC 6750 §3 says: 401 `invalid_token`, 403
 * `insufficient_scope`, 400 `invalid_request`, and a bare challenge when no credentials came.
 */
export function toHttpAnswer(error: AccessTokensError, realm: string): HttpAnswer {
  const answer = (status: number, errorName: string, challenge: string | null): HttpAnswer => ({
    status,
    challenge,
    retryAfter: null,
    body: { statusCode: status, error: errorName, reason: error.code, message: error.message },
  });
  if (error instanceof AccessTokenError) {
    const result = answer(401, 'invalid_token', invalidTokenChallenge(realm, error.message));
    if (error.revokedReason) result.body.revokedReason = error.revokedReason;
    return result;
  }
  if (error instanceof MissingCredentialsError) {
    return answer(401, 'unauthorized', error.schemes.map((scheme) => `${scheme} realm=${quote(realm)}`).join(', '));
  }
  if (error instanceof InvalidCredentialsError) {
    return answer(401, 'invalid_credentials', `Basic realm=${quote(realm)}`);
  }
  if (error instanceof InvalidRequestError) {
    return answer(
      400,
      'invalid_request',
      bearer(realm, { error: 'invalid_request', error_description: error.message }),
    );
  }
  if (error instanceof InsufficientScopeError) {
    return answer(
      403,
      'insufficient_scope',
      bearer(realm, { error: 'insufficient_scope', error_description: error.message, scope: error.required.join(' ') }),
    );
  }
  if (
    error instanceof InvalidScopeError ||
    error instanceof InvalidExpiryError ||
    error instanceof InvalidTokenNameError ||
    error instanceof InvalidPaginationError ||
    error instanceof NotASessionError
  ) {
    return answer(400, error.code, null);
  }
  if (error instanceof UserBlockedError) {
    return answer(403, error.code, null);
  }
  if (error instanceof TokenNotFoundError || error instanceof UserNotFoundError) {
    return answer(404, error.code, null);
  }
  if (error instanceof TooManyTokensError || error instanceof TokenNotLiveError) {
    return answer(409, error.code, null);
  }
  if (error instanceof TooManyAttemptsError) {
    return { ...answer(429, error.code, null), retryAfter: error.retryAfter };
  }
  if (error instanceof StoreUnavailableError) {
    return { ...answer(503, error.code, null), retryAfter: STORE_RETRY_AFTER };
  }
  return answer(500, 'internal_error', null);
}
