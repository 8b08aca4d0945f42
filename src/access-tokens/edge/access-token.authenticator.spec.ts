import { describe, expect, it } from '@jest/globals';
import type { VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { addUserAccessor, attach, verifiedTokenOf } from './access-token.authenticator.js';

const verified = (id: number) => ({ user: { id }, accessToken: {}, scopes: [] }) as unknown as VerifiedAccessToken;

describe('the request user accessor', () => {
  it('keeps a user per request, read and written as request.user', () => {
    const prototype = {};
    addUserAccessor(prototype);
    const [one, other] = [Object.create(prototype) as { user?: unknown }, Object.create(prototype) as { user?: unknown }];
    one.user = { id: 1 };
    expect(one.user).toEqual({ id: 1 });
    expect(other.user).toBeUndefined();
    one.user = null;
    expect(one.user).toBeNull();
  });

  it('gives request.user the user of the token a guard attached, until something sets another', () => {
    const prototype = {};
    addUserAccessor(prototype);
    const request = Object.create(prototype) as { headers: Record<string, string>; user?: unknown };
    request.user = { id: 'set before' };
    const token = verified(1);
    attach(request, token);
    expect(request.user).toEqual({ id: 1 });
    expect(Object.keys(request)).toEqual([]);
    expect(verifiedTokenOf(request)).toBe(token);
    request.user = { id: 2 };
    expect(request.user).toEqual({ id: 2 });
    expect(verifiedTokenOf(request)).toBe(token);
  });

  it('attaches the user as an own property where there is no accessor', () => {
    const request: { headers: Record<string, string>; user?: unknown } = { headers: {} };
    attach(request, verified(3));
    expect(Object.getOwnPropertyDescriptor(request, 'user')?.value).toEqual({ id: 3 });
  });

  it('leaves alone a prototype that has a user of its own', () => {
    const prototype = { user: 'app' };
    addUserAccessor(prototype);
    expect(Object.getOwnPropertyDescriptor(prototype, 'user')).toEqual({ value: 'app', writable: true, enumerable: true, configurable: true });
  });
});
