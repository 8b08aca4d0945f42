/**
 * The in-process verification cache, with no Nest or TypeORM in it.
 *
 * Keyed by token hash, it holds what a request needs (user, effective scopes, deadlines), for at
 * most `ttl` and `max` entries (least recently used out first, nearly). Invalidation is by user: every
 * revocation and every user change is one. A generation counter, bumped by each invalidation, lets
 * a verification that read the database before an invalidation know not to cache what it read:
 * `set` refuses an entry whose read started in an older generation.
 */

/** What a cached verification holds. Times are epoch milliseconds. */
export interface CacheEntry<T> {
  userId: string;
  value: T;
  /** The entry is no longer used past this time (the cache's TTL, or a deadline of the token). */
  cachedUntil: number;
  /** When the database read this entry holds began: its age, for a refresh. */
  checkedAt: number;
  /** The count of insertions when this entry was last put at the newest end. */
  stamp: number;
}

export class VerificationCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  private readonly byUser = new Map<string, Set<string>>();
  private currentGeneration = 0;
  /** Insertions so far, at the newest end of `entries`. */
  private insertions = 0;

  /**
   * @param max the most entries held.
   * @param ttl milliseconds an entry is trusted for; the bound on staleness if an invalidation
   *   from another instance is lost. It may change (longer while a bus pushes every change): an
   *   entry keeps the one it was cached with.
   */
  constructor(
    readonly max: number,
    public ttl: number,
  ) {}

  /** Take this before reading the database; pass it to `set`. */
  get generation(): number {
    return this.currentGeneration;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): CacheEntry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.cachedUntil <= now) {
      this.delete(key, entry);
      return undefined;
    }
    // Re-inserting keeps the Map in least-recently-used order. An entry with fewer than max / 2
    // newer ones is far from eviction and stays where it is, which saves a hot token two Map writes
    // per request: any entry used once per max / 2 insertions is still never evicted.
    if (this.insertions - entry.stamp >= this.max / 2) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.stamp = ++this.insertions;
    }
    return entry;
  }

  /**
   * Caches `value` unless an invalidation happened since `generation` was read; returns whether
   * it did. `deadline` (ms) caps the entry's life below the TTL, e.g. the token's expiry.
   */
  set(key: string, userId: string, value: T, now: number, generation: number, deadline = Infinity): boolean {
    if (generation !== this.currentGeneration) return false;
    const previous = this.entries.get(key);
    if (previous) this.delete(key, previous);
    this.entries.set(key, {
      userId,
      value,
      cachedUntil: Math.min(now + this.ttl, deadline),
      checkedAt: now,
      stamp: ++this.insertions,
    });
    let keys = this.byUser.get(userId);
    if (!keys) this.byUser.set(userId, (keys = new Set()));
    keys.add(key);
    if (this.entries.size > this.max) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, CacheEntry<T>];
      this.delete(oldestKey, oldest);
    }
    return true;
  }

  /** The live value at `key` as it is, without counting a use (for a refresh); `undefined` if none. */
  peek(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * Puts `value`, read from the database again at `now`, in the entry at `key`, in place (a refresh
   * is not a use: the entry keeps its place in the eviction order), and trusts it anew, unless the
   * entry is gone or an invalidation happened since `generation` was read; returns whether it did.
   */
  refresh(key: string, value: T, now: number, generation: number, deadline = Infinity): boolean {
    const entry = this.entries.get(key);
    if (!entry || generation !== this.currentGeneration) return false;
    entry.value = value;
    entry.checkedAt = now;
    entry.cachedUntil = Math.min(now + this.ttl, deadline);
    return true;
  }

  /** The keys of live entries read from the database at or before `checkedBefore`, oldest place first. */
  *checkedBefore(checkedBefore: number, now: number): IterableIterator<string> {
    for (const [key, entry] of this.entries) {
      if (entry.checkedAt <= checkedBefore && entry.cachedUntil > now) yield key;
    }
  }

  /** Drops the entry at `key`, if any. */
  drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.delete(key, entry);
  }

  /** Drops every entry of these users, and the entries at these keys; fails the `set` of reads under way. */
  invalidate(userIds: Iterable<string>, keys: Iterable<string> = []): void {
    this.currentGeneration += 1;
    for (const userId of userIds) {
      for (const key of this.byUser.get(userId) ?? []) this.entries.delete(key);
      this.byUser.delete(userId);
    }
    for (const key of keys) this.drop(key);
  }

  /** Trusts no entry past `until` (ms): an entry cached for a longer TTL keeps the shorter bound from now on. */
  capTrust(until: number): void {
    for (const entry of this.entries.values()) if (entry.cachedUntil > until) entry.cachedUntil = until;
  }

  /**
   * Drops every entry, and fails the `set` of reads under way: what the cache holds can no longer
   * be trusted (the bus that would have told of changes was lost).
   */
  clear(): void {
    this.currentGeneration += 1;
    this.entries.clear();
    this.byUser.clear();
  }

  private delete(key: string, entry: CacheEntry<T>): void {
    this.entries.delete(key);
    const keys = this.byUser.get(entry.userId);
    keys?.delete(key);
    if (keys?.size === 0) this.byUser.delete(entry.userId);
  }
}
