import type { Clock } from '../core/clock.js';

/**
 * A clock that moves only when told to: pass it as the module's `clock` option, keep a reference
 * in the test, and test expiry, idle timeouts, retention and the verification cache's lifetime
 * without waiting or faking timers.
 *
 * Everything the module dates reads this clock: a token's creation and expiry (the expiry signed
 * into the token too), its last use, revocations, pruning and the cache. What does not read it
 * keeps the real time: your own code's `new Date()`, database defaults such as
 * `@CreateDateColumn()`, and another app or process without this clock on the same database (to
 * which a token issued on the manual clock looks expired). In a test that mixes the two, start the
 * clock at the real time: `new ManualClock(new Date())`.
 *
 * @example
 * const clock = new ManualClock();
 * AccessTokensModule.forRoot({ user: { entity: User }, secret: process.env.TOKEN_SECRET, clock });
 * // ...issue a token that expires in an hour, then:
 * clock.advance(3599); // still accepted
 * clock.advance(1); // now answered 401 "expired"
 */
export class ManualClock implements Clock {
  private current: number;

  /**
   * @param start the time it shows until moved, as a `Date` or milliseconds since the epoch.
   *   Default 2026-01-01T00:00:00Z, the same on every run, so that the dates a test sees (and
   *   snapshots) do not change from run to run; being in the past does not matter to the module.
   */
  constructor(start: Date | number = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  /** The time it shows, as a new `Date` each call (changing it does not move the clock). */
  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock by `seconds` (fractions allowed; a negative number moves it back). */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  /** Sets the clock to `time`, a `Date` or milliseconds since the epoch. */
  set(time: Date | number): void {
    this.current = typeof time === 'number' ? time : time.getTime();
  }
}
