/** Name of the Passport strategy, for `AuthGuard('access-token')` or `AuthGuard(['access-token', ...])`. */
export const ACCESS_TOKEN_STRATEGY = 'access-token';

/** Revocation reason recorded by `TokensService.revoke()` and `revokeAll()` unless told otherwise. */
export const REVOKED_BY_USER = 'revoked_by_user';

/** Revocation reason recorded by `TokensService.revokeBySecret()`. */
export const REVOKED_BY_SECRET = 'revoked_by_secret';

/** Revocation reason when a token's user turns out deleted. */
export const USER_DELETED = 'user_deleted';

/** Revocation reason when a team's token's team turns out deleted. */
export const TEAM_DELETED = 'team_deleted';

/** Revocation reason of a team's tokens when the team's name changes (`teams.revocation.on`). */
export const TEAM_RENAMED = 'team_renamed';

/** Revocation reason when a token's user (or a team's token's team) is blocked. */
export const BLOCKED = 'blocked';

/** Revocation reason when verification finds the user's watched fields changed unseen. */
export const CREDENTIALS_CHANGED = 'credentials_changed';

/** Revocation reason of a token replaced by `TokensService.rotate()`, once its grace period ends. */
export const ROTATED = 'rotated';

/** Revocation reason of a refresh token that was used, and of the access token it replaced. */
export const REFRESHED = 'refreshed';

/** Revocation reason of a whole session whose used refresh token was presented again. */
export const REFRESH_TOKEN_REUSED = 'refresh_token_reused';

/** Revocation reason of a session ended by `SessionsService.end()`. */
export const LOGGED_OUT = 'logged_out';

/** Revocation reason of a user's tokens when the user's name changes (`revocation.on`). */
export const USERNAME_CHANGED = 'username_changed';

/** Revocation reason of a user's tokens when the user's password hash changes (`revocation.on`). */
export const PASSWORD_CHANGED = 'password_changed';

/**
 * Why a token was revoked: the `revokedReason` of a 401 and of `AccessTokenView`, and the `reason`
 * of the `revoked` event. An app records reasons of its own through `revocation.shouldRevoke` and
 * `TokensService.revoke()`; these are the module's.
 *
 * @example if (view.revokedReason === REVOCATION_REASONS.PASSWORD_CHANGED) notifyUser(view);
 */
export const REVOCATION_REASONS = Object.freeze({
  REVOKED_BY_USER,
  REVOKED_BY_SECRET,
  USER_DELETED,
  TEAM_DELETED,
  TEAM_RENAMED,
  BLOCKED,
  USERNAME_CHANGED,
  PASSWORD_CHANGED,
  CREDENTIALS_CHANGED,
  ROTATED,
  REFRESHED,
  REFRESH_TOKEN_REUSED,
  LOGGED_OUT,
} as const);

/** One of the module's revocation reasons (`REVOCATION_REASONS`). */
export type RevocationReason = (typeof REVOCATION_REASONS)[keyof typeof REVOCATION_REASONS];

/**
 * The name of each of the module's events on the app's `EventEmitter2` (`@nestjs/event-emitter`),
 * for `@OnEvent()`: `access-tokens.` and the event's name as `AccessTokenEvents.on()` takes it. Their
 * payloads are `AccessTokenEventMap`'s. With the emitter's `wildcard: true`, `access-tokens.*`
 * receives them all.
 *
 * @example
 * @OnEvent(ACCESS_TOKEN_EVENTS.revoked)
 * onRevoked({ userId, tokenIds, reason }: AccessTokenEventMap['revoked']) { ... }
 */
export const ACCESS_TOKEN_EVENTS = Object.freeze({
  issued: 'access-tokens.issued',
  revoked: 'access-tokens.revoked',
  rotated: 'access-tokens.rotated',
  paused: 'access-tokens.paused',
  resumed: 'access-tokens.resumed',
  first_used: 'access-tokens.first_used',
  canary_used: 'access-tokens.canary_used',
  verification_failed: 'access-tokens.verification_failed',
  expiring: 'access-tokens.expiring',
  pruned: 'access-tokens.pruned',
} as const);
