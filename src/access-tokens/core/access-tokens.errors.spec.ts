import { describe, expect, it } from '@jest/globals';
import { InvalidTokenError, InvalidRequestError, TokenNotFoundError } from './access-tokens.errors.js';

describe('stack traces of errors', () => {
  it('a refusal has no stack frames, and leaves the stack trace limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = new InvalidTokenError('malformed');
    expect(error.code).toBe('malformed');
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
    expect(new TokenNotFoundError('x').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('restores the limit when building the error throws', () => {
    const limit = Error.stackTraceLimit;
    const cause = {
      get cause(): unknown {
        throw new TypeError('broken');
      },
    };
    expect(() => new InvalidRequestError('x', cause)).toThrow('broken');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
