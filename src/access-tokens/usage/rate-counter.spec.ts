import { describe, expect, it } from '@jest/globals';
import { MemoryRateCounter } from './rate-counter.js';

describe('MemoryRateCounter', () => {
  it('counts each key in a window that starts with its first request', () => {
    const counter = new MemoryRateCounter();
    expect(counter.hit('a', 10_000, 1_000)).toEqual({ count: 1, resetMs: 10_000 });
    expect(counter.hit('a', 10_000, 4_000)).toEqual({ count: 2, resetMs: 7_000 });
    expect(counter.hit('b', 10_000, 4_000)).toEqual({ count: 1, resetMs: 10_000 });
    // The window ended: a new one starts with this request.
    expect(counter.hit('a', 10_000, 11_000)).toEqual({ count: 1, resetMs: 10_000 });
  });

  it('holds a bounded number of keys, dropping ended windows first, then the oldest', () => {
    const counter = new MemoryRateCounter(2);
    counter.hit('old', 1_000, 0);
    counter.hit('live', 60_000, 0);
    counter.hit('live', 60_000, 10);
    counter.hit('new', 60_000, 2_000); // 'old' ended: it goes, 'live' keeps its count
    expect(counter.hit('live', 60_000, 2_001).count).toBe(3);
    counter.hit('newer', 60_000, 2_002); // full of live windows: the oldest ('live') goes
    expect(counter.hit('new', 60_000, 2_003).count).toBe(2);
  });
});
