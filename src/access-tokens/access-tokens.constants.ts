/** Name of the Passport strategy, for `AuthGuard('access-token')` or `AuthGuard(['access-token', ...])`. */
export const ACCESS_TOKEN_STRATEGY = 'access-token';

/** Metadata key under which `@Scopes()` lists a route's scope requirements. */
export const SCOPES_METADATA = 'access-tokens:scopes';

/** Metadata key set by `@Public()` on routes that a global `AccessTokenGuard` lets through. */
export const PUBLIC_ROUTE_METADATA = 'access-tokens:public';

/** Metadata key set by `@AllowPassword()` on routes that also take HTTP Basic user name and password. */
export const PASSWORD_GRANT_METADATA = 'access-tokens:password-grant';

/** Revocation reason recorded by `TokensService.revoke()` and `revokeAll()` unless told otherwise. */
export const REVOKED_BY_USER = 'revoked_by_user';

/** Revocation reason recorded by `TokensService.revokeBySecret()`. */
export const REVOKED_BY_SECRET = 'revoked_by_secret';

/** Revocation reason when a token's user turns out deleted. */
export const USER_DELETED = 'user_deleted';

/** Revocation reason when a token's user is blocked. */
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
