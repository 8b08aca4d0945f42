import { describe, expect, it } from '@jest/globals';
import { InvalidRequestError } from '../core/access-tokens.errors.js';
import { readCredentials } from './credentials.js';

const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;
const header = (authorization: string) => readCredentials({ authorization }, { allowQueryParameter: false });

describe('readCredentials', () => {
  it('reads a Bearer token, whatever the case of the scheme', () => {
    expect(header('Bearer nat_abc')).toEqual({ type: 'token', token: 'nat_abc', via: 'bearer' });
    expect(header('bearer nat_abc')).toEqual({ type: 'token', token: 'nat_abc', via: 'bearer' });
  });

  it('reads a token sent as the Basic user name with an empty password', () => {
    expect(header(basic('nat_abc:'))).toEqual({ type: 'token', token: 'nat_abc', via: 'basic' });
  });

  it('reads a Basic user name and password', () => {
    expect(header(basic('alice:s3cret:with:colons'))).toEqual({
      type: 'password',
      username: 'alice',
      password: 's3cret:with:colons',
    });
  });

  it('sees no credentials in a missing header or another scheme', () => {
    expect(readCredentials({}, { allowQueryParameter: false })).toEqual({ type: 'none' });
    expect(header('Digest username="x"')).toEqual({ type: 'none' });
  });

  it('refuses malformed headers', () => {
    for (const bad of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer tök', 'Basic', 'Basic !!!', basic(':'), basic('nocolon'), `Bearer ${'a'.repeat(2000)}`]) {
      expect(() => header(bad)).toThrow(InvalidRequestError);
    }
  });

  it('reads the query parameter only when allowed', () => {
    expect(readCredentials({ queryToken: 'nat_abc' }, { allowQueryParameter: false })).toEqual({ type: 'none' });
    expect(readCredentials({ queryToken: 'nat_abc' }, { allowQueryParameter: true })).toEqual({
      type: 'token',
      token: 'nat_abc',
      via: 'query',
    });
  });

  it('refuses a token sent two ways at once, or a repeated query parameter', () => {
    const allow = { allowQueryParameter: true };
    expect(() => readCredentials({ authorization: 'Bearer a', queryToken: 'b' }, allow)).toThrow(/both/);
    expect(() => readCredentials({ queryToken: ['a', 'b'] }, allow)).toThrow(InvalidRequestError);
  });
});
