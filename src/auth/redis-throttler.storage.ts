import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';

/** The Redis of the throttler, and the prefix of its keys. */
export const THROTTLER_REDIS = Symbol('demo:throttler-redis');

/**
 * One count of attempts per key and window, kept in Redis so that every instance of the app
 * shares it: a guesser gains nothing by spreading attempts over instances. A window starts with
 * its first hit and lasts `ttl`; past `limit` hits the key is blocked for `blockDuration`, and the
 * count starts anew after that, as in the throttler's own in-memory storage. One script, so that
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

@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(@Inject(THROTTLER_REDIS) private readonly config: { url: string; prefix: string }) {
    this.redis = new Redis(config.url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, _throttlerName: string) {
    // The guard's key already names the throttler.
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
