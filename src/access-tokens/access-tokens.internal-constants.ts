/** The validated options with defaults applied (`ResolvedAccessTokensOptions`). */
export const RESOLVED_OPTIONS = Symbol('access-tokens:resolved-options');

/** Metadata key under which `@Scopes()` lists a route's scope requirements. */
export const SCOPES_METADATA = 'access-tokens:scopes';

/** Metadata key set by `@Public()` on routes that a global `AccessTokenGuard` lets through. */
export const PUBLIC_ROUTE_METADATA = 'access-tokens:public';

/** Metadata key set by `@AllowPassword()` on routes that also take HTTP Basic user name and password. */
export const PASSWORD_GRANT_METADATA = 'access-tokens:password-grant';

/** This instance's verification cache (`VerificationCache<CachedToken>`), or `null` with `cache: false`. */
export const VERIFICATION_CACHE = Symbol('access-tokens:verification-cache');

/** This instance's memory of refused signed tokens (`RefusedTokens`), or `null` with `cache: false`. */
export const REFUSED_TOKENS = Symbol('access-tokens:refused-tokens');

/** Metadata key set by `@TokenOwners()`: the kinds of owner whose tokens a route takes. */
export const TOKEN_OWNERS_METADATA = 'access-tokens:token-owners';

/** Metadata key on the ready-made routes' handlers: the shape of their answer (`RouteAnswer`), which `/swagger` documents. */
export const ROUTE_ANSWER_METADATA = 'access-tokens:route-answer';
