import { describe, expect, it } from '@jest/globals';
import { TooManyAttemptsError } from '../core/access-tokens.errors.js';
import { ManualClock } from '../testing/manual-clock.js';
import { accountKey, AttemptLimiter, MemoryAttemptStore } from './password-attempts.js';

const MINUTE = 60_000;

describe('accountKey', () => {
  it('gives every spelling a collation may match one key', () => {
    expect(new Set(['alice', 'ALICE', 'àlice', 'alice ', ' Alíce', 'ａｌｉｃｅ'].map(accountKey))).toEqual(
      new Set(['alice']),
    );
    expect(accountKey('bob')).not.toBe(accountKey('alice'));
  });
});

describe('MemoryAttemptStore', () => {
  it('blocks a key past its limit for blockDuration, then counts anew', async () => {
    const clock = new ManualClock();
    const store = new MemoryAttemptStore(clock);
    for (let hit = 1; hit <= 3; hit++)
      expect(await store.increment('k', MINUTE, 3, MINUTE)).toMatchObject({ totalHits: hit, isBlocked: false });
    expect(await store.increment('k', MINUTE, 3, MINUTE)).toEqual({
      totalHits: 4,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    clock.advance(59);
    // Attempts while blocked are refused without being counted.
    expect(await store.increment('k', MINUTE, 3, MINUTE)).toMatchObject({
      totalHits: 4,
      isBlocked: true,
      timeToBlockExpire: 1,
    });
    clock.advance(1);
    expect(await store.increment('k', MINUTE, 3, MINUTE)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('starts a new window once the last one ended', async () => {
    const clock = new ManualClock();
    const store = new MemoryAttemptStore(clock);
    await store.increment('k', MINUTE, 2, MINUTE);
    await store.increment('k', MINUTE, 2, MINUTE);
    clock.advance(60);
    expect(await store.increment('k', MINUTE, 2, MINUTE)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
      timeToExpire: 60,
    });
  });

  it('holds at most its limit of keys, those whose window ended going first', async () => {
    const clock = new ManualClock();
    const store = new MemoryAttemptStore(clock, 3);
    await store.increment('old', MINUTE, 5, MINUTE);
    clock.advance(61);
    for (const key of ['a', 'b', 'c']) await store.increment(key, MINUTE, 5, MINUTE);
    expect(store.size).toBe(3);
    await store.increment('d', MINUTE, 5, MINUTE);
    expect(store.size).toBe(3);
    // 'a' was the oldest live key: it went, and counts anew.
    expect(await store.increment('a', MINUTE, 5, MINUTE)).toMatchObject({ totalHits: 1 });
    expect(await store.increment('d', MINUTE, 5, MINUTE)).toMatchObject({ totalHits: 2 });
  });
});

describe('AttemptLimiter', () => {
  it('counts against the account and the client, and refuses past either limit with the seconds to wait', async () => {
    const clock = new ManualClock();
    const limiter = new AttemptLimiter(new MemoryAttemptStore(clock), {
      perAccount: 2,
      perClient: 3,
      windowSeconds: 30,
    });
    await limiter.hit('alice', '10.0.0.1');
    await limiter.hit('ALICE', '10.0.0.2');
    await expect(limiter.hit('àlice', '10.0.0.3')).rejects.toEqual(new TooManyAttemptsError(30));
    await limiter.hit('bob', '10.0.0.9');
    await limiter.hit('carol', '10.0.0.9');
    await limiter.hit(null, '10.0.0.9');
    await expect(limiter.hit('dave', '10.0.0.9')).rejects.toMatchObject({ code: 'too_many_attempts', retryAfter: 30 });
    // Without a client, the account alone counts.
    await limiter.hit('erin', null);
  });
});
