/** The validated options with defaults applied (`ResolvedAccessTokensOptions`). */
export const RESOLVED_OPTIONS = Symbol('access-tokens:resolved-options');

/** Metadata key under which `@Scopes()` lists a route's scope requirements. */
export const SCOPES_METADATA = 'access-tokens:scopes';

/** Metadata key set by `@Public()` on routes that a global `AccessTokenGuard` lets through. */
export const PUBLIC_ROUTE_METADATA = 'access-tokens:public';

/** Metadata key set by `@AllowPassword()` on routes that also take HTTP Basic user name and password. */
export const PASSWORD_GRANT_METADATA = 'access-tokens:password-grant';
