import { describe, expect, it } from '@jest/globals';
import { AccessTokenError, withoutStack } from './access-tokens.errors.js';

describe('withoutStack', () => {
  it('builds an error with no stack frames, and leaves the stack trace limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = withoutStack(() => new AccessTokenError('malformed'));
    expect(error.code).toBe('malformed');
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('restores the limit when building the error throws', () => {
    const limit = Error.stackTraceLimit;
    expect(() =>
      withoutStack(() => {
        throw new TypeError('broken');
      }),
    ).toThrow('broken');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
