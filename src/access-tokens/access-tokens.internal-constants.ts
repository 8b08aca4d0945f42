/** The validated options with defaults applied (`ResolvedAccessTokensOptions`). */
export const RESOLVED_OPTIONS = Symbol('access-tokens:resolved-options');

/** Where a request keeps its `VerifiedAccessToken`. */
export const VERIFIED_TOKEN = Symbol('access-tokens:verified-token');
