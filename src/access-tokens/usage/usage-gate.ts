import { Inject, Injectable, type OnModuleDestroy, type Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AccessTokenEvents } from '../access-token.events.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import type { AuthenticatableRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { loadDriver } from '../cache/cache-bus.js';
import type { CachedToken } from '../cache/token-cache.js';
import {
  CacheBusUnavailableError,
  TokenPolicyError,
  type RateLimitState,
  type TokenPolicyReason,
} from '../core/access-tokens.errors.js';
import { ownerKindOf } from '../core/owner-key.js';
import { responseOf, type ResponseHost } from '../edge/execution-context.js';
import { rateLimitHeader } from '../edge/rfc6750.js';
import { UseQuota } from '../storage/use-quota.js';
import { MemoryRateCounter, RedisRateCounter, type RateCounter, type RateWindow } from './rate-counter.js';
import { clientAddressOf, isAllowed, type ActivePolicy } from './usage-policy.js';

/** The injection token of the counter of rate limits: in memory, or in Redis. */
export const RATE_COUNTER = Symbol('access-tokens:rate-counter');

/**
 * The counter `usage.counters` names, connected while Nest creates the app: a Redis that cannot
 * be reached stops start-up, naming the option, rather than the first rate-limited request.
 */
export const rateCounterProvider: Provider = {
  provide: RATE_COUNTER,
  inject: [RESOLVED_OPTIONS],
  useFactory: async ({ usage }: ResolvedAccessTokensOptions): Promise<RateCounter> => {
    const { counters } = usage;
    if (counters.type === 'memory') return new MemoryRateCounter();
    const { Redis } = await loadDriver('ioredis', () => import('ioredis'), `${counters.option} { type: "redis" }`);
    const counter = RedisRateCounter.create(Redis, counters.url, counters.keyPrefix);
    try {
      await counter.connect();
    } catch (error) {
      await counter.close();
      throw new CacheBusUnavailableError(
        `The Redis that counts rate limits cannot be reached: check ${counters.option}, or start Redis`,
        { cause: error },
      );
    }
    return counter;
  },
};

/**
 * Applies a verified token's usage policy to a request, in the order that wastes least: its
 * allowed addresses (no count), its rate limit (a count in memory or one Redis round trip), then
 * its quota (one atomic write), so that a request refused for its address or rate uses up nothing.
 * Counts are per token, and only ever for a token that passed verification: what is refused here
 * says nothing about any other token.
 */
@Injectable()
export class UsageGate implements OnModuleDestroy {
  constructor(
    @Inject(RATE_COUNTER) private readonly counter: RateCounter,
    private readonly quota: UseQuota,
    private readonly events: AccessTokenEvents,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * `cached`'s verification if `policy` lets `request` through now, without a promise when it can
   * (an address check, a count in memory); throws or rejects with `TokenPolicyError` if not. Sets
   * the rate limit's headers on the response of `host`, where it has one.
   */
  admit(
    cached: CachedToken,
    policy: ActivePolicy,
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
    host: ResponseHost | undefined,
    now: number,
  ): VerifiedAccessToken | Promise<VerifiedAccessToken> {
    if (policy.allow && !isAllowed(policy.allow, request?.ip)) throw this.refuse('ip_not_allowed', cached, request);
    const { rateLimit } = policy;
    if (!rateLimit) return policy.counted ? this.take(cached, policy, request, now) : cached.verified;
    const counted = this.counter.hit(rateLimit.key, rateLimit.windowMs, now);
    return counted instanceof Promise
      ? counted.then((window) => this.afterCount(cached, policy, window, request, host, now))
      : this.afterCount(cached, policy, counted, request, host, now);
  }

  async onModuleDestroy(): Promise<void> {
    await this.counter.close();
  }

  private afterCount(
    cached: CachedToken,
    policy: ActivePolicy,
    window: RateWindow,
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
    host: ResponseHost | undefined,
    now: number,
  ): VerifiedAccessToken | Promise<VerifiedAccessToken> {
    const { limit, window: seconds, policyHeader } = policy.rateLimit!;
    const remaining = Math.max(0, limit - window.count);
    const reset = Math.max(1, Math.ceil(window.resetMs / 1000));
    if (window.count > limit)
      throw this.refuse('rate_limited', cached, request, reset, { limit, window: seconds, remaining, reset });
    // The headers of an answer that goes on, on HTTP (and GraphQL over HTTP); written directly, as
    // this runs at every request of the token: no state object, no closure.
    const response = host && responseOf(host);
    const adapter = response === undefined ? undefined : this.adapterHost.httpAdapter;
    if (adapter) {
      adapter.setHeader(response, 'RateLimit-Policy', policyHeader);
      adapter.setHeader(response, 'RateLimit', rateLimitHeader(remaining, reset));
    }
    return policy.counted ? this.take(cached, policy, request, now) : cached.verified;
  }

  /** Takes one of the token's uses, or refuses it as `uses_exhausted`, saying when uses come back if they do. */
  private async take(
    cached: CachedToken,
    policy: ActivePolicy,
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
    now: number,
  ): Promise<VerifiedAccessToken> {
    const { id } = cached.verified.accessToken;
    if (now < policy.exhaustedUntil) throw this.exhausted(cached, request, policy.exhaustedUntil, now);
    if (await this.quota.take(id, now, policy.periodMs)) return cached.verified;
    const state = await this.quota.state(id);
    // The quota was lifted meanwhile (the change is on its way to this cache): the use is allowed.
    if (state && state.maxUses === null) return cached.verified;
    // Until its uses are restored, this instance refuses the token without a write.
    policy.exhaustedUntil = state?.renewAt ?? Infinity;
    throw this.exhausted(cached, request, policy.exhaustedUntil, now);
  }

  private exhausted(
    cached: CachedToken,
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
    until: number,
    now: number,
  ): TokenPolicyError {
    return this.refuse(
      'uses_exhausted',
      cached,
      request,
      until === Infinity ? null : Math.max(1, Math.ceil((until - now) / 1000)),
    );
  }

  /** The error for a refusal by the policy, announced as `verification_failed` with the client's address. */
  private refuse(
    reason: TokenPolicyReason,
    cached: CachedToken,
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
    retryAfter: number | null = null,
    state: RateLimitState | null = null,
  ): TokenPolicyError {
    if (this.events.wants('verification_failed')) {
      this.events.emit('verification_failed', {
        reason,
        tokenId: cached.verified.accessToken.id,
        userId: cached.userId,
        address: clientAddressOf(request),
        ...ownerKindOf(cached.verified.accessToken.kind),
      });
    }
    return new TokenPolicyError(reason, retryAfter, state);
  }
}
