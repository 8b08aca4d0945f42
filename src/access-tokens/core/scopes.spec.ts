import { describe, expect, it } from '@jest/globals';
import { InvalidScopeError } from './access-tokens.errors.js';
import {
  covers,
  disjoint,
  exercisedScopes,
  intersectScopes,
  isValidScope,
  satisfies,
  uncovered,
  unusedScopes,
  validateScopes,
} from './scopes.js';

describe('scopes', () => {
  it('accepts "*", colon-separated words and a trailing wildcard', () => {
    for (const scope of ['*', 'users', 'users:read', 'billing:invoices:write', 'users:*', 'a.b-c_d:e']) {
      expect(isValidScope(scope)).toBe(true);
    }
    for (const scope of ['', 'users:', ':read', 'users::read', 'us ers', '*:read', 'users:*:read', 'a*', 7]) {
      expect(isValidScope(scope)).toBe(false);
    }
  });

  it('names every invalid scope in the error and removes duplicates', () => {
    expect(() => validateScopes(['ok', 'bad scope', 'users:'])).toThrow(InvalidScopeError);
    expect(() => validateScopes(['ok', 'bad scope'])).toThrow(/"bad scope"/);
    expect(validateScopes(['a', 'b', 'a'])).toEqual(['a', 'b']);
  });

  it('matches "*", exact scopes and prefix wildcards', () => {
    expect(covers('*', 'users:read')).toBe(true);
    expect(covers('*', '*')).toBe(true);
    expect(covers('users:read', 'users:read')).toBe(true);
    expect(covers('users:read', 'users:write')).toBe(false);
    expect(covers('users:*', 'users:read')).toBe(true);
    expect(covers('users:*', 'users:admin:ban')).toBe(true);
    expect(covers('users:*', 'users')).toBe(false);
    expect(covers('users:*', 'usersx:read')).toBe(false);
    expect(covers('users:*', '*')).toBe(false);
    expect(covers('users:read', 'users:*')).toBe(false);
  });

  it('lists what a set of patterns does not cover', () => {
    expect(uncovered(['users:read', 'tokens:*'], ['users:read', 'tokens:write', 'users:admin'])).toEqual([
      'users:admin',
    ]);
  });

  it('lists the wanted scopes that reach none of a set of patterns', () => {
    const permissions = ['acc:read', 'acc:write', 'users:*'];
    expect(disjoint(permissions, ['acc:*', 'acc:read', 'users:read', 'users:*', 'users:admin:ban'])).toEqual([]);
    expect(disjoint(permissions, ['billing:*', 'acc:delete', 'acc'])).toEqual(['billing:*', 'acc:delete', 'acc']);
    expect(disjoint([], ['acc:*'])).toEqual(['acc:*']);
  });

  it('intersects token scopes with user permissions', () => {
    expect(intersectScopes(['*'], ['users:read', 'tokens:read'])).toEqual(['users:read', 'tokens:read']);
    expect(intersectScopes(['users:*'], ['users:read', 'tokens:*'])).toEqual(['users:read']);
    expect(intersectScopes(['users:read', 'tokens:write'], ['*'])).toEqual(['users:read', 'tokens:write']);
    expect(intersectScopes(['users:admin'], ['users:read'])).toEqual([]);
    expect(intersectScopes(['users:*', 'users:read'], ['users:*'])).toEqual(['users:*']);
  });

  it('checks all-of and any-of requirements', () => {
    const granted = ['users:read', 'tokens:*'];
    expect(satisfies(granted, { allOf: ['users:read', 'tokens:write'] })).toBe(true);
    expect(satisfies(granted, { allOf: ['users:read', 'users:write'] })).toBe(false);
    expect(satisfies(granted, { anyOf: ['users:write', 'tokens:read'] })).toBe(true);
    expect(satisfies(granted, { anyOf: ['users:write'] })).toBe(false);
    expect(satisfies(granted, { allOf: [] })).toBe(true);
  });

  it('names the narrowest own scope of a token that granted each required scope', () => {
    expect(exercisedScopes(['users:*'], ['users:*'], { allOf: ['users:read'] })).toEqual(['users:*']);
    expect(exercisedScopes(['*'], ['*'], { allOf: ['users:read', 'tokens:write'] })).toEqual(['*']);
    expect(exercisedScopes(['*', 'users:*', 'users:read'], ['*'], { allOf: ['users:read'] })).toEqual(['users:read']);
    expect(
      exercisedScopes(['users:*', 'tokens:read'], ['users:*', 'tokens:read'], { allOf: ['users:a', 'tokens:read'] }),
    ).toEqual(['users:*', 'tokens:read']);
    // Within the user's permissions: `users:*` granted `users:read` only.
    expect(exercisedScopes(['users:*'], ['users:read'], { anyOf: ['users:write', 'users:read'] })).toEqual(['users:*']);
    // anyOf: only the required scopes that were granted count.
    expect(exercisedScopes(['a', 'b'], ['a', 'b'], { anyOf: ['b', 'c'] })).toEqual(['b']);
    expect(exercisedScopes(['a'], ['a'], { allOf: [] })).toEqual([]);
  });

  it('lists the scopes not exercised since a time, or never', () => {
    const usedAt = { 'users:read': 2_000, 'users:admin': 500 };
    expect(unusedScopes(['users:read', 'users:admin', 'tokens:*'], usedAt, 1_000)).toEqual(['users:admin', 'tokens:*']);
    expect(unusedScopes(['users:read'], usedAt, 2_000)).toEqual([]);
    expect(unusedScopes(['toString'], {}, 0)).toEqual(['toString']);
  });
});
