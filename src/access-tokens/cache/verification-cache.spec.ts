import { describe, expect, it } from '@jest/globals';
import { VerificationCache } from './verification-cache.js';

describe('VerificationCache', () => {
  it('serves an entry until its TTL or its deadline, whichever comes first', () => {
    const cache = new VerificationCache<string>(10, 1000);
    cache.set('a', 'u1', 'A', 0, cache.generation);
    cache.set('b', 'u1', 'B', 0, cache.generation, 500);
    expect(cache.get('a', 999)?.value).toBe('A');
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.get('b', 499)?.value).toBe('B');
    expect(cache.get('b', 500)).toBeUndefined();
  });

  it('holds at most max entries, dropping the least recently used', () => {
    const cache = new VerificationCache<number>(3, 1000);
    for (const key of ['a', 'b', 'c']) cache.set(key, 'u', 1, 0, cache.generation);
    cache.get('a', 1);
    cache.set('d', 'u', 1, 0, cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('a', 1)).toBeDefined();
  });

  it('never evicts an entry used at least once per max / 2 insertions', () => {
    const cache = new VerificationCache<number>(10, 1000);
    cache.set('hot', 'u', 1, 0, cache.generation);
    for (let i = 0; i < 1000; i++) {
      cache.set(`k${i}`, 'u', i, 0, cache.generation);
      if (i % 5 === 4) expect(cache.get('hot', 1)).toBeDefined();
    }
    expect(cache.size).toBe(10);
  });

  it('invalidates by user', () => {
    const cache = new VerificationCache<number>(10, 1000);
    cache.set('a', 'u1', 1, 0, cache.generation);
    cache.set('b', 'u2', 2, 0, cache.generation);
    cache.invalidate(['u1']);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 1)?.value).toBe(2);
  });

  it("invalidates single entries by key, and leaves the user's others", () => {
    const cache = new VerificationCache<number>(10, 1000);
    cache.set('a', 'u1', 1, 0, cache.generation);
    cache.set('b', 'u1', 2, 0, cache.generation);
    cache.invalidate([], ['a']);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 1)?.value).toBe(2);
  });

  it('refuses what a read started before an invalidation: no stale entry comes back', () => {
    const cache = new VerificationCache<string>(10, 1000);
    const before = cache.generation;
    // A revocation commits while the read is under way...
    cache.invalidate(['u1']);
    // ...and the read, finishing after it, must not cache what it saw.
    expect(cache.set('a', 'u1', 'stale', 0, before)).toBe(false);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.set('a', 'u1', 'fresh', 0, cache.generation)).toBe(true);
  });

  it('stays bounded however many distinct keys pass', () => {
    const cache = new VerificationCache<number>(100, 1000);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, `u${i % 37}`, i, 0, cache.generation);
    expect(cache.size).toBe(100);
  });
});
