/** The validated options with defaults applied (`ResolvedAccessTokensOptions`). */
export const RESOLVED_OPTIONS = Symbol('access-tokens:resolved-options');
