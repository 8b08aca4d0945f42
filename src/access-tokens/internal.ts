/**
 * The package's one internal entry, `#internal` (package.json "imports"): what this repository's
 * own tests and bench reach beneath the public entries for: tokens and keys made by hand, and the
 * units under the services. Not in "exports", and not in the tarball: no app can import it, and
 * nothing here is a promise. Everything else in test/ and bench/ uses the public entries, as an
 * app does (eslint.config.js enforces both).
 */
export { REFUSED_TOKENS, SCOPES_METADATA, VERIFICATION_CACHE } from './access-tokens.internal-constants.js';
export type { RefusedTokens } from './cache/refused-tokens.js';
export type { VerificationCache } from './cache/verification-cache.js';
export { Fingerprinter } from './core/fingerprint.js';
export { deriveKeys, signingKeys, type DerivedKeys } from './core/keys.js';
export { generateToken, hashToken, tokenHint } from './core/token-format.js';
export { TokenQueries, type FoundRow } from './storage/token-queries.js';
export { ownerJoinCondition } from './storage/user-directory.service.js';
export { TokenMaintenance } from './token-maintenance.service.js';
