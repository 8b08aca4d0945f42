import type { TokenMetadata } from './storage/access-token.entity.js';
import type { RateLimit, TokenUsagePolicy } from './usage/usage-policy.js';

/** A user's primary key, as the app's user entity has it. */
export type UserId = string | number;

/**
 * What the module shows of a stored token: never the raw token, never its hash.
 * `hint` (`nat_…x9Qz`) is enough to recognise it in a list.
 */
export interface AccessTokenView {
  id: string;
  /** A personal token, a team's token, or the access token of a login session. */
  kind: 'personal' | 'team' | 'session';
  /** Who made it, for a team's token: the member's user id; `null` otherwise. */
  createdBy: string | null;
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
  /** `false` while paused: refused as `paused` until resumed. */
  enabled: boolean;
  /** Requests per window, or `null`. */
  rateLimit: RateLimit | null;
  /** Requests it may make in all (per `usesPeriod`), or `null`. */
  maxUses: number | null;
  /** What is left of `maxUses` (as of the read: a verified token's view is as of its verification), or `null`. */
  usesLeft: number | null;
  /** Seconds after which its uses are restored to `maxUses`, or `null`. */
  usesPeriod: number | null;
  /** When its uses are next restored (at its first use from then on), or `null`. */
  usesRenewAt: Date | null;
  /** The addresses and CIDR ranges it may be used from, or `null` for any. */
  allowedIps: string[] | null;
  /** The app's own data about the token, as given on issue or update; `null` for none. */
  metadata: TokenMetadata | null;
  /** The client address of the last recorded use (recorded with `lastUsedAt`), or `null`. */
  lastUsedIp: string | null;
  /** The `User-Agent` of the last recorded use, bounded, or `null`. */
  lastUsedUserAgent: string | null;
  /**
   * When each of its scopes last granted a request (was the narrowest of its scopes covering a
   * route's `@Scopes()`), by scope; a scope never exercised is absent. Recorded with the uses, at
   * most once per `tokens.lastUsedIntervalSeconds`, so accurate to about that.
   */
  scopesUsedAt: Record<string, Date>;
  /**
   * The least-privilege hints: its scopes not exercised in the last `tokens.unusedScopeSeconds`
   * (default 90 days), or never (a token younger than that included), in its order; candidates to
   * narrow it to. As of the view: a verified token's, as of its verification.
   */
  unusedScopes: string[];
  /** A canary: it never authenticates, and any use of it raises `canary_used`. */
  canary: boolean;
}

/** What `TokensService.issue()` takes: a name, scopes, a lifetime and a usage policy. */
export interface IssueTokenInput extends TokenUsagePolicy {
  /** What the user calls it ("CI on my laptop"); 1 to 100 characters. */
  name: string;
  /** Defaults to `['*']`: everything the user may do at the time of each request. */
  scopes?: readonly string[];
  /** Lifetime in seconds; `null` for no expiry (only when `tokens.maxLifetimeSeconds` is `null`). Default `tokens.lifetimeSeconds`. */
  expiresIn?: number | null;
  /**
   * The app's own data about the token, returned in its view (lists, `@CurrentToken()`): a JSON
   * object of at most 4096 bytes, nested at most 5 deep (`InvalidMetadataError` otherwise).
   */
  metadata?: TokenMetadata | null;
  /**
   * Issues a canary: a token that never authenticates. Any use of it is answered exactly as an
   * unknown token and raises `canary_used` with the caller's address and user agent. A canary
   * never expires (an `expiresIn` other than `null` is refused) and cannot be rotated; it is revoked like any token.
   */
  canary?: boolean;
}

/** What `TokensService.update()` changes of a personal token: what is given, the rest as it was. */
export interface UpdateTokenInput extends TokenUsagePolicy {
  /** A new name, 1 to 100 characters. */
  name?: string;
  /** `false` pauses the token (refused as `paused`), `true` resumes it. Revocation, unlike a pause, is final. */
  enabled?: boolean;
  /** New metadata, replacing the old whole; `null` removes it. */
  metadata?: TokenMetadata | null;
  /**
   * Fewer scopes: each must be covered by the token's own (`users:read` for a token with
   * `users:*`), never more than it has. What `unusedScopes` suggests leaving out.
   */
  scopes?: readonly string[];
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

/** Who a verified token acts as: a user (personal tokens, sessions) or a team (a team's token). */
export interface TokenOwner<Entity extends object = object> {
  readonly kind: 'user' | 'team';
  /** The user's row, or the team's. */
  readonly entity: Entity;
}

/**
 * A token that passed verification, with its owner and what it may do now. Frozen: with the cache
 * on, requests with the same token share one.
 */
export interface VerifiedAccessToken<User extends object = object> {
  /**
   * The owner's row: the user of a personal token or session, and the team of a team's token (read
   * `owner.kind` before taking it for a user; `@CurrentUser()` gives `undefined` for a team's token).
   */
  readonly user: User;
  /** Who the token acts as, and of which kind. */
  readonly owner: TokenOwner<User>;
  readonly accessToken: Readonly<AccessTokenView>;
  /** The token's scopes intersected with the user's current permissions. */
  readonly scopes: readonly string[];
}

/** The parts of an HTTP request (Express or Fastify) the module reads and writes. */
export interface AuthenticatableRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: unknown;
  /** The client's address, as Express (`trust proxy`) and Fastify (`trustProxy`) report it. */
  ip?: string;
  user?: unknown;
}

/**
 * What verifying a token reads of the request it came with: its address (a usage policy's allowed
 * addresses, events) and, if given, its headers (the `User-Agent` a canary's alert reports).
 */
export type PresentingRequest = Pick<AuthenticatableRequest, 'ip'> & Partial<Pick<AuthenticatableRequest, 'headers'>>;
