import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { InvalidRequestError } from '../core/access-tokens.errors.js';
import { readCredentials } from './credentials.js';

const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;
const header = (authorization: string) => readCredentials({ authorization }, false);

describe('readCredentials', () => {
  it('reads a Bearer token, whatever the case of the scheme', () => {
    expect(header('Bearer nat_abc')).toEqual({ type: 'token', token: 'nat_abc', via: 'bearer' });
    expect(header('bearer nat_abc')).toEqual({ type: 'token', token: 'nat_abc', via: 'bearer' });
  });

  it('reads a token sent as the Basic user name with an empty password', () => {
    expect(header(basic('nat_abc:'))).toEqual({ type: 'token', token: 'nat_abc', via: 'basic' });
  });

  it('refuses a Basic user name that cannot be a token when the password is empty', () => {
    // Found by the property below (seed 1429234514): " :" was read as the token " ".
    for (const bad of [' :', 'two words:', 'tök:']) expect(() => header(basic(bad))).toThrow(InvalidRequestError);
  });

  it('reads a Basic user name and password', () => {
    expect(header(basic('alice:s3cret:with:colons'))).toEqual({
      type: 'password',
      username: 'alice',
      password: 's3cret:with:colons',
    });
  });

  it('sees no credentials in a missing header or another scheme', () => {
    expect(readCredentials({}, false)).toEqual({ type: 'none' });
    expect(header('Digest username="x"')).toEqual({ type: 'none' });
  });

  it('refuses malformed headers', () => {
    for (const bad of [
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Bearer tök',
      'Basic',
      'Basic !!!',
      basic(':'),
      basic('nocolon'),
      `Bearer ${'a'.repeat(2000)}`,
    ]) {
      expect(() => header(bad)).toThrow(InvalidRequestError);
    }
  });

  it('reads the query parameter only when allowed', () => {
    expect(readCredentials({ queryToken: 'nat_abc' }, false)).toEqual({ type: 'none' });
    expect(readCredentials({ queryToken: 'nat_abc' }, 'access_token')).toEqual({
      type: 'token',
      token: 'nat_abc',
      via: 'query',
    });
  });

  it('refuses a token sent two ways at once, or a repeated query parameter', () => {
    const allow = 'access_token';
    expect(() => readCredentials({ authorization: 'Bearer a', queryToken: 'b' }, allow)).toThrow(/both/);
    expect(() => readCredentials({ queryToken: ['a', 'b'] }, allow)).toThrow(InvalidRequestError);
  });

  it('refuses control characters in HTTP Basic credentials', () => {
    expect(() => header(basic('ali\u0000ce:secret'))).toThrow(InvalidRequestError);
    expect(() => header(basic('alice:sec\u0000ret'))).toThrow(InvalidRequestError);
    expect(() => header(basic('nat_token\u0007:'))).toThrow(InvalidRequestError);
  });

  describe('on any input (property-based)', () => {
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    const isPrintable = (text: string) => !/[\u0000-\u001f\u007f-\u009f]/.test(text);
    /** What a request can send: any text, any bytes as Basic, a Bearer with anything after it. */
    const authorization = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 1200 }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`),
      fc.string({ unit: 'binary', maxLength: 300 }).map((text) => `Basic ${Buffer.from(text).toString('base64')}`),
      fc.string({ unit: 'binary', maxLength: 300 }).map((text) => `Bearer ${text}`),
    );

    it('answers credentials or an InvalidRequestError, never anything else', () => {
      fc.assert(
        fc.property(
          authorization,
          fc.option(fc.anything(), { nil: undefined }),
          fc.boolean(),
          (header, queryToken, allowQuery) => {
            let credentials;
            try {
              credentials = readCredentials({ authorization: header, queryToken }, allowQuery && 'access_token');
            } catch (error) {
              expect(error).toBeInstanceOf(InvalidRequestError);
              return;
            }
            if (credentials.type === 'token') expect(credentials.token).toMatch(/^[^\s]+$/);
            if (credentials.type === 'password')
              expect(isPrintable(credentials.username + credentials.password)).toBe(true);
          },
        ),
        { numRuns: 5000 },
      );
    });
  });
});
