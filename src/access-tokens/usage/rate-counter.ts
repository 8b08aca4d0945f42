import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BoundedWindows } from '../core/bounded-windows.js';

/** A key's count in its current window. */
export interface RateWindow {
  /** Requests counted in the window, this one included. */
  readonly count: number;
  /** Milliseconds until the window ends. */
  readonly resetMs: number;
}

/**
 * Counts requests per key in fixed windows, each starting with its key's first request: in this
 * process, or in Redis for every instance at once.
 */
export interface RateCounter {
  /** Counts one request under `key`; synchronous where it can be (in process). */
  hit(key: string, windowMs: number, now: number): RateWindow | Promise<RateWindow>;
  close(): Promise<void>;
}

interface Entry {
  count: number;
  endsAt: number;
}

/** Keys a memory counter holds at most: past it, those whose window ended go, then the oldest. */
const MAX_KEYS = 100_000;

/** Counts in this process: each instance counts its own requests. */
export class MemoryRateCounter implements RateCounter {
  private readonly entries: BoundedWindows<Entry>;

  constructor(maxKeys: number = MAX_KEYS) {
    this.entries = new BoundedWindows<Entry>(maxKeys, (entry) => entry.endsAt);
  }

  hit(key: string, windowMs: number, now: number): RateWindow {
    let entry = this.entries.get(key);
    if (!entry || entry.endsAt <= now) {
      entry = { count: 0, endsAt: now + windowMs };
      this.entries.start(key, entry, now);
    }
    entry.count++;
    return { count: entry.count, resetMs: entry.endsAt - now };
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

/**
 * One round trip: the count goes up, the window starts with the first request (on Redis's clock,
 * so instances whose clocks differ share each window), and the count and time left come back.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type CountingRedis = Redis & { accessTokensHit(key: string, windowMs: number): Promise<[number, number]> };

/**
 * Counts in Redis, shared by every instance: one atomic script a request. While Redis cannot be
 * reached, this instance counts in its own memory, so that a token keeps its limit per instance
 * rather than losing it or failing its requests, and says so once.
 */
export class RedisRateCounter implements RateCounter {
  private readonly logger = new Logger('AccessTokensRateLimits');
  private readonly fallback = new MemoryRateCounter();
  private degraded = false;

  constructor(
    private readonly redis: CountingRedis,
    private readonly keyPrefix: string,
  ) {}

  static create(RedisClient: typeof Redis, url: string, keyPrefix: string): RedisRateCounter {
    // No queue while disconnected: a request waits for no reconnection, it counts locally instead.
    const redis = new RedisClient(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 5000,
      // Connected by connect(), whose promise says whether it could.
      lazyConnect: true,
    });
    redis.defineCommand('accessTokensHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    const counter = new RedisRateCounter(redis as CountingRedis, keyPrefix);
    redis.on('error', (error: Error) => counter.lost(error));
    redis.on('ready', () => counter.back());
    return counter;
  }

  /** Connects, so that start-up fails when Redis is not there. */
  async connect(): Promise<void> {
    await this.redis.connect();
  }

  hit(key: string, windowMs: number, now: number): RateWindow | Promise<RateWindow> {
    if (this.redis.status !== 'ready') return this.fallback.hit(key, windowMs, now);
    return this.redis.accessTokensHit(`${this.keyPrefix}${key}`, windowMs).then(
      ([count, resetMs]) => ({ count: Number(count), resetMs: Number(resetMs) }),
      () => this.fallback.hit(key, windowMs, now),
    );
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.fallback.close();
  }

  private lost(error: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn(
      `Rate limit counters in Redis cannot be reached (${error.message}): counting per instance until it is back`,
    );
  }

  private back(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log('Rate limit counters in Redis reached again: counting across instances');
  }
}
