import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS, VERIFICATION_CACHE } from '../access-tokens.internal-constants.js';
import { TransactionHooks } from '../revocation/transaction-hooks.js';
import { CacheBus } from './cache-bus.js';
import type { CachedToken } from './token-cache.js';
import { VerificationCache } from './verification-cache.js';

/**
 * Keeps this instance's verification cache in step with the database and the other instances: drops
 * what a commit changed, here and through the bus; drops what the other instances publish; and
 * trusts what is cached for `cache.busTtlSeconds` only while the bus is up to tell of every change.
 */
@Injectable()
export class CacheInvalidation {
  constructor(
    @Inject(VERIFICATION_CACHE) private readonly cache: VerificationCache<CachedToken> | null,
    private readonly bus: CacheBus,
    private readonly transactions: TransactionHooks,
    @Inject(RESOLVED_OPTIONS) options: ResolvedAccessTokensOptions,
  ) {
    bus.onInvalidation(({ userIds, tokenHashes }) => this.cache?.invalidate(userIds, tokenHashes));
    // While the bus is up, every revocation and user change is pushed: a verification can be
    // trusted for longer. When it drops, the short TTL is back, for what is cached too (a bus that
    // flushes on its loss drops it all, below).
    bus.onStateChange((state) => {
      const { cache } = this;
      if (!cache || !options.cache) return;
      cache.ttl = (state === 'up' ? options.cache.busTtlSeconds : options.cache.ttlSeconds) * 1000;
      if (state !== 'up') cache.capTrust(options.clock.now().getTime() + cache.ttl);
    });
    // Invalidations may have been missed while the bus was down: nothing cached can be trusted.
    bus.onReset(() => this.cache?.clear());
  }

  /**
   * Drops the owners' cached verifications (by `ownerKey`: a user's id, a team's prefixed), and those of the tokens with these hashes, here and,
   * through the bus, on the other instances; once `manager`'s transaction commits, so that no read
   * can see the old rows afterwards.
   */
  invalidate(manager: EntityManager, userIds: readonly string[], tokenHashes: readonly string[] = []): void {
    const { cache } = this;
    if (!cache) return;
    this.transactions.afterCommit(manager, () => {
      cache.invalidate(userIds, tokenHashes);
      this.bus.publish({ userIds, tokenHashes });
    });
  }
}
