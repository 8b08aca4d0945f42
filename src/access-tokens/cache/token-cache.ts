import type { Provider } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { REFUSED_TOKENS, RESOLVED_OPTIONS, VERIFICATION_CACHE } from '../access-tokens.internal-constants.js';
import type { VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { RefusedTokens } from './refused-tokens.js';
import { VerificationCache } from './verification-cache.js';
import type { ActivePolicy } from '../usage/usage-policy.js';

/**
 * Signed tokens the database did not know, or past their signed expiry, are remembered this long
 * (or `cache.ttlSeconds`, if shorter), this many at most. A token unknown once stays unknown: the
 * module commits a token before anyone sees it, so only a restored backup brings one back, and
 * then within this time. An expired one stays expired.
 */
const REFUSED_TTL_MS = 60_000;
const MAX_REFUSED_REMEMBERED = 1_000;

/** What the verification cache keeps of a verified token. */
export interface CachedToken {
  /** The owner's id, as the token row has it. */
  userId: string;
  /** The owner's key in the cache (`ownerKey`): its id, a team's prefixed. */
  ownerKey: string;
  idleTimeout: number | null;
  /** When it must go at the latest (epoch ms): its expiry, idle expiry or revocation. */
  deadline: number;
  /** The version of the rows this was read from, once a refresh read them (`FoundRow.version`). */
  version: string | null;
  /** Its usage policy, checked at each request; `null` for none, as most tokens. */
  policy: ActivePolicy | null;
  /** No use needs recording before this time (epoch ms): what a cache hit checks first. */
  recordAfter: number;
  /**
   * What a cache hit returns, frozen (its view and scopes too) so that every request can share it
   * without a copy. Replaced, not changed, when a use is recorded.
   */
  verified: VerifiedAccessToken;
}

/** `verified`, frozen with its view and scopes, as the cache shares it between requests. */
export function frozen(verified: VerifiedAccessToken): VerifiedAccessToken {
  return Object.freeze({
    user: verified.user,
    owner: verified.owner,
    accessToken: Object.freeze(verified.accessToken),
    scopes: Object.freeze(verified.scopes),
  });
}

/**
 * This instance's verified tokens by hash ({@link VERIFICATION_CACHE}), sized and timed by the
 * `cache` options; `null` with `cache: false`. `CacheInvalidation` keeps it in step with the
 * database and the other instances.
 */
export const verificationCacheProvider: Provider = {
  provide: VERIFICATION_CACHE,
  inject: [RESOLVED_OPTIONS],
  useFactory: ({ cache }: ResolvedAccessTokensOptions): VerificationCache<CachedToken> | null =>
    cache && new VerificationCache<CachedToken>(cache.max, cache.ttlSeconds * 1000),
};

/**
 * Hashes of signed tokens refused a moment ago as unknown or expired ({@link REFUSED_TOKENS});
 * `null` with `cache: false`.
 */
export const refusedTokensProvider: Provider = {
  provide: REFUSED_TOKENS,
  inject: [RESOLVED_OPTIONS],
  useFactory: ({ cache }: ResolvedAccessTokensOptions): RefusedTokens | null =>
    cache && new RefusedTokens(MAX_REFUSED_REMEMBERED, Math.min(REFUSED_TTL_MS, cache.ttlSeconds * 1000)),
};
