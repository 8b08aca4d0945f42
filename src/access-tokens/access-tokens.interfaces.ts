/** A user's primary key, as the app's user entity has it. */
export type UserId = string | number;

/**
 * What the module shows of a stored token: never the raw token, never its hash.
 * `hint` (`nat_…x9Qz`) is enough to recognise it in a list.
 */
export interface AccessTokenView {
  id: string;
  /** A personal token, or the access token of a login session. */
  kind: 'personal' | 'session';
  /** The login session, for `kind: 'session'`. */
  sessionId: string | null;
  name: string;
  scopes: string[];
  hint: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** What `TokensService.issue()` takes. */
export interface IssueTokenInput {
  /** What the user calls it ("CI on my laptop"); 1 to 100 characters. */
  name: string;
  /** Defaults to `['*']`: everything the user may do at the time of each request. */
  scopes?: readonly string[];
  /** Lifetime in seconds; `null` for no expiry (only when `tokens.maxLifetimeSeconds` is `null`). Default `tokens.lifetimeSeconds`. */
  expiresIn?: number | null;
}

/** Limits on a token being issued by the holder of another token. */
export interface IssueTokenContext {
  /** The scopes of the presenting token: the new token may not go beyond them, and defaults to them. */
  within?: readonly string[];
}

/** A newly issued token: `token` is the raw token, shown here and never again. */
export interface IssuedAccessToken {
  token: string;
  accessToken: AccessTokenView;
}

/** What `TokensService.page()` takes. */
export interface ListTokensOptions {
  /** At most this many tokens, 1 to 100. Default 50. */
  limit?: number;
  /** Where the previous page ended: its `nextCursor`. Default: the first page. */
  cursor?: string | null;
  /**
   * `'live'`: only what authenticates now (neither revoked nor expired); `'all'`: revoked and
   * expired personal tokens too, until pruned. Default `'all'`.
   */
  status?: 'live' | 'all';
}

/** A page of `TokensService.page()`, newest first. */
export interface TokenPage {
  tokens: AccessTokenView[];
  /** Pass it as `cursor` for the next page; `null` on the last one. */
  nextCursor: string | null;
}

/** What `TokensService.rotate()` takes. */
export interface RotateTokenOptions {
  /** Seconds the old token keeps working; default 0. */
  graceSeconds?: number;
}

/** A login session's pair of tokens; both are shown here and never again. */
export interface SessionTokens {
  /** Authenticates requests for `expiresIn` seconds. */
  accessToken: string;
  /** Gets a new pair once, from `SessionsService.refresh()`. */
  refreshToken: string;
  expiresIn: number;
  /** The session's access token, as `TokensService.list()` shows it. */
  session: AccessTokenView;
  userId: string;
}

/**
 * A token that passed verification, with its user and what it may do now. Frozen: with the cache
 * on, requests with the same token share one.
 */
export interface VerifiedAccessToken<User extends object = object> {
  readonly user: User;
  readonly accessToken: Readonly<AccessTokenView>;
  /** The token's scopes intersected with the user's current permissions. */
  readonly scopes: readonly string[];
}

/** The parts of an HTTP request (Express or Fastify) the module reads and writes. */
export interface AuthenticatableRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: unknown;
  user?: unknown;
}
