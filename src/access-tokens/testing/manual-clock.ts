import type { Clock } from '../core/clock.js';

/**
 * A clock that moves only when told to: pass it as the module's `clock` option and test expiry,
 * idle timeouts and retention without waiting.
 *
 * @example
 * const clock = new ManualClock();
 * AccessTokensModule.forRoot({ user: { entity: User }, secret: process.env.TOKEN_SECRET, clock });
 * // ...issue a token that expires in an hour, then:
 * clock.advance(3601); // the token now answers 401 "expired"
 */
export class ManualClock implements Clock {
  private current: number;

  /** @param start the time it shows until moved; default 2026-01-01T00:00:00Z. */
  constructor(start: Date | number = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  /** Sets the clock to `time`. */
  set(time: Date | number): void {
    this.current = typeof time === 'number' ? time : time.getTime();
  }
}
