/**
 * Where the module reads the time. Tests pass a controllable one through the `clock` option, so
 * expiry is tested without waiting.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() };
