import type { Clock } from '../core/clock.js';
import { TooManyAttemptsError } from '../core/access-tokens.errors.js';
import { BoundedWindows } from '../core/bounded-windows.js';

/**
 * Counting password attempts, with no Nest in it: the key of an account, the limiter that counts
 * per account and per client, and the store it counts in by default.
 */

/** What `PasswordAttemptStore.increment` returns: the shape of @nestjs/throttler's `ThrottlerStorageRecord`. */
export interface PasswordAttemptRecord {
  /** Attempts counted under the key in the current window. */
  totalHits: number;
  /** Seconds until the current window ends. */
  timeToExpire: number;
  /** Whether the key is blocked: it went past `limit` attempts in the window. */
  isBlocked: boolean;
  /** Seconds until the block ends; 0 when not blocked. */
  timeToBlockExpire: number;
}

/**
 * Where password attempts are counted. It has the shape of @nestjs/throttler's `ThrottlerStorage`,
 * so any storage written for it fits (one in Redis, say, so that every instance of the app shares
 * the counts and a guesser gains nothing by spreading attempts over them).
 *
 * @example
 * passwords: { throttle: { store: new ThrottlerStorageRedisService(redis) } } // @nest-lab/throttler-storage-redis
 */
export interface PasswordAttemptStore {
  /**
   * Counts one attempt under `key`. A window of `ttl` milliseconds starts with the key's first
   * attempt; past `limit` attempts in it, the key is blocked for `blockDuration` milliseconds, and
   * counting starts anew after that.
   */
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<PasswordAttemptRecord>;
}

/**
 * The account a user name reaches, whatever the database's collation: MariaDB's default one
 * matches `alice`, `ALICE`, `àlice` and `alice ` alike, so they share one count of attempts.
 */
export function accountKey(username: string): string {
  return username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** The limits `AttemptLimiter` enforces. */
export interface AttemptLimits {
  /** Attempts per account per window. */
  readonly perAccount: number;
  /** Attempts per client per window. */
  readonly perClient: number;
  /** The window, in seconds. */
  readonly windowSeconds: number;
}

/** Every key the module counts under starts with this, so that a store shared with the app's own throttling keeps them apart. */
const KEY_PREFIX = 'access-tokens:password';

/**
 * Counts each password attempt against its account and its client, and refuses it with
 * `TooManyAttemptsError` once either is past its limit for the window. Attempts count whether the
 * password turns out right or not, and before it is looked at, so a throttled answer says nothing
 * about the account.
 */
export class AttemptLimiter {
  constructor(
    private readonly store: PasswordAttemptStore,
    private readonly limits: AttemptLimits,
  ) {}

  /**
   * Counts one attempt; throws `TooManyAttemptsError` when the account (a user name, or `null`
   * when the attempt names none) or the client (or `null` when unknown) is past its limit.
   */
  async hit(username: string | null, client: string | null): Promise<void> {
    // The account first: a blocked account's attempts do not use up the client's.
    if (username !== null) await this.count(`account:${accountKey(username)}`, this.limits.perAccount, 'account');
    if (client !== null) await this.count(`client:${client}`, this.limits.perClient, 'client');
  }

  private async count(key: string, limit: number, name: 'account' | 'client'): Promise<void> {
    const window = this.limits.windowSeconds * 1000;
    const record = await this.store.increment(`${KEY_PREFIX}:${key}`, window, limit, window, name);
    if (record.isBlocked) throw new TooManyAttemptsError(Math.max(1, Math.ceil(record.timeToBlockExpire)));
  }
}

interface Entry {
  hits: number;
  /** When the window ends, epoch ms. */
  endsAt: number;
  /** When the block ends, epoch ms; 0 when not blocked. */
  blockedUntil: number;
}

/** Keys a memory store holds at most: past it, those whose window ended go, then the oldest. */
const MAX_ENTRIES = 100_000;

/**
 * The default store: counts in this app's memory, on the module's clock. Each instance of the app
 * counts its own; pass a shared `passwords.throttle.store` to count across instances.
 */
export class MemoryAttemptStore implements PasswordAttemptStore {
  private readonly entries: BoundedWindows<Entry>;

  constructor(
    private readonly clock: Clock,
    maxEntries: number = MAX_ENTRIES,
  ) {
    // An entry is over once its window and its block have both ended.
    this.entries = new BoundedWindows<Entry>(maxEntries, (entry) => Math.max(entry.endsAt, entry.blockedUntil));
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<PasswordAttemptRecord> {
    const now = this.clock.now().getTime();
    let entry = this.entries.get(key);
    if (entry && entry.blockedUntil > now) return record(entry, now);
    if (!entry || entry.endsAt <= now || entry.blockedUntil !== 0) {
      entry = { hits: 0, endsAt: now + ttl, blockedUntil: 0 };
      this.entries.start(key, entry, now);
    }
    entry.hits++;
    if (entry.hits > limit) entry.blockedUntil = now + blockDuration;
    return record(entry, now);
  }

  /** How many keys it holds; for tests. */
  get size(): number {
    return this.entries.size;
  }
}

function record(entry: Entry, now: number): PasswordAttemptRecord {
  const blocked = entry.blockedUntil > now;
  return {
    totalHits: entry.hits,
    timeToExpire: Math.max(0, Math.ceil((entry.endsAt - now) / 1000)),
    isBlocked: blocked,
    timeToBlockExpire: blocked ? Math.ceil((entry.blockedUntil - now) / 1000) : 0,
  };
}
