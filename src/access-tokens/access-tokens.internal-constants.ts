/** The validated options with defaults applied (`ResolvedAccessTokensOptions`). */
export const RESOLVED_OPTIONS = Symbol('access-tokens:resolved-options');

/** This instance's verification cache (`VerificationCache<CachedToken>`), or `null` with `cache: false`. */
export const VERIFICATION_CACHE = Symbol('access-tokens:verification-cache');

/** This instance's memory of refused signed tokens (`RefusedTokens`), or `null` with `cache: false`. */
export const REFUSED_TOKENS = Symbol('access-tokens:refused-tokens');
