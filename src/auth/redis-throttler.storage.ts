import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { PasswordAttemptRecord, PasswordAttemptStore } from 'nestjs-access-tokens';

/** Where the counts of password attempts live: Redis, shared by every instance, or each process's memory. */
export type ThrottleStore = { type: 'memory' } | { type: 'redis'; url: string; prefix: string };

/** The Redis of the attempt counts, and the prefix of its keys. */
export const THROTTLER_REDIS = Symbol('demo:throttler-redis');

/** Injection token of the demo's attempt store: a `RedisThrottlerStorage`, or `null` for the module's own, in memory. */
export const PASSWORD_ATTEMPT_STORE = Symbol('demo:password-attempt-store');

/**
 * One count of attempts per key and window, kept in Redis so that every instance of the app
 * shares it: a guesser gains nothing by spreading attempts over instances. A window starts with
 * its first hit and lasts `ttl`; past `limit` hits the key is blocked for `blockDuration`, and the
 * count starts anew after that, as in the module's own memory store. One script, so that
 * concurrent hits on several instances count exactly.
 */
const INCREMENT = `
local block = redis.call('PTTL', KEYS[2])
if block > 0 then return {tonumber(ARGV[2]) + 1, block, 1, block} end
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {hits, ttl, 1, tonumber(ARGV[3])}
end
return {hits, ttl, 0, 0}`;

/** The password attempts of `AccessTokensModule`'s password grant, counted in Redis (`passwords.throttle.store`). */
@Injectable()
export class RedisThrottlerStorage implements PasswordAttemptStore, OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(@Inject(THROTTLER_REDIS) private readonly config: { url: string; prefix: string }) {
    this.redis = new Redis(config.url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<PasswordAttemptRecord> {
    // The module's key already names the count (account or client).
    const base = `${this.config.prefix}:${key}`;
    const [totalHits, timeToExpire, blocked, timeToBlockExpire] = (await this.redis.eval(
      INCREMENT,
      2,
      `${base}:hits`,
      `${base}:blocked`,
      ttl,
      limit,
      blockDuration,
    )) as [number, number, number, number];
    return {
      totalHits,
      timeToExpire: Math.ceil(timeToExpire / 1000),
      isBlocked: blocked === 1,
      timeToBlockExpire: Math.ceil(timeToBlockExpire / 1000),
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}

/**
 * Provides the attempt store `ThrottleStore` names as `PASSWORD_ATTEMPT_STORE`, for
 * `AccessTokensModule.forRootAsync()` to inject: a provider of its own, so that Nest closes the
 * Redis connection at shutdown.
 */
@Module({})
export class PasswordAttemptStoreModule {
  static forRoot(store: ThrottleStore | undefined): DynamicModule {
    const providers =
      store?.type === 'redis'
        ? [
            { provide: THROTTLER_REDIS, useValue: store },
            RedisThrottlerStorage,
            { provide: PASSWORD_ATTEMPT_STORE, useExisting: RedisThrottlerStorage },
          ]
        : [{ provide: PASSWORD_ATTEMPT_STORE, useValue: null }];
    return { module: PasswordAttemptStoreModule, providers, exports: [PASSWORD_ATTEMPT_STORE] };
  }
}
